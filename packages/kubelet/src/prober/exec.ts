/**
 * The exec probe (pkg/probe/exec): the command runs in the container through the runtime's
 * execSync; exit 0 is a success, another code a failure whose output is what the command
 * printed (at most 10 KiB, as kube's LimitWriter), a timeout a failure worded as the CRI client
 * words it (`command "..." timed out`).
 */
import type { ExecSync, ProbeReply } from "./types.js";
import { goQuote } from "./types.js";

/** pkg/probe/exec maxReadLength. */
export const MAX_EXEC_OUTPUT = 10 * 1024;

export async function doExecProbe(
  execSync: ExecSync,
  containerID: string,
  cmd: readonly string[],
  timeoutMs: number,
): Promise<ProbeReply> {
  const r = await execSync(containerID, cmd, timeoutMs);
  if (r.timedOut) return { result: "failure", output: `command ${goQuote(cmd.join(" "))} timed out` };
  const output = combinedOutput(r.stdout, r.stderr);
  return { result: r.exitCode === 0 ? "success" : "failure", output };
}

export function combinedOutput(stdout: Buffer | string, stderr: Buffer | string): string {
  const all = Buffer.concat([Buffer.from(stdout), Buffer.from(stderr)]);
  return all.subarray(0, MAX_EXEC_OUTPUT).toString("utf8");
}
