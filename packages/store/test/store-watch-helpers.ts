/**
 * Helpers for the watch and lease tests on a real 3-member `skiff store`: raw gRPC clients per
 * member, a write model that knows every event the writers caused (the oracle for the watchers),
 * a watch-stream collector, and the checks etcd's robustness tests make on what watchers saw.
 */
import { readFileSync } from "node:fs";
import type { ClientDuplexStream } from "@grpc/grpc-js";
import {
  closeEtcdClients,
  type EtcdClients,
  type Event,
  etcdClients,
  unaryCall,
  type WatchResponse,
} from "@skiff/etcd-client";
import { waitFor as waitUntil } from "@skiff/testkit";
import type { StoreCluster, StoreMember } from "./storeprocs.js";

// biome-ignore lint/suspicious/noExplicitAny: raw proto-loader messages
export type Any = any;

export const b = (s: string): Buffer => Buffer.from(s);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** etcd's prefix range_end: the prefix with its last byte incremented. */
export function prefixEnd(p: string): Buffer {
  const e = Buffer.from(p);
  e[e.length - 1] = (e[e.length - 1] ?? 0) + 1;
  return e;
}

/** Retries fn until it returns without throwing; the last error says what was missing. */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 30_000): Promise<T> {
  const got = await waitUntil(async () => ({ value: await fn() }), { what, timeoutMs, intervalMs: 50 });
  return got.value;
}

export function hostOf(m: StoreMember): string {
  return new URL(m.clientUrl).host;
}

/** Raw gRPC clients, one set per member, closed together. */
export class Clients {
  private readonly all: EtcdClients[] = [];
  of(m: StoreMember): EtcdClients {
    const c = etcdClients(hostOf(m));
    this.all.push(c);
    return c;
  }
  close(): void {
    for (const c of this.all) closeEtcdClients(c);
  }
}

export function call<T = Any>(
  c: EtcdClients,
  svc: keyof EtcdClients,
  method: string,
  req: object,
): Promise<T> {
  return unaryCall<T>(c[svc], method, req, 30_000);
}

/** The leader's name, as the members' Status calls say, once all live members agree. */
export async function leaderOf(cluster: StoreCluster, clients: Map<string, EtcdClients>): Promise<string> {
  return waitFor("a leader", async () => {
    const ids = new Map<string, string>();
    let leader = "";
    for (const m of cluster.members) {
      if (m.child?.exitCode !== null || m.child?.signalCode !== null) continue;
      const s = await call(clients.get(m.name) as EtcdClients, "Maintenance", "Status", {});
      ids.set(String(s.header.member_id), m.name);
      if (s.leader === "0") throw new Error("no leader yet");
      if (leader !== "" && leader !== s.leader) throw new Error("members disagree on the leader");
      leader = String(s.leader);
    }
    const name = ids.get(leader);
    if (name === undefined) throw new Error(`leader ${leader} is not a live member`);
    return name;
  });
}

export function rss(pid: number): { rssKb: number; hwmKb: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const num = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? Number.NaN);
  return { rssKb: num("VmRSS"), hwmKb: num("VmHWM") };
}

export interface ModelOp {
  type: 0 | 1; // PUT, DELETE
  key: string;
  value: string;
}

export interface ExpectedEvent extends ModelOp {
  rev: number;
  prev: string | undefined;
}

/**
 * Every effective write under one prefix, by revision, from the writers' own responses. Replaying
 * them in revision order gives the exact events and prev_kv values a watcher must see.
 */
export class WriteModel {
  readonly writes = new Map<number, ModelOp[]>();
  errors: string[] = [];

  record(rev: number, ops: ModelOp[]): void {
    if (ops.length === 0) return;
    if (this.writes.has(rev)) this.errors.push(`two writes answered with revision ${rev}`);
    this.writes.set(rev, ops);
  }

  get lastRev(): number {
    return Math.max(0, ...this.writes.keys());
  }

  /** How many revisions after `rev` the writers have made. */
  revisionsAfter(rev: number): number {
    let n = 0;
    for (const r of this.writes.keys()) if (r > rev) n++;
    return n;
  }

  events(fromRev: number, toRev = Number.POSITIVE_INFINITY): ExpectedEvent[] {
    const state = new Map<string, string>();
    const out: ExpectedEvent[] = [];
    for (const rev of [...this.writes.keys()].sort((x, y) => x - y)) {
      for (const op of this.writes.get(rev) as ModelOp[]) {
        const prev = state.get(op.key);
        if (rev >= fromRev && rev <= toRev) out.push({ ...op, rev, prev });
        if (op.type === 0) state.set(op.key, op.value);
        else state.delete(op.key);
      }
    }
    return out;
  }
}

let valueSeq = 0;
export function uniqueValue(tag: string, pad = 0): string {
  valueSeq++;
  return `${tag}-${valueSeq}${pad > 0 ? `-${"v".repeat(pad)}` : ""}`;
}

/**
 * One txn of puts/deletes on distinct keys (some may be outside the model's prefix: noise).
 * Records the effective ops under `prefix` in the model with the txn's revision.
 */
export async function writeTxn(
  c: EtcdClients,
  model: WriteModel,
  prefix: string,
  ops: { type: 0 | 1; key: string; value?: string }[],
): Promise<number> {
  const success = ops.map((op) =>
    op.type === 0
      ? { request_put: { key: b(op.key), value: b(op.value ?? "") } }
      : { request_delete_range: { key: b(op.key) } },
  );
  const res = await call(c, "KV", "Txn", { compare: [], success, failure: [] });
  const rev = Number(res.header.revision);
  const effective: ModelOp[] = [];
  ops.forEach((op, i) => {
    if (!op.key.startsWith(prefix)) return;
    if (op.type === 0) effective.push({ type: 0, key: op.key, value: op.value ?? "" });
    else if (Number(res.responses[i].response_delete_range.deleted) > 0)
      effective.push({ type: 1, key: op.key, value: "" });
  });
  model.record(rev, effective);
  return rev;
}

/** Random puts, deletes and multi-key txns under `prefix` (plus noise keys) until `until`. */
export async function randomWriter(
  c: EtcdClients,
  model: WriteModel,
  prefix: string,
  until: () => boolean,
  keys = 16,
): Promise<number> {
  let n = 0;
  while (!until()) {
    const r = Math.random();
    const key = () => `${prefix}k${String(Math.floor(Math.random() * keys)).padStart(2, "0")}`;
    let ops: { type: 0 | 1; key: string; value?: string }[];
    if (r < 0.5) ops = [{ type: 0, key: key(), value: uniqueValue(prefix) }];
    else if (r < 0.65) ops = [{ type: 1, key: key() }];
    else if (r < 0.7) ops = [{ type: 0, key: "noise/x", value: uniqueValue("noise") }];
    else {
      const ks = new Set<string>();
      const want = 2 + Math.floor(Math.random() * 3);
      while (ks.size < want) ks.add(key());
      ops = [...ks].map((k) =>
        Math.random() < 0.7
          ? { type: 0 as const, key: k, value: uniqueValue(prefix) }
          : { type: 1 as const, key: k },
      );
      if (Math.random() < 0.3) ops.push({ type: 0, key: "noise/y", value: uniqueValue("noise") });
    }
    await writeTxn(c, model, prefix, ops);
    n++;
  }
  return n;
}

/** What one watcher got: its responses in arrival order. */
export interface WatcherLog {
  id: string;
  created?: WatchResponse;
  responses: WatchResponse[];
  canceled?: WatchResponse;
}

/** A client Watch stream with any number of watchers; collects every response by watch id. */
export class WatchConn {
  readonly stream: ClientDuplexStream<object, WatchResponse>;
  readonly logs = new Map<string, WatcherLog>();
  private readonly pendingCreates: ((r: WatchResponse) => void)[] = [];
  error: Error | undefined;
  ended = false;

  constructor(c: EtcdClients) {
    this.stream = (c.Watch as unknown as { Watch(): ClientDuplexStream<object, WatchResponse> }).Watch();
    this.stream.on("data", (r: WatchResponse) => this.onData(r));
    this.stream.on("error", (e: Error) => {
      this.error = e;
    });
    this.stream.on("end", () => {
      this.ended = true;
    });
  }

  private onData(r: WatchResponse): void {
    const id = String(r.watch_id);
    if (r.created === true) {
      const log: WatcherLog = { id, created: r, responses: [] };
      if (r.canceled === true) log.canceled = r;
      this.logs.set(id, log);
      this.pendingCreates.shift()?.(r);
      return;
    }
    const log = this.logs.get(id);
    if (log === undefined) return;
    if (r.canceled === true) log.canceled = r;
    else log.responses.push(r);
  }

  /** Creates a watcher (prefix, prev_kv) and resolves with its log once the server created it. */
  async watch(prefix: string, startRev = 0, prevKv = true): Promise<WatcherLog> {
    const created = new Promise<WatchResponse>((resolve, reject) => {
      this.pendingCreates.push(resolve);
      setTimeout(() => reject(new Error("no created response in 30 s")), 30_000).unref();
    });
    this.stream.write({
      create_request: {
        key: b(prefix),
        range_end: prefixEnd(prefix),
        start_revision: String(startRev),
        prev_kv: prevKv,
        filters: [],
        watch_id: "0",
      },
    });
    const r = await created;
    return this.logs.get(String(r.watch_id)) as WatcherLog;
  }

  async cancel(log: WatcherLog): Promise<void> {
    this.stream.write({ cancel_request: { watch_id: log.id } });
    await waitFor("the cancel response", () => {
      if (log.canceled === undefined) throw new Error("not canceled yet");
    });
  }

  close(): void {
    this.stream.cancel();
  }
}

export function eventsOf(log: WatcherLog): Event[] {
  return log.responses.flatMap((r) => r.events ?? []);
}

export function lastRevOf(log: WatcherLog): number {
  const evs = eventsOf(log);
  return evs.length === 0 ? 0 : Number(evs[evs.length - 1]?.kv?.mod_revision);
}

export async function waitLastRev(logs: WatcherLog[], rev: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `watchers to reach revision ${rev}`,
    () => {
      const behind = logs.filter((l) => lastRevOf(l) < rev).map((l) => `${l.id}@${lastRevOf(l)}`);
      if (behind.length > 0) throw new Error(`behind: ${behind.join(",")}`);
    },
    timeoutMs,
  );
}

/**
 * etcd's watch guarantees for what one watcher (or a resumed pair) got, against the model:
 * ordered, no duplicates, no gaps (every event of every revision >= fromRev up to the model's
 * last revision), atomic (one revision's events in one response), prev_kv = the key's previous
 * value. Returns the problems found (empty when it holds), at most `max`.
 */
export function checkWatch(
  responses: WatchResponse[],
  model: WriteModel,
  fromRev: number,
  opts: { prevKv?: boolean; max?: number } = {},
): string[] {
  const problems: string[] = [];
  const max = opts.max ?? 8;
  const add = (p: string) => {
    if (problems.length < max) problems.push(p);
  };
  const respOfRev = new Map<number, number>();
  const got: { rev: number; ev: Event }[] = [];
  let lastRev = 0;
  responses.forEach((r, i) => {
    for (const ev of r.events ?? []) {
      const rev = Number(ev.kv?.mod_revision);
      if (rev < lastRev) add(`order: revision ${rev} after ${lastRev} (response ${i})`);
      lastRev = Math.max(lastRev, rev);
      const seen = respOfRev.get(rev);
      if (seen !== undefined && seen !== i)
        add(`atomicity: revision ${rev} split over responses ${seen} and ${i}`);
      respOfRev.set(rev, i);
      got.push({ rev, ev });
    }
  });
  const seenKeys = new Set<string>();
  for (const { rev, ev } of got) {
    const k = `${rev}/${ev.kv?.key.toString()}`;
    if (seenKeys.has(k)) add(`duplicate: ${k}`);
    seenKeys.add(k);
  }
  const want = model.events(fromRev);
  const n = Math.max(want.length, got.length);
  for (let i = 0; i < n; i++) {
    const w = want[i];
    const g = got[i];
    if (w === undefined) {
      add(`extra event #${i}: rev ${g?.rev} ${g?.ev.kv?.key.toString()}`);
      continue;
    }
    if (g === undefined) {
      add(`missing event #${i}: rev ${w.rev} ${w.type === 0 ? "PUT" : "DELETE"} ${w.key}`);
      continue;
    }
    const gKey = g.ev.kv?.key.toString();
    const gVal = g.ev.type === 0 ? (g.ev.kv?.value?.toString() ?? "") : "";
    if (g.rev !== w.rev || g.ev.type !== w.type || gKey !== w.key || gVal !== w.value) {
      add(
        `event #${i}: got rev ${g.rev} type ${g.ev.type} ${gKey}=${gVal.slice(0, 20)}, want rev ${w.rev} type ${w.type} ${w.key}=${w.value.slice(0, 20)}`,
      );
      continue;
    }
    if (opts.prevKv !== false) {
      const gPrev = g.ev.prev_kv?.value?.toString();
      if (gPrev !== w.prev)
        add(`prev_kv of rev ${w.rev} ${w.key}: got ${gPrev?.slice(0, 20)}, want ${w.prev?.slice(0, 20)}`);
    }
  }
  return problems;
}
