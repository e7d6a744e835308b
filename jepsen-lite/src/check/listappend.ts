/**
 * Minimal Elle-style list-append checker (Kingsbury & Alvaro, "Elle: inferring isolation
 * anomalies from experimental observations", VLDB 2020).
 *
 * A txn op has `f: "txn"` and a value of micro-ops: `["append", k, v]` or `["r", k, list]`
 * (the invoke carries `null` for reads; the ok completion carries the lists read). Appended values
 * must be unique per key: that is what makes a read's list reveal exactly which writes it saw.
 *
 * Detected anomalies:
 * - `duplicate-elements`: a read list contains a value twice.
 * - `garbage-read`: a read contains a value no txn ever tried to append to that key.
 * - `G1a` (aborted read): a read contains a value only appended by a failed txn.
 * - `incompatible-order`: a read is not a prefix of the longest read of that key, so no single
 *   version order explains all reads.
 * - `G0` / `G1c` / `G2` cycles in the dependency graph of committed txns (ww, wr, rw edges, Adya):
 *   G0 = ww only, G1c = ww + wr, G2 = at least one rw anti-dependency.
 * Not detected (documented limits): G1b intermediate reads, internal (intra-txn) inconsistency,
 * real-time / process orders (strict serializability), and cycles hidden by unobserved appends.
 */
import { type Op, type OpPair, pairOps } from "./history.js";

export type MicroOp = ["append", string, unknown] | ["r", string, unknown[] | null];

export type DepKind = "ww" | "wr" | "rw";

export interface Anomaly {
  type: "duplicate-elements" | "garbage-read" | "G1a" | "incompatible-order" | "G0" | "G1c" | "G2";
  key?: string;
  value?: unknown;
  /** The ops involved: the reading txn's completion, or the cycle's txns in order. */
  ops: Op[];
  /** For cycles: the edge kinds, `edges[i]` going from `ops[i]` to `ops[i + 1]` (wrapping). */
  edges?: DepKind[];
}

export interface ListAppendResult {
  valid: boolean;
  anomalies: Anomaly[];
}

interface Txn {
  pair: OpPair;
  /** The completed micro-ops (with read results) for ok txns, the invoked ones otherwise. */
  mops: MicroOp[];
}

const id = (v: unknown) => JSON.stringify(v);

export function checkListAppend(history: readonly Op[]): ListAppendResult {
  const txns: Txn[] = pairOps(history)
    .filter((p) => p.f === "txn")
    .map((pair) => ({
      pair,
      mops: ((pair.outcome === "ok" ? pair.complete?.value : pair.invoke.value) ?? []) as MicroOp[],
    }));
  const anomalies: Anomaly[] = [];
  // Who appended each (key, value): the basis of wr/ww edges and of garbage / aborted reads.
  const writer = new Map<string, Txn>();
  for (const txn of txns) {
    for (const m of txn.mops) if (m[0] === "append") writer.set(`${m[1]}\u0000${id(m[2])}`, txn);
  }
  const writerOf = (k: string, v: unknown) => writer.get(`${k}\u0000${id(v)}`);
  const reads = txns
    .filter((t) => t.pair.outcome === "ok")
    .flatMap((txn) =>
      txn.mops.filter((m) => m[0] === "r").map((m) => ({ txn, key: m[1], list: (m[2] ?? []) as unknown[] })),
    );
  const orders = new Map<string, unknown[]>();
  for (const r of reads) {
    const op = r.txn.pair.complete as Op;
    const seen = new Set<string>();
    for (const v of r.list) {
      if (seen.has(id(v))) anomalies.push({ type: "duplicate-elements", key: r.key, value: v, ops: [op] });
      seen.add(id(v));
      const w = writerOf(r.key, v);
      if (w === undefined) anomalies.push({ type: "garbage-read", key: r.key, value: v, ops: [op] });
      else if (w.pair.outcome === "fail") anomalies.push({ type: "G1a", key: r.key, value: v, ops: [op] });
    }
    const longest = orders.get(r.key);
    if (longest === undefined || r.list.length > longest.length) orders.set(r.key, r.list);
  }
  // Every read must be a prefix of the longest one: list-append versions only grow at the end.
  const compatible = reads.filter((r) => {
    const order = orders.get(r.key) ?? [];
    const ok = r.list.every((v, i) => id(v) === id(order[i]));
    if (!ok) anomalies.push({ type: "incompatible-order", key: r.key, ops: [r.txn.pair.complete as Op] });
    return ok;
  });
  const cycle = findCycle(buildGraph(txns, compatible, orders, writerOf));
  if (cycle !== undefined) anomalies.push(cycle);
  return { valid: anomalies.length === 0, anomalies };
}

type Graph = Map<Txn, Map<Txn, Set<DepKind>>>;

function addEdge(g: Graph, from: Txn | undefined, to: Txn | undefined, kind: DepKind): void {
  // Only committed txns take part: a failed txn's writes never happened (that is G1a above).
  if (from === undefined || to === undefined || from === to) return;
  if (from.pair.outcome === "fail" || to.pair.outcome === "fail") return;
  const out = g.get(from) ?? new Map<Txn, Set<DepKind>>();
  g.set(from, out);
  const kinds = out.get(to) ?? new Set<DepKind>();
  kinds.add(kind);
  out.set(to, kinds);
}

/**
 * Adya's dependency graph. Info txns appear only through their observed appends (an observed
 * append proves the txn committed); their reads are unknown, so they get no wr/rw edges out.
 */
function buildGraph(
  txns: readonly Txn[],
  reads: readonly { txn: Txn; key: string; list: unknown[] }[],
  orders: Map<string, unknown[]>,
  writerOf: (k: string, v: unknown) => Txn | undefined,
): Graph {
  const g: Graph = new Map(txns.map((t) => [t, new Map()]));
  for (const [key, order] of orders) {
    // ww: consecutive versions in the inferred order.
    for (let i = 1; i < order.length; i++)
      addEdge(g, writerOf(key, order[i - 1]), writerOf(key, order[i]), "ww");
  }
  for (const r of reads) {
    const order = orders.get(r.key) ?? [];
    // wr: the reader saw the version installed by the writer of its last element.
    if (r.list.length > 0) addEdge(g, writerOf(r.key, r.list.at(-1)), r.txn, "wr");
    // rw: the reader did not see the next version, so it precedes that version's writer.
    if (order.length > r.list.length) addEdge(g, r.txn, writerOf(r.key, order[r.list.length]), "rw");
  }
  return g;
}

/** Tarjan's SCCs; any SCC with two or more txns contains a cycle, which we extract by BFS. */
function findCycle(g: Graph): Anomaly | undefined {
  const index = new Map<Txn, number>();
  const low = new Map<Txn, number>();
  const onStack = new Set<Txn>();
  const stack: Txn[] = [];
  let counter = 0;
  let found: Txn[] | undefined;
  // Iterative DFS so long histories cannot overflow the call stack.
  for (const root of g.keys()) {
    if (index.has(root) || found) continue;
    const work: { v: Txn; it: Iterator<Txn> }[] = [];
    const visit = (v: Txn) => {
      index.set(v, counter);
      low.set(v, counter++);
      stack.push(v);
      onStack.add(v);
      work.push({ v, it: (g.get(v) ?? new Map()).keys() });
    };
    visit(root);
    while (work.length > 0 && !found) {
      const frame = work[work.length - 1] as { v: Txn; it: Iterator<Txn> };
      const step = frame.it.next();
      if (!step.done) {
        const w = step.value;
        if (!index.has(w)) visit(w);
        else if (onStack.has(w)) low.set(frame.v, Math.min(low.get(frame.v) ?? 0, index.get(w) ?? 0));
        continue;
      }
      work.pop();
      const parent = work.at(-1);
      if (parent) low.set(parent.v, Math.min(low.get(parent.v) ?? 0, low.get(frame.v) ?? 0));
      if (low.get(frame.v) !== index.get(frame.v)) continue;
      const scc: Txn[] = [];
      let w: Txn | undefined;
      do {
        w = stack.pop() as Txn;
        onStack.delete(w);
        scc.push(w);
      } while (w !== frame.v);
      if (scc.length > 1) found = scc;
    }
  }
  return found === undefined ? undefined : cycleIn(g, new Set(found));
}

/** Shortest cycle through the SCC's first member, found by BFS restricted to the SCC. */
function cycleIn(g: Graph, scc: Set<Txn>): Anomaly {
  const start = scc.values().next().value as Txn;
  const parent = new Map<Txn, Txn>();
  const queue: Txn[] = [start];
  let last: Txn | undefined;
  while (queue.length > 0 && last === undefined) {
    const v = queue.shift() as Txn;
    for (const w of g.get(v)?.keys() ?? []) {
      if (!scc.has(w)) continue;
      if (w === start) {
        last = v;
        break;
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  const path: Txn[] = [];
  for (let v: Txn | undefined = last; v !== undefined && v !== start; v = parent.get(v)) path.unshift(v);
  path.unshift(start);
  const edges = path.map((v, i) => pickKind(g.get(v)?.get(path[(i + 1) % path.length] as Txn)));
  const type = edges.includes("rw") ? "G2" : edges.includes("wr") ? "G1c" : "G0";
  return { type, ops: path.map((t) => t.pair.complete ?? t.pair.invoke), edges };
}

/** Prefers the weakest explanation for an edge so the reported class is the strongest anomaly. */
function pickKind(kinds: Set<DepKind> | undefined): DepKind {
  if (kinds?.has("ww")) return "ww";
  if (kinds?.has("wr")) return "wr";
  return "rw";
}
