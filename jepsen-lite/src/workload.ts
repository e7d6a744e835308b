/**
 * The client workloads, run concurrently over the etcd v3 gRPC API, each worker at most `rate`
 * ops/s, each starting on its own member and moving to the next one after an error:
 *
 * - registers (`jepsen/r<i>`): read = linearizable Range, write = Put of a unique value,
 *   cas = Txn(compare value == expected, or version == 0 for "absent", then Put);
 * - readers: one per member, pinned to it (never failing over), reading the registers: a member
 *   cut off from the others must refuse or delay linearizable reads, never answer stale data;
 * - multi-key txns (`jepsen/t<i>`): one Txn that reads 1-3 keys then writes 1-2 of them, with no
 *   compare (always applied), checked against a multi-register model;
 * - list-append (`jepsen/a<i>`): Elle-style txns of appends and reads, done optimistically: read
 *   the keys (mod revisions), then one Txn comparing every mod revision and putting the extended
 *   lists, reading inside the same Txn. A failed compare is `fail` (nothing written).
 *
 * Outcomes (conservative): a txn that answered succeeded=false is `fail`; any error or timeout on an
 * op that writes is `info` and the worker continues as a new process (the old op may still land,
 * as in Jepsen); a read error is `fail`. Every acknowledged write is also recorded with the revision
 * the store returned, for the watch checker. Times are performance.now() relative to `t0`.
 */
import { performance } from "node:perf_hooks";
import { closeEtcdClients, type EtcdClients, etcdClients, unaryCall } from "@skiff/etcd-client";
import type { Op } from "./check/history.js";
import type { TxnMicroOp } from "./check/linearizable.js";
import type { MicroOp } from "./check/listappend.js";
import type { KvWrite } from "./check/watch.js";
import type { Prng } from "./prng.js";

export type WorkloadKind = "register" | "reader" | "txn" | "append";

export interface WorkloadOptions {
  targets: string[];
  workers: number;
  keys: number;
  /** Max ops per second per worker. */
  rate: number;
  opTimeoutMs: number;
}

const b = (s: string) => Buffer.from(s);
export const keyName = (i: number) => `jepsen/r${i}`;
export const txnKeyName = (i: number) => `jepsen/t${i}`;
export const appendKeyName = (i: number) => `jepsen/a${i}`;
/** The key every multi-key txn is checked under (one multi-register object). */
export const TXN_GROUP = "jepsen/t";

interface KeyValue {
  key: Buffer;
  value: Buffer;
  mod_revision: string;
}
interface RangeResponse {
  header: { revision: string };
  kvs: KeyValue[];
}
interface TxnResponse {
  header: { revision: string };
  succeeded: boolean;
  responses: { response_range?: RangeResponse }[];
}

export function decodeValue(r: RangeResponse): number | null {
  const kv = r.kvs[0];
  return kv === undefined ? null : Number(kv.value.toString());
}

/** An append-only history with indexes in real-time order, and the acknowledged writes. */
export class Recorder {
  readonly ops: Op[] = [];
  readonly writes: KvWrite[] = [];

  constructor(private readonly t0: number) {}

  record(op: Omit<Op, "index" | "time">): Op {
    const full: Op = { ...op, time: performance.now() - this.t0, index: this.ops.length };
    this.ops.push(full);
    return full;
  }

  wrote(revision: string, key: string, value: string): void {
    this.writes.push({ revision: Number(revision), key, type: "put", value });
  }
}

export async function readKey(clients: EtcdClients, key: string, timeoutMs: number): Promise<number | null> {
  const r = await unaryCall<RangeResponse>(clients.KV, "Range", { key: b(key) }, timeoutMs);
  return decodeValue(r);
}

/** Shared values source: unique across every worker of every workload. */
export class Counter {
  private n = 0;
  next(): number {
    return ++this.n;
  }
}

interface Worker {
  /** The Jepsen process id (changes after an `info`). */
  process: number;
  node: number;
  clients: EtcdClients[];
  recorder: Recorder;
  prng: Prng;
  values: Counter;
  opts: WorkloadOptions;
  seen: Map<string, number | null>;
}

/** Runs `workers` workers of one kind until `stop` resolves; returns once every op has completed. */
export async function runWorkload(
  kind: WorkloadKind,
  opts: WorkloadOptions,
  ctx: { prng: Prng; recorder: Recorder; values: Counter; processBase: number },
  stop: Promise<void>,
): Promise<void> {
  const clients = opts.targets.map((t) => etcdClients(t));
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  const step = { register: registerOp, reader: readerOp, txn: txnOp, append: appendOp }[kind];
  const workers = Array.from({ length: opts.workers }, async (_, w) => {
    const worker: Worker = {
      process: ctx.processBase + w,
      node: w % clients.length,
      clients,
      recorder: ctx.recorder,
      prng: ctx.prng,
      values: ctx.values,
      opts,
      seen: new Map(),
    };
    const minGap = 1000 / opts.rate;
    while (!stopped) {
      const started = performance.now();
      await step(worker);
      const wait = minGap - (performance.now() - started);
      if (wait > 0 && !stopped) await new Promise((r) => setTimeout(r, wait));
    }
  });
  try {
    await Promise.all(workers);
  } finally {
    for (const c of clients) closeEtcdClients(c);
  }
}

/** After an error: an op that may have written makes the worker a new process; move on to the next member. */
function failedOver(w: Worker, mayHaveWritten: boolean): void {
  if (mayHaveWritten) w.process += w.opts.workers;
  w.node = (w.node + 1) % w.clients.length;
}

const client = (w: Worker) => w.clients[w.node] as EtcdClients;

/** A pinned reader: linearizable reads of random registers, always on the same member. */
async function readerOp(w: Worker): Promise<void> {
  const key = keyName(w.prng.int(0, w.opts.keys - 1));
  const process = w.process;
  w.recorder.record({ process, type: "invoke", f: "read", key, value: null });
  try {
    const v = await readKey(client(w), key, w.opts.opTimeoutMs);
    w.recorder.record({ process, type: "ok", f: "read", key, value: v });
  } catch (e) {
    w.recorder.record({ process, type: "fail", f: "read", key, value: errText(e) });
  }
}

async function registerOp(w: Worker): Promise<void> {
  const { recorder, prng, opts } = w;
  const process = w.process;
  const key = keyName(prng.int(0, opts.keys - 1));
  const roll = prng.next();
  const f = roll < 0.4 ? "read" : roll < 0.75 ? "write" : "cas";
  if (f === "read") {
    recorder.record({ process, type: "invoke", f, key, value: null });
    try {
      const v = await readKey(client(w), key, opts.opTimeoutMs);
      w.seen.set(key, v);
      recorder.record({ process, type: "ok", f, key, value: v });
    } catch (e) {
      recorder.record({ process, type: "fail", f, key, value: errText(e) });
      failedOver(w, false);
    }
    return;
  }
  const v = w.values.next();
  const expected = w.seen.get(key) ?? null;
  const value = f === "write" ? v : [expected, v];
  recorder.record({ process, type: "invoke", f, key, value });
  try {
    if (f === "write") {
      const r = await unaryCall<RangeResponse>(
        client(w).KV,
        "Put",
        { key: b(key), value: b(String(v)) },
        opts.opTimeoutMs,
      );
      recorder.wrote(r.header.revision, key, String(v));
      w.seen.set(key, v);
      recorder.record({ process, type: "ok", f, key, value });
      return;
    }
    const compare =
      expected === null
        ? { key: b(key), target: 0, result: 0, version: 0 }
        : { key: b(key), target: 3, result: 0, value: b(String(expected)) };
    const r = await unaryCall<TxnResponse>(
      client(w).KV,
      "Txn",
      { compare: [compare], success: [{ request_put: { key: b(key), value: b(String(v)) } }], failure: [] },
      opts.opTimeoutMs,
    );
    if (r.succeeded) {
      recorder.wrote(r.header.revision, key, String(v));
      w.seen.set(key, v);
    } else w.seen.delete(key);
    recorder.record({ process, type: r.succeeded ? "ok" : "fail", f, key, value });
  } catch {
    recorder.record({ process, type: "info", f, key, value });
    failedOver(w, true);
  }
}

/** Distinct random picks from 0..n-1. */
function pickKeys(prng: Prng, n: number, count: number): number[] {
  const all = [...Array(n).keys()];
  for (let i = all.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [all[i], all[j]] = [all[j] as number, all[i] as number];
  }
  return all.slice(0, Math.min(count, n));
}

async function txnOp(w: Worker): Promise<void> {
  const { recorder, prng, opts } = w;
  const process = w.process;
  const reads = pickKeys(prng, opts.keys, prng.int(1, 3)).map(txnKeyName);
  const writes = pickKeys(prng, opts.keys, prng.int(1, 2)).map(
    (k): TxnMicroOp => ["w", txnKeyName(k), w.values.next()],
  );
  const micro: TxnMicroOp[] = [...reads.map((k): TxnMicroOp => ["r", k, null]), ...writes];
  recorder.record({ process, type: "invoke", f: "txn", key: TXN_GROUP, value: micro });
  try {
    const r = await unaryCall<TxnResponse>(
      client(w).KV,
      "Txn",
      {
        compare: [],
        success: [
          ...reads.map((k) => ({ request_range: { key: b(k) } })),
          ...writes.map(([, k, v]) => ({ request_put: { key: b(k), value: b(String(v)) } })),
        ],
        failure: [],
      },
      opts.opTimeoutMs,
    );
    const done = micro.map((m, i): TxnMicroOp => {
      const range = r.responses[i]?.response_range;
      return m[0] === "r" && range !== undefined ? ["r", m[1], decodeValue(range)] : m;
    });
    for (const [, k, v] of writes) recorder.wrote(r.header.revision, k, String(v));
    recorder.record({ process, type: "ok", f: "txn", key: TXN_GROUP, value: done });
  } catch {
    recorder.record({ process, type: "info", f: "txn", key: TXN_GROUP, value: micro });
    failedOver(w, true);
  }
}

const parseList = (kv: KeyValue | undefined): number[] =>
  kv === undefined || kv.value.length === 0 ? [] : kv.value.toString().split(" ").map(Number);

async function appendOp(w: Worker): Promise<void> {
  const { recorder, prng, opts } = w;
  const process = w.process;
  const keys = pickKeys(prng, opts.keys, prng.int(1, 3)).map(appendKeyName);
  const micro: MicroOp[] = keys.map((k) =>
    prng.next() < 0.5 ? ["r", k, null] : ["append", k, w.values.next()],
  );
  recorder.record({ process, type: "invoke", f: "txn", value: micro });
  // Optimistic: read every key first; the txn then applies only if none changed since.
  let current: Map<string, KeyValue | undefined>;
  try {
    current = new Map();
    for (const k of keys) {
      const r = await unaryCall<RangeResponse>(client(w).KV, "Range", { key: b(k) }, opts.opTimeoutMs);
      current.set(k, r.kvs[0]);
    }
  } catch (e) {
    recorder.record({ process, type: "fail", f: "txn", value: micro });
    failedOver(w, false);
    return void e;
  }
  const puts = new Map<string, string>();
  for (const m of micro) {
    if (m[0] === "append") puts.set(m[1], [...parseList(current.get(m[1])), m[2]].join(" "));
  }
  try {
    const r = await unaryCall<TxnResponse>(
      client(w).KV,
      "Txn",
      {
        compare: keys.map((k) => ({
          key: b(k),
          target: 2,
          result: 0,
          mod_revision: current.get(k)?.mod_revision ?? "0",
        })),
        success: micro.map((m) =>
          m[0] === "r"
            ? { request_range: { key: b(m[1]) } }
            : { request_put: { key: b(m[1]), value: b(puts.get(m[1]) as string) } },
        ),
        failure: [],
      },
      opts.opTimeoutMs,
    );
    if (!r.succeeded) {
      recorder.record({ process, type: "fail", f: "txn", value: micro });
      return;
    }
    const done = micro.map((m, i): MicroOp => {
      if (m[0] === "append") return m;
      return ["r", m[1], parseList(r.responses[i]?.response_range?.kvs[0])];
    });
    for (const [k, v] of puts) recorder.wrote(r.header.revision, k, v);
    recorder.record({ process, type: "ok", f: "txn", value: done });
  } catch {
    recorder.record({ process, type: "info", f: "txn", value: micro });
    failedOver(w, true);
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message.slice(0, 200) : String(e);
}
