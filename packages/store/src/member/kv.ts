import type { Entry } from "@skiff/raft";
import type { StateMachine } from "../raftnode/statemachine.js";

/** A command of the test key-value machine. */
export type KvCommand = { op: "put"; key: string; value: string } | { op: "del"; key: string };

export interface KvResult {
  /** The log index that applied the command (a revision, for tests). */
  index: number;
  prev: string | undefined;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeKv(cmd: KvCommand): Uint8Array {
  return enc.encode(JSON.stringify(cmd));
}

/**
 * The smallest useful replicated state machine: a string map. It stands in for the MVCC store
 * (next layer up) in the durable node's tests and benchmark.
 */
export class KvStateMachine implements StateMachine {
  readonly data = new Map<string, string>();

  apply(entry: Entry): KvResult {
    const cmd = JSON.parse(dec.decode(entry.data)) as KvCommand;
    const prev = this.data.get(cmd.key);
    if (cmd.op === "put") this.data.set(cmd.key, cmd.value);
    else this.data.delete(cmd.key);
    return { index: entry.index, prev };
  }

  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify([...this.data]));
  }

  restore(data: Uint8Array): void {
    this.data.clear();
    if (data.length === 0) return;
    for (const [k, v] of JSON.parse(dec.decode(data)) as [string, string][]) this.data.set(k, v);
  }
}
