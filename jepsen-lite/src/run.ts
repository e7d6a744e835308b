/**
 * One jepsen-lite run: start the cluster, run every workload (registers, multi-key txns,
 * list-append, watchers) and the nemesis for the given time, heal, wait for health, read every key
 * linearizably, let the watchers catch up, then run every checker.
 */
import { performance } from "node:perf_hooks";
import { closeEtcdClients, type EtcdClients, etcdClients, unaryCall } from "@skiff/etcd-client";
import { checkDurability, type DurabilityResult } from "./check/durability.js";
import type { Op } from "./check/history.js";
import { pairOps } from "./check/history.js";
import {
  checkLinearizable,
  type LinearizableResult,
  stepTxn,
  type TxnMicroOp,
} from "./check/linearizable.js";
import { checkListAppend, type ListAppendResult, type MicroOp } from "./check/listappend.js";
import { checkWatch, type WatchResult } from "./check/watch.js";
import { Cluster, type NetMode, type Target } from "./cluster.js";
import { type FaultInterval, type NemesisKind, runNemesis } from "./nemesis.js";
import { Prng } from "./prng.js";
import { catchUp, Watcher } from "./watchers.js";
import {
  appendKeyName,
  Counter,
  decodeValue,
  keyName,
  Recorder,
  runWorkload,
  TXN_GROUP,
  txnKeyName,
  type WorkloadKind,
} from "./workload.js";

export interface RunOptions {
  target: Target;
  nodes: number;
  timeSec: number;
  /** The run goes on past timeSec until this many faults have been healed (tests: not timing). */
  minFaults?: number;
  nemesis: NemesisKind[];
  seed: number;
  net: NetMode;
  unsafeNoFsync: boolean;
  unsafeStaleReads: boolean;
  /** Register workers; the txn and append workloads run 2 workers each. */
  workers: number;
  keys: number;
  rate: number;
  watchers: number;
}

export interface AppendDurability {
  valid: boolean;
  /** Acknowledged appends missing from the final read of their key. */
  lost: { key: string; value: unknown }[];
}

export interface RunResult {
  options: RunOptions;
  valid: boolean;
  durationMs: number;
  counts: Record<string, number>;
  linearizable: LinearizableResult;
  txnLinearizable: LinearizableResult;
  durability: DurabilityResult;
  listAppend: ListAppendResult;
  appendDurability: AppendDurability;
  watch: WatchResult & { reconnects: number; events: number };
  finalState: Record<string, unknown>;
  faults: FaultInterval[];
  histories: { register: Op[]; txn: Op[]; append: Op[] };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Process ids per workload, far apart so the report's lanes never mix. */
const PROCESS_BASE: Record<WorkloadKind, number> = {
  register: 0,
  reader: 500_000,
  txn: 1_000_000,
  append: 2_000_000,
};

/** `onCluster` receives the cluster as soon as it exists, so a signal handler can stop it. */
export async function run(
  options: RunOptions,
  log: (line: string) => void,
  onCluster: (c: Cluster) => void,
): Promise<RunResult> {
  const cluster = await Cluster.create({
    target: options.target,
    nodes: options.nodes,
    net: options.net,
    unsafeNoFsync: options.unsafeNoFsync,
    unsafeStaleReads: options.unsafeStaleReads,
  });
  onCluster(cluster);
  try {
    cluster.startAll();
    await cluster.waitHealthy(60_000);
    log(`cluster of ${options.nodes} ${options.target} members is up (network: ${options.net})`);
    log(`members: ${cluster.members.map((m) => `${m.name} pid ${m.child?.pid}`).join(", ")}`);
    const t0 = performance.now();
    const recorders = { register: new Recorder(t0), txn: new Recorder(t0), append: new Recorder(t0) };
    const targets = cluster.members.map((m) => m.target);
    const watchers = Array.from({ length: options.watchers }, (_, i) => new Watcher(`w${i}`, targets, i));
    for (const w of watchers) w.start();
    let stopped = false;
    let faultsDone = 0;
    const stop = sleep(options.timeSec * 1000)
      .then(async () => {
        while (faultsDone < (options.minFaults ?? 0)) await sleep(100);
      })
      .then(() => {
        stopped = true;
      });
    const values = new Counter();
    const prng = new Prng(options.seed ^ 0x9e3779b9);
    const common = { targets, keys: options.keys, rate: options.rate, opTimeoutMs: 2000 };
    const workers = { register: options.workers, reader: options.nodes, txn: 2, append: 2 };
    const workloads = (["register", "reader", "txn", "append"] as const).map((kind) =>
      runWorkload(
        kind,
        { ...common, workers: workers[kind] },
        // Readers record into the register history: one linearizability check covers both.
        {
          prng,
          recorder: recorders[kind === "reader" ? "register" : kind],
          values,
          processBase: PROCESS_BASE[kind],
        },
        stop,
      ),
    );
    const faults = await runNemesis(options.nemesis, {
      cluster,
      prng: new Prng(options.seed),
      t0,
      stopped: () => stopped,
      log,
      onFault: () => faultsDone++,
    });
    await stop;
    await Promise.all(workloads);
    cluster.heal();
    await cluster.waitHealthy(60_000);
    log("healed: every member is running and sees a leader");
    const final = await finalReads(cluster, options.keys, recorders);
    await catchUp(watchers, final.revision, 30_000);
    for (const w of watchers) w.close();
    const durationMs = performance.now() - t0;
    return check(options, durationMs, recorders, final.state, faults, watchers);
  } finally {
    await cluster.stop();
  }
}

type Recorders = Record<"register" | "txn" | "append", Recorder>;

interface Final {
  state: Record<string, unknown>;
  revision: number;
}

/** Retries `f` on every member in turn until it succeeds (20 attempts). */
async function retrying<R>(
  clients: EtcdClients[],
  what: string,
  f: (c: EtcdClients) => Promise<R>,
): Promise<R> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await f(clients[attempt % clients.length] as EtcdClients);
    } catch (e) {
      if (attempt >= 20) throw new Error(`final read of ${what} failed 20 times: ${String(e)}`);
      await sleep(250);
    }
  }
}

/**
 * Linearizable reads of everything at the end, each recorded in its workload's history (so the
 * checkers see them): every register, one txn reading every txn key, one append txn reading
 * every list.
 */
async function finalReads(cluster: Cluster, keys: number, rec: Recorders): Promise<Final> {
  const state: Record<string, unknown> = {};
  const clients = cluster.members.map((m) => etcdClients(m.target));
  const process = -1;
  let revision = 0;
  type Txn = {
    header: { revision: string };
    responses: { response_range: Parameters<typeof decodeValue>[0] }[];
  };
  const readAll = (c: EtcdClients, names: string[]) =>
    unaryCall<Txn>(
      c.KV,
      "Txn",
      { success: names.map((k) => ({ request_range: { key: Buffer.from(k) } })) },
      2000,
    );
  try {
    for (let i = 0; i < keys; i++) {
      const key = keyName(i);
      rec.register.record({ process, type: "invoke", f: "read", key, value: null });
      const v = await retrying(clients, key, (c) => readAll(c, [key]));
      const value = decodeValue((v.responses[0] as Txn["responses"][number]).response_range);
      rec.register.record({ process, type: "ok", f: "read", key, value });
      state[key] = value;
      revision = Math.max(revision, Number(v.header.revision));
    }
    const tkeys = Array.from({ length: keys }, (_, i) => txnKeyName(i));
    const tmicro = tkeys.map((k): TxnMicroOp => ["r", k, null]);
    rec.txn.record({ process, type: "invoke", f: "txn", key: TXN_GROUP, value: tmicro });
    const t = await retrying(clients, "txn keys", (c) => readAll(c, tkeys));
    const tdone = tkeys.map((k, i): TxnMicroOp => {
      const v = decodeValue((t.responses[i] as Txn["responses"][number]).response_range);
      state[k] = v;
      return ["r", k, v];
    });
    rec.txn.record({ process, type: "ok", f: "txn", key: TXN_GROUP, value: tdone });
    const akeys = Array.from({ length: keys }, (_, i) => appendKeyName(i));
    rec.append.record({
      process,
      type: "invoke",
      f: "txn",
      value: akeys.map((k): MicroOp => ["r", k, null]),
    });
    const a = await retrying(clients, "append keys", (c) => readAll(c, akeys));
    const adone = akeys.map((k, i): MicroOp => {
      const kv = (a.responses[i] as Txn["responses"][number]).response_range.kvs[0];
      const list =
        kv === undefined || kv.value.length === 0 ? [] : kv.value.toString().split(" ").map(Number);
      state[k] = list;
      return ["r", k, list];
    });
    rec.append.record({ process, type: "ok", f: "txn", value: adone });
    revision = Math.max(revision, Number(t.header.revision), Number(a.header.revision));
  } finally {
    for (const c of clients) closeEtcdClients(c);
  }
  return { state, revision };
}

/** Counts as `<workload>/<f>:<outcome>`, plus `total`. */
function countOps(kind: WorkloadKind, history: readonly Op[], counts: Record<string, number>): void {
  for (const p of pairOps(history)) {
    const k = `${kind}/${p.f}:${p.outcome}`;
    counts[k] = (counts[k] ?? 0) + 1;
    counts.total = (counts.total ?? 0) + 1;
  }
}

/** Every acknowledged append must be in the final read of its key. */
function checkAppendDurability(
  history: readonly Op[],
  finalState: Record<string, unknown>,
): AppendDurability {
  const lost: AppendDurability["lost"] = [];
  for (const p of pairOps(history)) {
    if (p.outcome !== "ok") continue;
    for (const m of p.invoke.value as MicroOp[]) {
      if (m[0] !== "append") continue;
      const list = finalState[m[1]] as unknown[] | undefined;
      if (!list?.includes(m[2])) lost.push({ key: m[1], value: m[2] });
    }
  }
  return { valid: lost.length === 0, lost };
}

function check(
  options: RunOptions,
  durationMs: number,
  rec: Recorders,
  finalState: Record<string, unknown>,
  faults: FaultInterval[],
  watchers: Watcher[],
): RunResult {
  const counts: Record<string, number> = { total: 0 };
  for (const kind of ["register", "txn", "append"] as const) countOps(kind, rec[kind].ops, counts);
  const linearizable = checkLinearizable(rec.register.ops);
  const txnLinearizable = checkLinearizable(rec.txn.ops, { step: stepTxn, initialState: {} });
  // The durability checker models plain writes: a cas that may have applied (ok or info) is a
  // write of its new value; a failed cas wrote nothing.
  const asWrites = rec.register.ops
    .filter((op) => op.f !== "read")
    .map((op) => (op.f === "cas" ? { ...op, f: "write", value: (op.value as [unknown, unknown])[1] } : op));
  const registerFinal = Object.fromEntries(
    Object.entries(finalState).filter(([k]) => k.startsWith("jepsen/r")),
  ) as Record<string, number | null>;
  const durability = checkDurability(asWrites, registerFinal);
  const listAppend = checkListAppend(rec.append.ops);
  const appendDurability = checkAppendDurability(rec.append.ops, finalState);
  const writes = [...rec.register.writes, ...rec.txn.writes, ...rec.append.writes];
  const watch = {
    ...checkWatch(
      watchers.map((w) => w.stream),
      writes,
    ),
    reconnects: watchers.reduce((n, w) => n + w.reconnects, 0),
    events: watchers.reduce((n, w) => n + w.stream.batches.reduce((m, b) => m + b.length, 0), 0),
  };
  const valid =
    linearizable.valid === true &&
    txnLinearizable.valid === true &&
    durability.valid &&
    listAppend.valid &&
    appendDurability.valid &&
    watch.valid;
  return {
    options,
    valid,
    durationMs,
    counts,
    linearizable,
    txnLinearizable,
    durability,
    listAppend,
    appendDurability,
    watch,
    finalState,
    faults,
    histories: { register: rec.register.ops, txn: rec.txn.ops, append: rec.append.ops },
  };
}
