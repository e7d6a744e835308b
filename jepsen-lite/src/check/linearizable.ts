/**
 * Linearizability checker for key-value registers (read / write / cas), after Wing & Gong and
 * Lowe ("Testing for linearizability", 2017), the algorithm behind Knossos' `wgl` and Porcupine.
 *
 * Registers are independent objects, and linearizability is local (Herlihy & Wing, theorem 1),
 * so each key's sub-history is checked on its own, which keeps the exponential search small.
 *
 * Rules for uncertain operations (Jepsen's convention):
 * - `fail` ops definitely did not happen: dropped.
 * - `info` ops (and ops never completed) are pending forever: they have a call entry but no return
 *   entry, so the search may linearize them at any point after their invocation, or never.
 * - reads that did not complete `ok` carry no information and are dropped.
 */
import { DEFAULT_KEY, type Op, type OpPair, pairOps, sameValue } from "./history.js";

/** The register's value; `null` means "never written". */
export type RegisterState = unknown;

export interface LinearizableResult {
  /** `"unknown"` when the search exceeded `maxSteps` on some key (like Knossos' :unknown). */
  valid: boolean | "unknown";
  key?: string;
  /** The completion (or invocation) of the first operation that cannot be linearized. */
  failedOp?: Op;
  /** That key's events from the last consistent linearization point up to `failedOp`. */
  smallestBadPrefix?: Op[];
  /** The model state at the deepest point the search reached. */
  lastState?: RegisterState;
}

export interface LinearizableOptions {
  /** Search steps allowed per key before giving up with `valid: "unknown"`. */
  maxSteps?: number;
  initialState?: RegisterState;
  /** The model: `stepRegister` (default) or `stepTxn` for multi-key transactions. */
  step?: (state: RegisterState, pair: OpPair) => { ok: boolean; state: RegisterState };
}

interface Entry {
  kind: "call" | "return";
  id: number;
  prev: Entry | undefined;
  next: Entry | undefined;
  /** A call's return entry; absent for info ops (pending forever). */
  match: Entry | undefined;
}

/** Applies one op to the register: `ok` is false when the op's observed result contradicts the state. */
export function stepRegister(state: RegisterState, pair: OpPair): { ok: boolean; state: RegisterState } {
  switch (pair.f) {
    case "read":
      return { ok: sameValue(state, pair.complete?.value), state };
    case "write":
      return { ok: true, state: pair.invoke.value ?? null };
    case "cas": {
      const [expected, next] = pair.invoke.value as [unknown, unknown];
      // An ok (or possibly-applied info) cas succeeded, so the register held `expected`.
      return sameValue(state, expected) ? { ok: true, state: next ?? null } : { ok: false, state };
    }
    default:
      throw new Error(`register model has no operation ${pair.f}`);
  }
}

/** A txn micro-op: read a key (the ok completion carries the value read) or write a value. */
export type TxnMicroOp = ["r", string, unknown] | ["w", string, unknown];

/**
 * The multi-register model for atomic multi-key transactions (`f: "txn"`, value = micro-ops in
 * order). The state is a plain object key -> value (absent = never written); reads of an `ok`
 * txn must equal the state as modified by the txn's earlier writes; writes are applied in order.
 * An `info` txn's reads are unknown, so only its writes count.
 */
export function stepTxn(state: RegisterState, pair: OpPair): { ok: boolean; state: RegisterState } {
  if (pair.f !== "txn") throw new Error(`txn model has no operation ${pair.f}`);
  const micro = ((pair.outcome === "ok" ? pair.complete?.value : pair.invoke.value) ?? []) as TxnMicroOp[];
  const next: Record<string, unknown> = { ...(state as Record<string, unknown> | null) };
  for (const [kind, key, value] of micro) {
    if (kind === "w") next[key] = value;
    else if (pair.outcome === "ok" && !sameValue(next[key] ?? null, value)) return { ok: false, state };
  }
  // Sorted keys, so equal states have equal memo keys.
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(next).sort()) sorted[k] = next[k];
  return { ok: true, state: sorted };
}

/** Ops that constrain the search: fail ops and non-ok reads never affect the state. */
function relevant(pair: OpPair): boolean {
  if (pair.outcome === "fail") return false;
  if (pair.f === "read" && pair.outcome !== "ok") return false;
  return true;
}

export function checkLinearizable(
  history: readonly Op[],
  options: LinearizableOptions = {},
): LinearizableResult {
  const byKey = new Map<string, OpPair[]>();
  for (const pair of pairOps(history)) {
    const key = pair.key ?? DEFAULT_KEY;
    const list = byKey.get(key) ?? [];
    list.push(pair);
    byKey.set(key, list);
  }
  let unknown = false;
  for (const [key, pairs] of byKey) {
    const result = checkKey(key, pairs, history, options);
    if (result.valid === false) return result;
    if (result.valid === "unknown") unknown = true;
  }
  return { valid: unknown ? "unknown" : true };
}

/** Builds Lowe's doubly linked list of call/return entries in history order, behind a sentinel head. */
function buildEntries(ops: readonly OpPair[]): Entry {
  const events: { index: number; entry: Entry }[] = [];
  ops.forEach((pair, id) => {
    const call: Entry = { kind: "call", id, prev: undefined, next: undefined, match: undefined };
    events.push({ index: pair.invoke.index, entry: call });
    if (pair.outcome === "ok" && pair.complete !== undefined) {
      const ret: Entry = { kind: "return", id, prev: undefined, next: undefined, match: undefined };
      call.match = ret;
      events.push({ index: pair.complete.index, entry: ret });
    }
  });
  events.sort((a, b) => a.index - b.index);
  const head: Entry = { kind: "call", id: -1, prev: undefined, next: undefined, match: undefined };
  let last = head;
  for (const { entry } of events) {
    last.next = entry;
    entry.prev = last;
    last = entry;
  }
  return head;
}

function unlink(e: Entry): void {
  if (e.prev) e.prev.next = e.next;
  if (e.next) e.next.prev = e.prev;
}

/** Dancing-links restore: the entry kept its neighbours, so it can be put back in O(1). */
function relink(e: Entry): void {
  if (e.prev) e.prev.next = e;
  if (e.next) e.next.prev = e;
}

function lift(call: Entry): void {
  unlink(call);
  if (call.match) unlink(call.match);
}

/** Undoes `lift` in reverse order so the pointers are restored exactly. */
function unlift(call: Entry): void {
  if (call.match) relink(call.match);
  relink(call);
}

function checkKey(
  key: string,
  allPairs: readonly OpPair[],
  history: readonly Op[],
  options: LinearizableOptions,
): LinearizableResult {
  const ops = allPairs.filter(relevant);
  const head = buildEntries(ops);
  const required = ops.filter((p) => p.outcome === "ok").length;
  const maxSteps = options.maxSteps ?? 1_000_000;
  const step = options.step ?? stepRegister;
  // Memo of (linearized set, state) configurations already explored: Lowe's key optimisation,
  // since two search paths reaching the same set and state have the same future.
  const seen = new Set<string>();
  const stack: { entry: Entry; state: RegisterState }[] = [];
  let state: RegisterState = options.initialState ?? null;
  let linearized = 0n;
  let done = 0;
  let entry = head.next;
  let best: { depth: number; failedId: number; lastId: number; state: RegisterState } | undefined;
  for (let steps = 0; done < required; steps++) {
    if (steps > maxSteps) return { valid: "unknown", key };
    if (entry !== undefined && entry.kind === "call") {
      const pair = ops[entry.id] as OpPair;
      const next = step(state, pair);
      const bits = linearized | (1n << BigInt(entry.id));
      const memo = `${bits.toString(36)}|${JSON.stringify(next.state)}`;
      if (next.ok && !seen.has(memo)) {
        seen.add(memo);
        stack.push({ entry, state });
        state = next.state;
        linearized = bits;
        if (pair.outcome === "ok") done++;
        lift(entry);
        entry = head.next;
      } else {
        entry = entry.next;
      }
      continue;
    }
    // A return entry (or the end of the list): that op had to be linearized already. Backtrack.
    if (entry !== undefined && (best === undefined || stack.length > best.depth)) {
      best = { depth: stack.length, failedId: entry.id, lastId: stack.at(-1)?.entry.id ?? -1, state };
    }
    const top = stack.pop();
    if (top === undefined) return invalid(key, ops, allPairs, history, best);
    const pair = ops[top.entry.id] as OpPair;
    state = top.state;
    linearized &= ~(1n << BigInt(top.entry.id));
    if (pair.outcome === "ok") done--;
    unlift(top.entry);
    entry = top.entry.next;
  }
  return { valid: true };
}

function invalid(
  key: string,
  ops: readonly OpPair[],
  allPairs: readonly OpPair[],
  history: readonly Op[],
  best: { failedId: number; lastId: number; state: RegisterState } | undefined,
): LinearizableResult {
  if (best === undefined) return { valid: false, key };
  const failed = ops[best.failedId] as OpPair;
  const failedOp = failed.complete ?? failed.invoke;
  const last = ops[best.lastId];
  const start = last?.invoke.index ?? Math.min(...allPairs.map((p) => p.invoke.index));
  const keyOf = (op: Op) => op.key ?? DEFAULT_KEY;
  const smallestBadPrefix = history.filter(
    (op) => keyOf(op) === key && op.index >= start && op.index <= failedOp.index,
  );
  smallestBadPrefix.sort((a, b) => a.index - b.index);
  return { valid: false, key, failedOp, smallestBadPrefix, lastState: best.state };
}
