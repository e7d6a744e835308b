/**
 * One jepsen-lite run: start the cluster, run the register workload (and the nemesis) for the
 * given time, heal, wait for health, read every key linearizably, then check linearizability per
 * key and durability of the final reads.
 */
import { performance } from "node:perf_hooks";
import { closeEtcdClients, etcdClients } from "@skiff/store";
import { checkDurability, type DurabilityResult } from "./check/durability.js";
import type { Op } from "./check/history.js";
import { pairOps } from "./check/history.js";
import { checkLinearizable, type LinearizableResult } from "./check/linearizable.js";
import { Cluster, type Target } from "./cluster.js";
import { type FaultInterval, type NemesisKind, runKillNemesis } from "./nemesis.js";
import { Prng } from "./prng.js";
import { keyName, Recorder, readKey, runWorkload } from "./workload.js";

export interface RunOptions {
  target: Target;
  nodes: number;
  timeSec: number;
  nemesis: NemesisKind;
  seed: number;
  unsafeNoFsync: boolean;
  workers: number;
  keys: number;
  rate: number;
}

export interface RunResult {
  options: RunOptions;
  valid: boolean;
  counts: Record<string, number>;
  linearizable: LinearizableResult;
  durability: DurabilityResult;
  finalState: Record<string, number | null>;
  faults: FaultInterval[];
  history: Op[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `onCluster` receives the cluster as soon as it exists, so a signal handler can stop it. */
export async function run(
  options: RunOptions,
  log: (line: string) => void,
  onCluster: (c: Cluster) => void,
): Promise<RunResult> {
  const cluster = await Cluster.create({
    target: options.target,
    nodes: options.nodes,
    unsafeNoFsync: options.unsafeNoFsync,
  });
  onCluster(cluster);
  try {
    cluster.startAll();
    await cluster.waitHealthy(60_000);
    log(`cluster of ${options.nodes} ${options.target} members is up`);
    const t0 = performance.now();
    const recorder = new Recorder(t0);
    let stopped = false;
    const stop = sleep(options.timeSec * 1000).then(() => {
      stopped = true;
    });
    const workload = runWorkload(
      {
        targets: cluster.members.map((m) => m.target),
        workers: options.workers,
        keys: options.keys,
        rate: options.rate,
        opTimeoutMs: 2000,
        t0,
      },
      new Prng(options.seed ^ 0x9e3779b9),
      recorder,
      stop,
    );
    const faults =
      options.nemesis === "kill"
        ? await runKillNemesis(cluster, new Prng(options.seed), t0, () => stopped, log)
        : [];
    await stop;
    await workload;
    // Heal: every member running, then wait for a leader everywhere.
    cluster.startAll();
    await cluster.waitHealthy(60_000);
    log("healed: every member is running and sees a leader");
    const finalState = await finalReads(cluster, options.keys, recorder);
    return check(options, recorder.ops, finalState, faults);
  } finally {
    await cluster.stop();
  }
}

/** A linearizable read of every key (retried until it succeeds), recorded in the history too. */
async function finalReads(
  cluster: Cluster,
  keys: number,
  recorder: Recorder,
): Promise<Record<string, number | null>> {
  const finalState: Record<string, number | null> = {};
  const clients = cluster.members.map((m) => etcdClients(m.target));
  const process = -1;
  try {
    for (let i = 0; i < keys; i++) {
      const key = keyName(i);
      for (let attempt = 0; ; attempt++) {
        const c = clients[attempt % clients.length];
        if (c === undefined) throw new Error("no clients");
        recorder.record({ process, type: "invoke", f: "read", key, value: null });
        try {
          const v = await readKey(c, key, 2000);
          recorder.record({ process, type: "ok", f: "read", key, value: v });
          finalState[key] = v;
          break;
        } catch (e) {
          recorder.record({ process, type: "fail", f: "read", key, value: String(e) });
          if (attempt >= 20) throw new Error(`final read of ${key} failed 20 times: ${String(e)}`);
          await sleep(250);
        }
      }
    }
  } finally {
    for (const c of clients) closeEtcdClients(c);
  }
  return finalState;
}

function check(
  options: RunOptions,
  history: Op[],
  finalState: Record<string, number | null>,
  faults: FaultInterval[],
): RunResult {
  const pairs = pairOps(history);
  const counts: Record<string, number> = { total: pairs.length };
  for (const p of pairs) {
    const k = `${p.f}:${p.outcome}`;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  const linearizable = checkLinearizable(history);
  // The durability checker models plain writes: a cas that may have applied (ok or info) is a
  // write of its new value; a failed cas wrote nothing.
  const asWrites = history
    .filter((op) => op.f !== "read")
    .map((op) => (op.f === "cas" ? { ...op, f: "write", value: (op.value as [unknown, unknown])[1] } : op));
  const durability = checkDurability(asWrites, finalState);
  const valid = linearizable.valid === true && durability.valid;
  return { options, valid, counts, linearizable, durability, finalState, faults, history };
}
