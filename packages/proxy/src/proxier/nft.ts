/**
 * The one module that runs `nft` (issue 21: only one module runs nft), as knftables' exec
 * implementation is for kube-proxy: a ruleset text is handed to `nft -f -` on standard input, so
 * a whole transaction is applied atomically or not at all; inside the node's network namespace
 * (`ip netns exec NS nft ...`) when one is given, else in the agent's own. Partial syncs go
 * through a long-lived `nft -i` (NftSession, nft-session.ts, reached only from here), which
 * skips nft's start-up; full syncs and everything else run `nft` once per call.
 */
import type { Logger } from "@skiff/component-base";
import { execCommand, inNetns } from "./exec.js";
import { NftSession, oneLine } from "./nft-session.js";

/**
 * Texts longer than this go to `nft -f` even when partial: nft -i reads its input through
 * libedit one byte per read(2), so a long line costs more than starting a fresh nft.
 */
export const SESSION_MAX_BYTES = 16 * 1024;

/** A failed nft run; `stderr` is nft's own explanation (the line and column it refused). */
export class NftError extends Error {
  override readonly name = "NftError";
  constructor(
    readonly operation: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`nft ${operation} failed (exit ${exitCode ?? "signal"}): ${stderr.trim()}`);
  }
}

/** What the Proxier needs of nft (a fake records the texts in tests). */
export interface NftInterface {
  /** Applies a ruleset text atomically (nft -f -). */
  load(text: string): Promise<void>;
  /**
   * Applies a partial sync's text, atomically as load; without it the Proxier calls load. A
   * failure leaves the table as it was or as the text makes it (the caller's next sync is full).
   */
  loadPartial?(text: string): Promise<void>;
  /** Ends what the implementation keeps running between calls (the nft session). */
  close?(): Promise<void>;
  /** Deletes a table; no error when it does not exist. */
  deleteTable(family: string, name: string): Promise<void>;
}

export interface NftOptions {
  /** The network namespace to run in (`ip netns exec`); unset: the current one. */
  netns?: string;
  logger: Logger;
  /** The nft binary (default "nft", found on PATH). */
  nftPath?: string;
}

export class Nft implements NftInterface {
  private readonly nft: string;
  private readonly session: NftSession;

  constructor(private readonly opts: NftOptions) {
    this.nft = opts.nftPath ?? "nft";
    this.session = new NftSession({
      logger: opts.logger,
      ...(opts.netns === undefined ? {} : { netns: opts.netns }),
      ...(opts.nftPath === undefined ? {} : { nftPath: opts.nftPath }),
    });
  }

  private async run(operation: string, args: readonly string[], input?: string): Promise<string> {
    const [file, argv] = inNetns(this.opts.netns, this.nft, args);
    const r = await execCommand(file, argv, input);
    if (r.code !== 0) {
      const e = new NftError(operation, r.code, r.stderr);
      this.opts.logger.debug({ operation, netns: this.opts.netns, err: e.message }, "nft failed");
      throw e;
    }
    return r.stdout;
  }

  load(text: string): Promise<void> {
    return this.run("-f -", ["-f", "-"], text).then(() => undefined);
  }

  /**
   * A partial sync: through the nft session when the text is short and can be one line (see
   * oneLine), else as load. A session failure is not retried here: a transaction may have been
   * applied before the session died, and a partial text is not idempotent (`add rule` appends).
   */
  loadPartial(text: string): Promise<void> {
    if (Buffer.byteLength(text) > SESSION_MAX_BYTES || oneLine(text) === undefined) return this.load(text);
    return this.session.apply(text);
  }

  /** Ends the nft session, if one runs; a later loadPartial starts a new one. */
  close(): Promise<void> {
    return this.session.close();
  }

  /** The nft session's process id while one runs (tests). */
  get sessionPid(): number | undefined {
    return this.session.pid;
  }

  /** Parses and checks a ruleset text against the kernel without applying it (nft -c -f -). */
  check(text: string): Promise<void> {
    return this.run("-c -f -", ["-c", "-f", "-"], text).then(() => undefined);
  }

  /**
   * Deletes a table, idempotently: declaring the table first makes the delete succeed whether or
   * not it existed (the "add then delete" knftables and kube-proxy's cleanup use).
   */
  deleteTable(family: string, name: string): Promise<void> {
    return this.load(`table ${family} ${name}\ndelete table ${family} ${name}\n`);
  }

  /** `nft list table FAMILY NAME` (family "ip" unless given). */
  listTable(name: string, family = "ip"): Promise<string> {
    return this.run(`list table ${family} ${name}`, ["list", "table", family, name]);
  }
}
