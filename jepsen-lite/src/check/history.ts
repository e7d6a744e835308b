/**
 * The Jepsen history model shared by every checker.
 *
 * A history is the ordered log of what clients observed: each operation appears once as an
 * `invoke` and (usually) once more as its completion by the same process. The completion type
 * carries the client's knowledge about the effect:
 * - `ok`: definitely applied, `value` is the result;
 * - `fail`: definitely not applied (checkers drop it);
 * - `info`: unknown (timeout, dropped connection) — it may take effect at any time after its
 *   invocation, or never. An invoke with no completion at all is treated the same way.
 */
export type OpType = "invoke" | "ok" | "fail" | "info";

export interface Op {
  /** Worker id; a process runs one operation at a time. */
  process: number;
  type: OpType;
  f: string;
  key?: string;
  value: unknown;
  /** Monotonic time of the observation (informational: ordering uses `index`). */
  time: number;
  /** Position in the history; real-time order is the order of indexes. */
  index: number;
}

/** One operation from invocation to completion. */
export interface OpPair {
  process: number;
  f: string;
  key: string | undefined;
  invoke: Op;
  /** Undefined when the history ends before the operation completes (same as `info`). */
  complete: Op | undefined;
  /** `info` also covers "never completed". */
  outcome: "ok" | "fail" | "info";
}

/** The key used for operations that do not name one (a single-register history). */
export const DEFAULT_KEY = "";

/**
 * Matches each invoke with the next completion of the same process, in index order.
 * Throws on malformed histories (a completion without an invoke, two concurrent invokes on one
 * process) because a checker verdict on a malformed history would be meaningless.
 */
export function pairOps(history: readonly Op[]): OpPair[] {
  const ops = [...history].sort((a, b) => a.index - b.index);
  const pending = new Map<number, OpPair>();
  const pairs: OpPair[] = [];
  for (const op of ops) {
    if (op.type === "invoke") {
      if (pending.has(op.process)) {
        throw new Error(`process ${op.process} invoked op ${op.index} while another op is pending`);
      }
      const pair: OpPair = {
        process: op.process,
        f: op.f,
        key: op.key,
        invoke: op,
        complete: undefined,
        outcome: "info",
      };
      pending.set(op.process, pair);
      pairs.push(pair);
      continue;
    }
    const pair = pending.get(op.process);
    if (pair === undefined) throw new Error(`completion ${op.index} of process ${op.process} has no invoke`);
    if (pair.f !== op.f) throw new Error(`completion ${op.index} is ${op.f} but invoke was ${pair.f}`);
    pair.complete = op;
    pair.outcome = op.type;
    pending.delete(op.process);
  }
  return pairs;
}

/** Structural equality for JSON-like values (values in histories are plain data). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if ((a ?? null) === null || (b ?? null) === null) return (a ?? null) === (b ?? null);
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Builds a history from a compact list of events, assigning indexes and times in order. */
export function history(events: ReadonlyArray<Omit<Op, "index" | "time"> & { time?: number }>): Op[] {
  return events.map((e, i) => ({ ...e, time: e.time ?? i, index: i }));
}
