/**
 * NftSession: one long-lived `nft -i` process for partial syncs, reached only through Nft (nft.ts
 * stays the one door to nft). A fresh `nft -f` pays for `ip netns exec`, for starting nft and for
 * its set-up before the first command; the session pays those once. It does not spare nft's
 * cache reads: nft re-reads the table's chains and sets whenever the ruleset generation moved
 * since its last read, and every commit, its own included, moves it (nftables 1.0.6).
 *
 * Protocol: the transaction's commands go out as ONE line joined by "; " (nft applies each input
 * line as one transaction, atomically or not at all, as `nft -f` a file), then a sentinel line,
 * `describe ip saddr`, which prints a fixed text and touches nothing in the kernel. Standard
 * error is merged into standard output (`2>&1`), so nft's answers come in order on one stream:
 * anything before the sentinel's text is nft refusing the line. When standard input is not a
 * terminal nft prints no prompt; the first sentinel, sent at start, learns the exact text.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import type { Logger } from "@skiff/component-base";
import { inNetns } from "./exec.js";

/** Prints one known line and changes nothing (checked against /^payload expression/ at start). */
const SENTINEL = "describe ip saddr";
const SENTINEL_SHAPE = /^payload expression/;
/** An error echoes the whole line back: keep the start of it. */
const MAX_ERROR_CHARS = 4096;

/** A session transaction nft refused, or a session that died or did not answer in time. */
export class NftSessionError extends Error {
  override readonly name = "NftSessionError";
  constructor(
    message: string,
    /** nft's own output for a refused transaction; empty when the process failed instead. */
    readonly output: string,
  ) {
    super(output === "" ? message : `${message}: ${output.trim()}`);
  }
}

/**
 * The commands of a `nft -f` text as one line, or undefined when joining could change their
 * meaning: a comment ('#' runs to the end of the line) or a quoted string (may hold ';'). The
 * rules text has neither (one command a line; ';' only inside a chain's or a set's braces,
 * where nft's grammar takes it as it takes a newline).
 */
export function oneLine(text: string): string | undefined {
  if (/[#"\r]/.test(text)) return undefined;
  const cmds = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  return cmds.length === 0 ? undefined : cmds.join("; ");
}

export interface NftSessionOptions {
  /** The network namespace (`ip netns exec NS`); unset: the current one. */
  netns?: string;
  logger: Logger;
  nftPath?: string;
  /** How long one transaction may take before the session is killed (default 10 s). */
  timeoutMs?: number;
}

interface Waiter {
  resolve: (output: string) => void;
  reject: (e: Error) => void;
}

/** One running `nft -i` and the state of its output stream. */
class Session {
  readonly child: ChildProcessWithoutNullStreams;
  private buf = "";
  private sentinel: string | undefined;
  private waiter: Waiter | undefined;
  exited = false;
  readonly started: Promise<void>;

  constructor(file: string, args: string[]) {
    this.child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (s: string) => this.onData(s));
    // 2>&1 leaves standard error for `ip netns exec` and `sh` themselves.
    this.child.stderr.setEncoding("utf8");
    this.child.stderr.on("data", (s: string) => {
      this.buf += s;
    });
    this.child.stdin.on("error", () => undefined);
    this.child.on("error", (e) => this.fail(new NftSessionError(`nft session: ${e.message}`, "")));
    this.child.on("close", (code, signal) => {
      this.exited = true;
      const why = `nft session exited (${code ?? signal})`;
      this.fail(new NftSessionError(why, this.buf.slice(0, MAX_ERROR_CHARS)));
    });
    this.started = this.exchange(SENTINEL).then((out) => {
      const line = out.replace(/\n$/, "");
      if (!SENTINEL_SHAPE.test(line) || line.includes("\n"))
        throw new NftSessionError("nft session: unexpected answer to its first command", out);
    });
  }

  /** Writes `line` (then the sentinel once it is known) and resolves with everything up to it. */
  exchange(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.exited) {
        reject(new NftSessionError("nft session exited", ""));
        return;
      }
      this.waiter = { resolve, reject };
      this.child.stdin.write(this.sentinel === undefined ? `${line}\n` : `${line}\n${SENTINEL}\n`);
    });
  }

  private onData(s: string): void {
    this.buf += s;
    const w = this.waiter;
    if (w === undefined) return;
    if (this.sentinel === undefined) {
      // The first answer, to the sentinel alone: its line is the sentinel text from now on.
      const nl = this.buf.indexOf("\n");
      if (nl < 0) return;
      this.sentinel = this.buf.slice(0, nl + 1);
      this.buf = this.buf.slice(nl + 1);
      this.waiter = undefined;
      w.resolve(this.sentinel);
      return;
    }
    if (!this.buf.endsWith(this.sentinel)) return;
    const out = this.buf.slice(0, this.buf.length - this.sentinel.length);
    this.buf = "";
    this.waiter = undefined;
    w.resolve(out);
  }

  fail(e: Error): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }

  /** Ends the process (EOF first, as nft -i exits on it; SIGKILL when it does not). */
  async kill(): Promise<void> {
    if (this.exited) return;
    const closed = new Promise<void>((resolve) => this.child.once("close", () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 1000);
    await closed;
    clearTimeout(timer);
  }
}

export class NftSession {
  private session: Session | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly file: string;
  private readonly args: string[];
  private readonly timeoutMs: number;

  constructor(private readonly opts: NftSessionOptions) {
    const nft = opts.nftPath ?? "nft";
    // exec: the shell gives way to nft, so the process to kill is nft itself (or ip's child).
    [this.file, this.args] = inNetns(opts.netns, "sh", ["-c", `exec ${nft} -i 2>&1`]);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** The running process's id, if one runs (for tests). */
  get pid(): number | undefined {
    const s = this.session;
    return s === undefined || s.exited ? undefined : s.child.pid;
  }

  /**
   * Applies one transaction (the commands of a `nft -f` text); one at a time. On any failure
   * the process is ended: a refused line may leave nft's view of the table suspect, and the
   * next apply starts a fresh one.
   */
  apply(text: string): Promise<void> {
    const line = oneLine(text);
    if (line === undefined) return Promise.reject(new Error("nft session: text cannot be one line"));
    const run = this.tail.then(() => this.applyLine(line));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async applyLine(line: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const session = this.session?.exited === false ? this.session : this.start();
    try {
      const out = await new Promise<string>((resolve, reject) => {
        timer = setTimeout(
          () => reject(new NftSessionError(`nft session: no answer in ${this.timeoutMs} ms`, "")),
          this.timeoutMs,
        );
        session.started.then(() => session.exchange(line).then(resolve), reject).catch(reject);
      });
      if (out.trim() !== "")
        throw new NftSessionError("nft refused the transaction", out.slice(0, MAX_ERROR_CHARS));
    } catch (e) {
      this.opts.logger.debug({ netns: this.opts.netns, err: String(e) }, "nft session failed");
      if (this.session === session) this.session = undefined;
      await session.kill();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private start(): Session {
    const s = new Session(this.file, this.args);
    s.started.catch(() => undefined);
    this.session = s;
    return s;
  }

  /** Ends the process, after the transaction in progress; a later apply starts a new one. */
  async close(): Promise<void> {
    await this.tail;
    const s = this.session;
    this.session = undefined;
    await s?.kill();
  }
}
