/**
 * Running a node command (nft, conntrack) with optional standard input, inside a network
 * namespace when one is named (`ip netns exec NS ...`, as the node's rules live in the node's
 * namespace), as k8s.io/utils/exec does for kube-proxy. Only nft.ts (and its
 * nft-session.ts) and conntrack.ts use it.
 */
import { spawn } from "node:child_process";

export interface ExecResult {
  /** The exit status; null when a signal ended the process. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The command line that runs `file args` in `netns` (or as is without one). */
export function inNetns(
  netns: string | undefined,
  file: string,
  args: readonly string[],
): [string, string[]] {
  return netns === undefined ? [file, [...args]] : ["ip", ["netns", "exec", netns, file, ...args]];
}

/** Runs a command to its end; a command that cannot start rejects (ENOENT and the like). */
export function execCommand(file: string, args: readonly string[], input?: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    // A child that exits before reading all of its input must not crash us with EPIPE.
    child.stdin.on("error", () => undefined);
    child.stdin.end(input ?? "");
  });
}
