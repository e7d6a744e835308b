/**
 * The one module that runs `nft` (issue 21: only one module runs nft), as knftables' exec
 * implementation is for kube-proxy: a ruleset text is handed to `nft -f -` on standard input, so
 * a whole transaction is applied atomically or not at all; inside the node's network namespace
 * (`ip netns exec NS nft ...`) when one is given, else in the agent's own.
 */
import type { Logger } from "@skiff/component-base";
import { execCommand, inNetns } from "./exec.js";

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

  constructor(private readonly opts: NftOptions) {
    this.nft = opts.nftPath ?? "nft";
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
