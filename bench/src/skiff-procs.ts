/**
 * Skiff's commands as child processes of a benchmark (from the build): started, waited for until
 * their JSON ready line, stopped with SIGTERM (SIGKILL after 10 s).
 */
import { spawn } from "node:child_process";
import { skiffBin } from "./store-procs.js";

export interface SkiffProcess {
  pid: number;
  /** The ready line's fields. */
  ready: Record<string, unknown>;
  stop(): Promise<void>;
  /** Resolves when the process exits by itself (or is killed). */
  exited: Promise<number | null>;
}

/** Starts `skiff <command> <args>` and waits for its ready line. */
export async function startSkiff(
  command: string,
  args: readonly string[],
  log: (line: string) => void,
): Promise<SkiffProcess> {
  // SKIFF_BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=prof") goes to every child's node.
  const nodeArgs = (process.env.SKIFF_BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
  const child = spawn(process.execPath, [...nodeArgs, skiffBin, command, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr.on("data", (d: Buffer) => {
    err = `${err}${d.toString()}`.slice(-2000);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let out = "";
    const onData = (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.includes('"event":"ready"'));
      if (line !== undefined) {
        child.stdout.off("data", onData);
        // Keep draining stdout so the child never blocks on a full pipe.
        child.stdout.resume();
        log(line.trim());
        resolve(JSON.parse(line) as Record<string, unknown>);
      }
    };
    child.stdout.on("data", onData);
    void exited.then((code) => reject(new Error(`skiff ${command} exited (${code}): ${err}`)));
  });
  return {
    pid: child.pid as number,
    ready,
    exited,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
      }),
  };
}
