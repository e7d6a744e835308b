/**
 * Running the system tools the pod network uses (ip, the CNI plugins) with execFile, never a
 * shell, with stdin when a CNI plugin needs its configuration there.
 */
import { spawn } from "node:child_process";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs `file args...`, resolving with its exit code and output (never rejecting on exit code). */
export function runCommand(file: string, args: string[], opts: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({
        code: code ?? (signal === null ? 1 : 128),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    // A plugin that exits before reading its stdin must not crash the agent with EPIPE.
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
  });
}

/** Runs a command and throws, naming it and its stderr, when it exits non-zero. */
export async function mustRun(file: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await runCommand(file, args, opts);
  if (r.code !== 0)
    throw new Error(`${file} ${args.join(" ")}: exit ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}
