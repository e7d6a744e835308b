/**
 * `pnpm bench apiserver [--quick] [--json FILE]`: the real API server (`skiff server`, embedded
 * store, TLS) started as its own process and driven over HTTPS by the typed client from this one.
 * Workloads: pod creates at 16 and 64 closed-loop clients and open loop at a fixed rate; pod
 * server-side applies (creating, then re-applying with a label changed) at the same levels; with N
 * pods stored, random gets and lists of all of them (from the store, and resourceVersion=0 from
 * the watch cache); and the fan-out delay of writes to many watchers. The two processes share the
 * machine's 2 cores; the CPU columns give each one's share.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFromKubeconfig, KubeClient, type ResourceClient } from "@skiff/client";
import { type ApiRow, type ApiWorkload, apiTables, apiTargets, targetLimits } from "./apiserver-report.js";
import type { Benchmark } from "./registry.js";
import { type SkiffProcess, startSkiff } from "./skiff-procs.js";
import { type Measurement, summarize } from "./store-load.js";
import { cpuSeconds as processCpuSeconds } from "./store-procs.js";

/** An object as the client takes it (@skiff/api's KubeObject). */
type KubeObject = Parameters<ResourceClient["create"]>[0];

export interface ApiPlan {
  /** Closed-loop create phases: concurrent clients each. */
  createLevels: number[];
  createSeconds: number;
  /** Open-loop create phase: offered creates/s. */
  openRate: number;
  openSeconds: number;
  /** Pods stored in the namespace for the get, list and watch phases. */
  storedPods: number;
  gets: number;
  lists: number;
  watchers: number;
  /** Writes (pod label patches) during the watch phase, and their rate. */
  watchWrites: number;
  watchWriteRate: number;
  warmSeconds: number;
}

export const fullPlan: ApiPlan = {
  createLevels: [16, 64],
  createSeconds: 5,
  openRate: 200,
  openSeconds: 5,
  storedPods: 10_000,
  gets: 500,
  lists: 10,
  watchers: 1000,
  watchWrites: 50,
  watchWriteRate: 25,
  warmSeconds: 1,
};

export const quickPlan: ApiPlan = {
  ...fullPlan,
  createSeconds: 1,
  openSeconds: 1,
  storedPods: 2000,
  gets: 200,
  lists: 5,
  watchers: 200,
  watchWrites: 25,
  warmSeconds: 0.5,
};

/** Namespaces: the stored set (read and watched), and the one the create phases write to. */
const NS = "bench";
const LOAD_NS = "bench-load";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pod(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { containers: [{ name: "c", image: "busybox:1" }] },
  } as KubeObject;
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Starts `skiff server` (from the build, without the scheduler) and waits for its ready line. */
function startSkiffServer(args: string[], log: (line: string) => void): Promise<SkiffProcess> {
  return startSkiff("server", ["--disable-scheduler", "--disable-agent", ...args], log);
}

/** Runs `clients` closed-loop clients for `seconds` (or until `total` ops are done). */
async function closedLoop(
  clients: number,
  op: (seq: number) => Promise<unknown>,
  limit: { seconds?: number; total?: number },
): Promise<Measurement & { firstError?: string }> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let seq = 0;
  const start = performance.now();
  const end = limit.seconds === undefined ? Number.POSITIVE_INFINITY : start + limit.seconds * 1000;
  const total = limit.total ?? Number.POSITIVE_INFINITY;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end && seq < total) {
        const t0 = performance.now();
        try {
          await op(seq++);
          latencies.push(performance.now() - t0);
        } catch (e) {
          errors++;
          firstError ??= e instanceof Error ? e.message : String(e);
          if (errors > 1000) throw new Error("more than 1000 errors: giving up");
          await sleep(10);
        }
      }
    }),
  );
  const m = summarize(latencies, (performance.now() - start) / 1000, errors);
  return firstError === undefined ? m : { ...m, firstError };
}

/**
 * Open loop: request i is due at start + i/rate whatever the earlier ones do, and its latency is
 * measured from when it was due (so a stalled server is not hidden by a waiting generator).
 */
async function openLoop(rate: number, seconds: number, op: (seq: number) => Promise<unknown>) {
  const n = Math.max(1, Math.round(rate * seconds));
  const latencies: number[] = [];
  let errors = 0;
  const inflight: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    inflight.push(
      op(i).then(
        () => {
          latencies.push(performance.now() - due);
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(inflight);
  return summarize(latencies, (performance.now() - start) / 1000, errors);
}

interface WatchResult extends Measurement {
  expectedEvents: number;
  receivedEvents: number;
}

/**
 * `watchers` watches on the namespace's pods from its current resourceVersion, then `writes`
 * label patches at `rate`/s. Latency: from each patch's response to the moment the last watcher
 * received its event (0 when every watcher had it before the response arrived).
 */
async function watchFanOut(
  watchClient: KubeClient,
  pods: ResourceClient,
  names: readonly string[],
  opts: { watchers: number; writes: number; rate: number; log: (l: string) => void },
): Promise<WatchResult> {
  const from = (await pods.list({ limit: 1 })).metadata.resourceVersion;
  const wpods = watchClient.resource("v1", "pods", NS);
  /** Per resourceVersion: how many watchers received it, and when the last one did. */
  const seen = new Map<string, { count: number; last: number }>();
  let watchErrors = 0;
  const watches = Array.from({ length: opts.watchers }, () => {
    const w = wpods.watch({
      resourceVersion: from,
      onEvent(e) {
        const rv = e.object.metadata?.resourceVersion;
        if (e.type !== "MODIFIED" || rv === undefined) return;
        const s = seen.get(rv);
        if (s === undefined) seen.set(rv, { count: 1, last: performance.now() });
        else {
          s.count++;
          s.last = performance.now();
        }
      },
    });
    w.done.catch(() => watchErrors++);
    return w;
  });
  let label = 0;
  const write = async (name: string) => {
    const res = await pods.patch(name, { metadata: { labels: { bench: `w${label++}` } } }, "merge");
    return { rv: res.metadata?.resourceVersion ?? "", at: performance.now() };
  };
  const allSeen = async (rvs: readonly string[], timeoutMs: number) => {
    const deadline = performance.now() + timeoutMs;
    const done = () => rvs.every((rv) => (seen.get(rv)?.count ?? 0) >= opts.watchers);
    while (!done() && performance.now() < deadline) await sleep(5);
    return done();
  };
  try {
    // A sentinel write: once every watcher has its event, every stream is up.
    const t0 = performance.now();
    const sentinel = await write(names[0] as string);
    if (!(await allSeen([sentinel.rv], 120_000)))
      throw new Error(
        `watch: only ${seen.get(sentinel.rv)?.count ?? 0}/${opts.watchers} watchers got the first event`,
      );
    opts.log(`watch: ${opts.watchers} watchers up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const writes: { rv: string; at: number }[] = [];
    let errors = 0;
    const start = performance.now();
    for (let i = 0; i < opts.writes; i++) {
      const wait = start + (i * 1000) / opts.rate - performance.now();
      if (wait > 1) await sleep(wait);
      try {
        writes.push(await write(names[(i + 1) % names.length] as string));
      } catch {
        errors++;
      }
    }
    await allSeen(
      writes.map((w) => w.rv),
      10_000,
    );
    const seconds = (performance.now() - start) / 1000;
    const delays: number[] = [];
    let received = 0;
    for (const w of writes) {
      const s = seen.get(w.rv);
      received += Math.min(opts.watchers, s?.count ?? 0);
      if (s !== undefined && s.count >= opts.watchers) delays.push(Math.max(0, s.last - w.at));
      else errors++;
    }
    const m = summarize(delays, seconds, errors + watchErrors);
    return { ...m, expectedEvents: opts.writes * opts.watchers, receivedEvents: received };
  } finally {
    for (const w of watches) w.stop();
  }
}

export async function runApiserverBench(opts: {
  plan: ApiPlan;
  log?: (line: string) => void;
}): Promise<ApiRow[]> {
  const { plan } = opts;
  const log = opts.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), "skiff-bench-apiserver-"));
  const kubeconfig = join(dir, "kubeconfig");
  const server = await startSkiffServer(
    [
      ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
      ...["--write-kubeconfig", kubeconfig],
      ...["--max-requests-inflight", "2000", "--max-mutating-requests-inflight", "1000"],
    ],
    (line) => log(`apiserver: ${line}`),
  );
  const cfg = configFromKubeconfig(kubeconfig);
  const client = new KubeClient(cfg);
  const watchClient = new KubeClient(cfg);
  const rows: ApiRow[] = [];
  const phase = async <M extends Measurement>(
    workload: ApiWorkload,
    clients: number,
    run: () => Promise<M>,
    extra: Partial<ApiRow> = {},
  ): Promise<ApiRow> => {
    const cpu0 = cpuSeconds();
    const server0 = processCpuSeconds(server.pid);
    const m = await run();
    const row: ApiRow = {
      workload,
      clients,
      ...extra,
      ...m,
      processCpuSeconds: cpuSeconds() - cpu0,
      serverCpuSeconds: processCpuSeconds(server.pid) - server0,
    };
    if (row.targetMs !== undefined) row.met = row.errors === 0 && row.p99ms < row.targetMs;
    if (row.firstError !== undefined) log(`${workload}: ${row.errors} errors, the first: ${row.firstError}`);
    log(
      `${workload} ${extra.rate === undefined ? clients : `${extra.rate}/s`}: ${Math.round(m.opsPerSecond)}/s, p99 ${m.p99ms.toFixed(1)} ms`,
    );
    rows.push(row);
    return row;
  };
  try {
    const namespaces = client.resource("v1", "namespaces");
    for (const name of [NS, LOAD_NS])
      await namespaces.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } } as KubeObject);
    const load = client.resource("v1", "pods", LOAD_NS);
    const pods = client.resource("v1", "pods", NS);
    let n = 0;
    const createLoad = () => load.create(pod(`p-${(n++).toString(36)}`));
    // Warm-up: connections, TLS sessions, JIT.
    await closedLoop(16, createLoad, { seconds: plan.warmSeconds });

    for (const level of plan.createLevels)
      await phase("create-closed", level, () =>
        closedLoop(level, createLoad, { seconds: plan.createSeconds }),
      );
    await phase("create-open", 1, () => openLoop(plan.openRate, plan.openSeconds, createLoad), {
      rate: plan.openRate,
      targetMs: targetLimits.create_p99_ms_at_200,
    });
    // Server-side apply beside create: new pods (apply creates them), then re-applies of the
    // same pods with a label changed (merge, field ownership, an update).
    const applied: string[] = [];
    const applyLoad = (name: string, label: string) =>
      load.patch(name, { ...pod(name), metadata: { name, labels: { bench: label } } }, "apply", {
        fieldManager: "bench",
      });
    for (const level of plan.createLevels)
      await phase("apply-closed", level, () =>
        closedLoop(
          level,
          () => {
            const name = `a-${(n++).toString(36)}`;
            applied.push(name);
            return applyLoad(name, "v0");
          },
          { seconds: plan.createSeconds },
        ),
      );
    const level = plan.createLevels.at(-1) ?? 16;
    await phase("reapply-closed", level, () =>
      closedLoop(level, (i) => applyLoad(applied[i % applied.length] as string, `v${i}`), {
        seconds: plan.createSeconds,
      }),
    );

    const names = Array.from({ length: plan.storedPods }, (_, i) => `s-${i.toString().padStart(6, "0")}`);
    await phase("fill", 64, () =>
      closedLoop(64, (i) => pods.create(pod(names[i] as string)), { total: names.length }),
    );
    // Counted page by page: one unpaginated list is itself a measured phase, and may fail.
    const stored = (await pods.listAll({ limit: 500 })).items.length;
    if (stored !== plan.storedPods)
      throw new Error(`namespace ${NS} holds ${stored} pods, not ${plan.storedPods}`);

    const random = () => names[Math.floor(Math.random() * names.length)] as string;
    await phase("get", 1, () => closedLoop(1, () => pods.get(random()), { total: plan.gets }), {
      storedPods: stored,
    });
    const listAll = (rv?: string, limit?: number) => async () => {
      const list =
        limit === undefined
          ? await pods.list(rv === undefined ? {} : { resourceVersion: rv })
          : await pods.listAll({ limit });
      if (list.items.length !== stored) throw new Error(`list: ${list.items.length} pods, not ${stored}`);
    };
    await phase("list", 1, () => closedLoop(1, listAll(), { total: plan.lists }), {
      storedPods: stored,
      targetMs: targetLimits.list_10k_ms,
    });
    await phase("list-paged", 1, () => closedLoop(1, listAll(undefined, 500), { total: plan.lists }), {
      storedPods: stored,
    });
    await phase("list-rv0", 1, () => closedLoop(1, listAll("0"), { total: plan.lists }), {
      storedPods: stored,
    });

    await phase(
      "watch-fanout",
      plan.watchers,
      () =>
        watchFanOut(watchClient, pods, names, {
          watchers: plan.watchers,
          writes: plan.watchWrites,
          rate: plan.watchWriteRate,
          log,
        }),
      { storedPods: stored, targetMs: targetLimits.watch_fanout_p99_ms },
    );
  } finally {
    await watchClient.close().catch(() => {});
    await client.close().catch(() => {});
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export const apiserverBenchmark: Benchmark = {
  name: "apiserver",
  summary:
    "the API server in-process over HTTPS: pod create/apply/get/list, watch fan-out, vs the issue's targets",
  async run(args) {
    let quick = false;
    let json: string | undefined;
    for (let i = 0; i < args.length; i++) {
      if (args[i] === "--quick") quick = true;
      else if (args[i] === "--json") json = args[++i];
      else throw new Error(`bench apiserver: unknown flag ${args[i]}`);
    }
    const plan = quick ? quickPlan : fullPlan;
    const started = performance.now();
    const rows = await runApiserverBench({ plan, log: (l) => process.stderr.write(`${l}\n`) });
    const targets = apiTargets(rows);
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `${apiTables(rows)}\n\nThe load generator (client CPU) and skiff server (server CPU) run as two processes on the same cores.\n` +
        `targets: ${JSON.stringify(targets)}\n`,
    );
    if (json !== undefined)
      writeFileSync(
        json,
        `${JSON.stringify(
          {
            benchmark: "apiserver",
            node: process.version,
            quick,
            seconds,
            plan,
            targets: { ...targets.values, limits: targets.limits, met: targets.met },
            rows,
          },
          null,
          2,
        )}\n`,
      );
    process.stderr.write(`bench apiserver: ${seconds.toFixed(0)} s\n`);
    return 0;
  },
};
