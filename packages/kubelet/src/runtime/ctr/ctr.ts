/**
 * Every `ctr` invocation of the ctr runtime goes through here: the binary run with execFile
 * (an argument array, never a shell string), a timeout, and failures turned into errors that
 * carry ctr's stderr. containerd's errdefs reach the CLI only as text ("...: not found",
 * "...: already exists"), so they are recognised here once and become typed errors.
 */
import { execFile } from "node:child_process";

export interface CtrTarget {
  /** containerd's grpc socket. */
  address: string;
  /** containerd namespace (the node's `skiff-<node>`). */
  namespace: string;
  /** Default per call; ctr hangs when containerd stops answering. */
  timeoutMs?: number;
}

export class CtrError extends Error {
  constructor(
    message: string,
    readonly args: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(message);
    this.name = "CtrError";
  }
}

/** containerd's errdefs.ErrNotFound as ctr prints it. */
export class NotFoundError extends CtrError {
  override name = "NotFoundError";
}

/** containerd's errdefs.ErrAlreadyExists as ctr prints it. */
export class AlreadyExistsError extends CtrError {
  override name = "AlreadyExistsError";
}

export function isNotFound(e: unknown): e is NotFoundError {
  return e instanceof NotFoundError;
}

export interface CtrResult {
  stdout: string;
  stderr: string;
}

export interface CtrCallOptions {
  timeoutMs?: number;
  /** Resolve with stderr instead of failing on a non-zero exit (tasks delete reports there). */
  allowFailure?: boolean;
}

/** The global flags every call starts with. */
export function ctrBaseArgs(target: CtrTarget): string[] {
  return ["--address", target.address, "--namespace", target.namespace];
}

/** The last "ctr: ..." line: ctr prints its error there after any log lines. */
function ctrMessage(stderr: string): string {
  const lines = stderr.trim().split("\n");
  const last = lines.findLast((l) => l.startsWith("ctr: ")) ?? lines.at(-1) ?? "";
  return last.replace(/^ctr: /, "");
}

export function runCtr(
  target: CtrTarget,
  args: readonly string[],
  opts: CtrCallOptions = {},
): Promise<CtrResult> {
  const full = [...ctrBaseArgs(target), ...args];
  const timeout = opts.timeoutMs ?? target.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    execFile(
      "ctr",
      full,
      { timeout, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
      (err, stdout, stderr) => {
        if (!err) {
          resolve({ stdout, stderr });
          return;
        }
        const e = err as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
        const exitCode = typeof e.code === "number" ? e.code : null;
        if (opts.allowFailure && exitCode !== null) {
          resolve({ stdout, stderr });
          return;
        }
        const what = `ctr ${args.slice(0, 2).join(" ")}`;
        if (e.killed) {
          reject(new CtrError(`${what}: timed out after ${timeout} ms`, full, stderr, exitCode));
          return;
        }
        const msg = ctrMessage(stderr) || e.message;
        const text = `${what}: ${msg}`;
        // errdefs' texts end the wrapped message; a runc "executable file not found in $PATH"
        // ends with ": unknown" instead, so only the suffix counts.
        if (/: not found$/.test(msg)) reject(new NotFoundError(text, full, stderr, exitCode));
        else if (/: already exists$/.test(msg)) reject(new AlreadyExistsError(text, full, stderr, exitCode));
        else reject(new CtrError(text, full, stderr, exitCode));
      },
    );
  });
}
