/**
 * Starts 3-member clusters of `skiff store` or of real etcd with the same etcd flags (fsync on,
 * data directories on the same disk, loopback), for the store benchmark. Ready = every member
 * answers Maintenance.Status over gRPC with a leader. stop() kills every process it started and
 * removes the data directories.
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "@skiff/testkit";
import { closeChannel, type EtcdChannel, openChannel, unary } from "./store-grpc.js";

export type StoreSystem = "skiff-store" | "etcd";
export const storeSystems: readonly StoreSystem[] = ["skiff-store", "etcd"];

export const etcdBinary = "/usr/bin/etcd";
/** The `skiff` command: members start as a user starts them (its first line gives node's flags). */
export const skiffBin = fileURLToPath(import.meta.resolve("@skiff/cli/bin"));

/** Why the `skiff` command cannot run (it runs the build; it says when there is none), or undefined. */
export function skiffMissing(): string | undefined {
  const r = spawnSync(process.execPath, [skiffBin, "version"], { encoding: "utf8", timeout: 30_000 });
  return r.status === 0 ? undefined : `skiff does not run (npx tsc -b): ${r.stderr.trim()}`;
}

export interface StoreCluster {
  readonly system: StoreSystem;
  /** host:port of each member's client URL, for gRPC targets. */
  readonly targets: string[];
  readonly pids: number[];
  stop(): Promise<void>;
}

/** Why `system` cannot run here, or undefined when it can. */
export function missing(system: StoreSystem): string | undefined {
  if (system === "etcd" && !existsSync(etcdBinary))
    return `${etcdBinary} is missing (apt-get install etcd-server)`;
  if (system === "skiff-store") return skiffMissing();
  return undefined;
}

/**
 * Starts a fresh 3-member cluster. `profileDir` (skiff only) runs each member with
 * `--cpu-prof --cpu-prof-dir DIR`: a .cpuprofile per member, written when it stops.
 */
export async function startStoreCluster(system: StoreSystem, profileDir?: string): Promise<StoreCluster> {
  const why = missing(system);
  if (why !== undefined) throw new Error(`bench: ${why}`);
  const dir = mkdtempSync(join(tmpdir(), `skiff-bench-store-${system}-`));
  const names = ["m1", "m2", "m3"];
  const peers = await Promise.all(names.map(async () => `http://127.0.0.1:${await freePort()}`));
  const clients = await Promise.all(names.map(async () => `http://127.0.0.1:${await freePort()}`));
  const initialCluster = names.map((n, i) => `${n}=${peers[i]}`).join(",");
  const children: ChildProcess[] = [];
  const stderr: string[] = names.map(() => "");
  for (let i = 0; i < names.length; i++) {
    const flags = [
      ["--name", names[i]],
      ["--data-dir", join(dir, names[i] as string)],
      ["--listen-peer-urls", peers[i]],
      ["--initial-advertise-peer-urls", peers[i]],
      ["--listen-client-urls", clients[i]],
      ["--advertise-client-urls", clients[i]],
      ["--initial-cluster", initialCluster],
      ["--initial-cluster-token", `bench-store-${system}`],
      ["--initial-cluster-state", "new"],
      ["--heartbeat-interval", "100"],
      ["--election-timeout", "1000"],
      ["--log-level", system === "etcd" ? "error" : "warn"],
    ].flat() as string[];
    const child =
      system === "etcd"
        ? spawn(etcdBinary, flags, { stdio: ["ignore", "ignore", "pipe"] })
        : spawn(skiffBin, ["store", ...flags], {
            stdio: ["ignore", "ignore", "pipe"],
            // The same node as this process; a profile through NODE_OPTIONS (the command line is
            // the one skiff's first line gives).
            env: {
              ...process.env,
              PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
              ...(profileDir === undefined
                ? {}
                : {
                    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --cpu-prof --cpu-prof-dir ${profileDir}`,
                  }),
            },
          });
    // Keep the tail of stderr for the error message if a member dies during start-up.
    child.stderr?.on("data", (d: Buffer) => {
      stderr[i] = `${stderr[i]}${d.toString()}`.slice(-2000);
    });
    children.push(child);
  }
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            // A profiled member writes its profile on a normal exit: SIGTERM, then SIGKILL.
            if (profileDir !== undefined) {
              c.kill("SIGTERM");
              setTimeout(() => c.kill("SIGKILL"), 10_000).unref();
            } else c.kill("SIGKILL");
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  const targets = clients.map((u) => new URL(u).host);
  try {
    await waitReady(system, targets, children, stderr);
  } catch (e) {
    await stop();
    throw e;
  }
  return { system, targets, pids: children.map((c) => c.pid as number), stop };
}

async function waitReady(
  system: StoreSystem,
  targets: string[],
  children: ChildProcess[],
  stderr: string[],
): Promise<void> {
  const deadline = Date.now() + 30_000;
  const channels: EtcdChannel[] = await Promise.all(targets.map(openChannel));
  try {
    for (let i = 0; i < targets.length; i++) {
      for (;;) {
        const child = children[i] as ChildProcess;
        if (child.exitCode !== null)
          throw new Error(`bench: ${system} member m${i + 1} exited (${child.exitCode}): ${stderr[i]}`);
        const status = await unary<{ leader: string }>(
          (channels[i] as EtcdChannel).Maintenance,
          "Status",
          {},
          1000,
        ).catch(() => undefined);
        if (status !== undefined && status.leader !== "0") break;
        if (Date.now() > deadline) throw new Error(`bench: ${system} member m${i + 1} has no leader in 30 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    for (const c of channels) closeChannel(c);
  }
}

/** CPU seconds (user+system) of a process, from /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Peak resident set size (VmHWM) of a process in MiB. */
export function peakRssMiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? Number.NaN : Number(m[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}
