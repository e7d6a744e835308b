/**
 * `pnpm bench scheduler [--quick] [--json FILE] [--shape NAME] [--hollow-only|--static-only]`:
 * kube-scheduler's scheduler_perf shapes against Skiff's own processes: `skiff server
 * --disable-scheduler` (embedded store), the nodes either from `skiff hollow-nodes` (N
 * kubemark-style nodes renewing Leases and turning bound pods Running) or written as plain Node
 * objects (scheduler_perf's own setup, no kubelet load), and
 * `skiff scheduler` started once every pod exists (the pods "created at once"), so that the
 * figure is the scheduler's throughput, not the create rate. Reports bind throughput (overall and
 * the median of 1 s samples, as scheduler_perf's SchedulingThroughput), the scheduling attempt
 * latency p50/p99 from the scheduler's own histogram, and each process's CPU seconds.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFromKubeconfig, KubeClient, type ResourceClient } from "@skiff/client";
import { freePort } from "@skiff/testkit";
import type { Benchmark } from "./registry.js";
import { type SkiffProcess, startSkiff } from "./skiff-procs.js";
import { cpuSeconds, peakRssMiB } from "./store-procs.js";

type KubeObject = Parameters<ResourceClient["create"]>[0];

export interface Shape {
  name: string;
  nodes: number;
  pods: number;
  /** The measured pod number i. */
  pod(i: number): Record<string, unknown>;
  /** Pods/s the issue asks for. */
  target: number;
}

const NS = "sched-bench";

/** scheduler_perf's pod-default.yaml: requests 100m cpu and 500Mi memory. */
const basicSpec = () => ({
  containers: [
    {
      name: "pause",
      image: "registry.k8s.io/pause:3.10",
      resources: { requests: { cpu: "100m", memory: "500Mi" } },
    },
  ],
});

export function shapes(quick: boolean): Shape[] {
  const scale = quick ? 10 : 1;
  return [
    {
      name: "SchedulingBasic",
      nodes: 5000 / scale,
      pods: 10_000 / scale,
      target: 1000,
      pod: (i) => ({ metadata: { name: `basic-${i}` }, spec: basicSpec() }),
    },
    {
      name: "PodTopologySpread",
      nodes: 500 / scale,
      pods: 5000 / scale,
      target: 300,
      pod: (i) => ({
        metadata: { name: `spread-${i}`, labels: { app: "spread" } },
        spec: {
          ...basicSpec(),
          topologySpreadConstraints: [
            {
              maxSkew: 5,
              topologyKey: "topology.kubernetes.io/zone",
              whenUnsatisfiable: "DoNotSchedule",
              labelSelector: { matchLabels: { app: "spread" } },
            },
            {
              maxSkew: 1,
              topologyKey: "kubernetes.io/hostname",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: { app: "spread" } },
            },
          ],
        },
      }),
    },
    {
      // Twenty groups: a pod repels the pods of its own group from its node, so each group
      // needs as many nodes as it has pods: 250 distinct nodes of the 500.
      name: "InterPodAntiAffinity",
      nodes: 500 / scale,
      pods: 5000 / scale,
      target: 300,
      pod: (i) => {
        const group = `g${i % 20}`;
        return {
          metadata: { name: `anti-${i}`, labels: { group } },
          spec: {
            ...basicSpec(),
            affinity: {
              podAntiAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: [
                  { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { group } } },
                ],
              },
            },
          },
        };
      },
    },
  ];
}

export interface ShapeResult {
  shape: string;
  /** "hollow": nodes from `skiff hollow-nodes` (Leases, pods made Running); "static": Node objects only, as scheduler_perf. */
  nodeKind: "hollow" | "static";
  nodes: number;
  pods: number;
  bound: number;
  seconds: number;
  podsPerSecond: number;
  medianSamplePodsPerSecond: number;
  attemptP50ms: number;
  attemptP99ms: number;
  schedulerCpuSeconds: number;
  apiserverCpuSeconds: number;
  hollowCpuSeconds: number;
  schedulerPeakRssMiB: number;
  hollowPeakRssMiB: number;
  target: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `total` operations by `clients` concurrent callers, each starting the next when one ends. */
export async function closedLoop(
  clients: number,
  total: number,
  op: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) await op(next++);
    }),
  );
}

/** A quantile from a Prometheus histogram's cumulative buckets (linear within a bucket, as histogram_quantile). */
export function histogramQuantile(buckets: readonly [number, number][], q: number): number {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(count - prevCount, 1);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

async function attemptLatency(metricsUrl: string): Promise<{ p50ms: number; p99ms: number }> {
  const text = await (await fetch(metricsUrl)).text();
  const buckets: [number, number][] = [];
  const re = /^scheduler_scheduling_attempt_duration_seconds_bucket\{(.*)\} (\S+)$/gm;
  for (const m of text.matchAll(re)) {
    const labels = m[1] as string;
    if (!labels.includes('result="scheduled"')) continue;
    const le = /le="([^"]+)"/.exec(labels)?.[1] ?? "+Inf";
    buckets.push([le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), Number(m[2])]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  return { p50ms: histogramQuantile(buckets, 0.5) * 1000, p99ms: histogramQuantile(buckets, 0.99) * 1000 };
}

/** The benchmark's namespace, once its default ServiceAccount exists (pods are admitted only then). */
async function benchNamespace(client: KubeClient): Promise<ResourceClient> {
  await client
    .resource("v1", "namespaces")
    .create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } } as KubeObject);
  for (const deadline = Date.now() + 30_000; ; ) {
    try {
      await client.resource("v1", "serviceaccounts", NS).get("default");
      return client.resource("v1", "pods", NS);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}

/** A Node as scheduler_perf's node-default.yaml: 4 cpu, 32Gi, 110 pods, Ready, a zone of three. */
function staticNode(i: number): KubeObject {
  const name = `static-${i}`;
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: { "kubernetes.io/hostname": name, "topology.kubernetes.io/zone": `zone-${i % 3}` },
    },
    status: {
      capacity: { cpu: "4", memory: "32Gi", pods: "110" },
      allocatable: { cpu: "4", memory: "32Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True", reason: "KubeletReady" }],
    },
  } as KubeObject;
}

async function runShape(
  shape: Shape,
  nodeKind: "hollow" | "static",
  log: (l: string) => void,
): Promise<ShapeResult> {
  const dir = mkdtempSync(join(tmpdir(), "skiff-sched-bench-"));
  const procs: SkiffProcess[] = [];
  let client: KubeClient | undefined;
  try {
    const kubeconfig = join(dir, "kubeconfig");
    const server = await startSkiff(
      "server",
      [
        "--disable-agent",
        "--disable-scheduler",
        "--data-dir",
        join(dir, "data"),
        "--bind-address",
        "127.0.0.1",
        "--secure-port",
        "0",
        "--write-kubeconfig",
        kubeconfig,
      ],
      log,
    );
    procs.push(server);
    client = new KubeClient(configFromKubeconfig(kubeconfig));
    const nodes = client.resource("v1", "nodes");
    let hollow: SkiffProcess | undefined;
    if (nodeKind === "hollow") {
      hollow = await startSkiff(
        "hollow-nodes",
        ["--kubeconfig", kubeconfig, "--count", String(shape.nodes)],
        log,
      );
      procs.push(hollow);
    } else await closedLoop(64, shape.nodes, (i) => nodes.create(staticNode(i)));
    for (const deadline = Date.now() + 600_000; ; ) {
      const list = await nodes.listAll({ limit: 1000 });
      if (list.items.length >= shape.nodes) break;
      if (Date.now() > deadline)
        throw new Error(`only ${list.items.length} of ${shape.nodes} nodes registered`);
      await sleep(500);
    }
    log(`${shape.name}: ${shape.nodes} nodes registered`);
    const pods = await benchNamespace(client);
    const t0 = performance.now();
    await closedLoop(64, shape.pods, (i) =>
      pods.create({ apiVersion: "v1", kind: "Pod", ...shape.pod(i) } as KubeObject),
    );
    log(`${shape.name}: ${shape.pods} pods created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const list = await pods.list({ limit: 1 });
    const bound = new Set<string>();
    const samples: number[] = [];
    const watch = pods.watch({
      resourceVersion: list.metadata.resourceVersion,
      onEvent: (e) => {
        const o = e.object as { metadata: { name?: string }; spec?: { nodeName?: string } };
        if ((e.type === "MODIFIED" || e.type === "ADDED") && (o.spec?.nodeName ?? "") !== "")
          bound.add(o.metadata.name ?? "");
      },
    });
    const cpuBefore = {
      server: cpuSeconds(server.pid),
      hollow: hollow === undefined ? 0 : cpuSeconds(hollow.pid),
    };
    const metricsPort = await freePort();
    const start = performance.now();
    const sched = await startSkiff(
      "scheduler",
      [
        "--kubeconfig",
        kubeconfig,
        "--leader-elect=false",
        "--metrics-bind-address",
        `127.0.0.1:${metricsPort}`,
      ],
      log,
    );
    procs.push(sched);
    let last = bound.size;
    let lastProgress = performance.now();
    let firstBound: number | undefined;
    while (bound.size < shape.pods) {
      await sleep(1000);
      const now = performance.now();
      if (firstBound === undefined && bound.size > 0) firstBound = now;
      if (bound.size > last) lastProgress = now;
      if (firstBound !== undefined) samples.push(bound.size - last);
      last = bound.size;
      if (now - lastProgress > 30_000) {
        log(`${shape.name}: no progress for 30 s at ${bound.size} of ${shape.pods} bound; giving up`);
        break;
      }
    }
    const end = performance.now();
    watch.stop();
    const lat = await attemptLatency(`http://127.0.0.1:${metricsPort}/metrics`);
    const seconds = (end - start) / 1000;
    const sorted = samples.filter((s) => s > 0).sort((a, b) => a - b);
    return {
      shape: shape.name,
      nodeKind,
      nodes: shape.nodes,
      pods: shape.pods,
      bound: bound.size,
      seconds,
      podsPerSecond: bound.size / seconds,
      medianSamplePodsPerSecond: sorted[Math.floor(sorted.length / 2)] ?? 0,
      attemptP50ms: lat.p50ms,
      attemptP99ms: lat.p99ms,
      schedulerCpuSeconds: cpuSeconds(sched.pid),
      apiserverCpuSeconds: cpuSeconds(server.pid) - cpuBefore.server,
      hollowCpuSeconds: hollow === undefined ? 0 : cpuSeconds(hollow.pid) - cpuBefore.hollow,
      schedulerPeakRssMiB: peakRssMiB(sched.pid),
      hollowPeakRssMiB: hollow === undefined ? 0 : peakRssMiB(hollow.pid),
      target: shape.target,
    };
  } finally {
    await client?.close().catch(() => undefined);
    for (const p of procs.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface PlacementResult {
  placement: "embedded" | "process";
  nodes: number;
  pods: number;
  bound: number;
  seconds: number;
  podsPerSecond: number;
  cpuSeconds: number;
}

async function waitBound(
  pods: ResourceClient,
  fromRv: string,
  total: number,
  log: (l: string) => void,
): Promise<{ bound: number; stop(): void; done: Promise<void> }> {
  const bound = new Set<string>();
  const watch = pods.watch({
    resourceVersion: fromRv,
    onEvent: (e) => {
      const o = e.object as { metadata: { name?: string }; spec?: { nodeName?: string } };
      if ((e.type === "MODIFIED" || e.type === "ADDED") && (o.spec?.nodeName ?? "") !== "")
        bound.add(o.metadata.name ?? "");
    },
  });
  const done = (async () => {
    let last = 0;
    let lastProgress = performance.now();
    while (bound.size < total) {
      await sleep(200);
      if (bound.size > last) lastProgress = performance.now();
      last = bound.size;
      if (performance.now() - lastProgress > 30_000) {
        log(`no progress for 30 s at ${bound.size} of ${total} bound; giving up`);
        return;
      }
    }
  })();
  return {
    get bound() {
      return bound.size;
    },
    stop: () => watch.stop(),
    done,
  };
}

/**
 * Where `skiff server` runs the scheduler, measured: the same static cluster with the scheduler
 * inside the API server's process (the default) or as its own process, pods created by 64
 * clients while it schedules; the figure is create-to-bound for all of them, and the CPU of
 * the control-plane processes together.
 */
async function runPlacement(
  placement: "embedded" | "process",
  nodes: number,
  podCount: number,
  log: (l: string) => void,
): Promise<PlacementResult> {
  const dir = mkdtempSync(join(tmpdir(), "skiff-sched-place-"));
  const procs: SkiffProcess[] = [];
  let client: KubeClient | undefined;
  try {
    const kubeconfig = join(dir, "kubeconfig");
    const args = ["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"];
    const server = await startSkiff(
      "server",
      [
        "--disable-agent",
        ...(placement === "process" ? ["--disable-scheduler"] : []),
        ...args,
        "--write-kubeconfig",
        kubeconfig,
      ],
      log,
    );
    procs.push(server);
    if (placement === "process")
      procs.push(
        await startSkiff(
          "scheduler",
          ["--kubeconfig", kubeconfig, "--leader-elect=false", "--metrics-bind-address", ""],
          log,
        ),
      );
    client = new KubeClient(configFromKubeconfig(kubeconfig));
    const nodeClient = client.resource("v1", "nodes");
    await closedLoop(64, nodes, (i) => nodeClient.create(staticNode(i)));
    const pods = await benchNamespace(client);
    const list = await pods.list({ limit: 1 });
    const w = await waitBound(pods, list.metadata.resourceVersion, podCount, log);
    const cpu = () => procs.reduce((sum, p) => sum + cpuSeconds(p.pid), 0);
    const cpu0 = cpu();
    const t0 = performance.now();
    const basic = shapes(false)[0] as Shape;
    await closedLoop(64, podCount, (i) =>
      pods.create({ apiVersion: "v1", kind: "Pod", ...basic.pod(i) } as KubeObject),
    );
    await w.done;
    const seconds = (performance.now() - t0) / 1000;
    w.stop();
    return {
      placement,
      nodes,
      pods: podCount,
      bound: w.bound,
      seconds,
      podsPerSecond: w.bound / seconds,
      cpuSeconds: cpu() - cpu0,
    };
  } finally {
    await client?.close().catch(() => undefined);
    for (const p of procs.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function placementTable(rows: readonly PlacementResult[]): string {
  const lines = rows.map(
    (r) =>
      `| ${r.placement === "embedded" ? "inside skiff server" : "own process"} | ${r.nodes} | ${r.pods} | ${r.bound} | ${r.seconds.toFixed(1)} | ${r.podsPerSecond.toFixed(0)} | ${r.cpuSeconds.toFixed(1)} |`,
  );
  return [
    "| scheduler runs | static nodes | pods created while scheduling | bound | s | pods/s create to bound | control-plane CPU s |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...lines,
  ].join("\n");
}

function table(rows: readonly ShapeResult[]): string {
  const head =
    "| shape | nodes from | nodes | pods | bound | s | pods/s | median 1 s sample | attempt p50 ms | attempt p99 ms | CPU s scheduler / apiserver / hollow | target pods/s |";
  const sep = "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|";
  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "-");
  const lines = rows.map(
    (r) =>
      `| ${r.shape} | ${r.nodeKind} | ${r.nodes} | ${r.pods} | ${r.bound} | ${f(r.seconds)} | ${f(r.podsPerSecond, 0)} | ${r.medianSamplePodsPerSecond} | ${f(r.attemptP50ms, 2)} | ${f(r.attemptP99ms, 2)} | ${f(r.schedulerCpuSeconds)} / ${f(r.apiserverCpuSeconds)} / ${f(r.hollowCpuSeconds)} | ${r.target} ${r.podsPerSecond >= r.target ? "(met)" : "(missed)"} |`,
  );
  return [head, sep, ...lines].join("\n");
}

export const schedulerBenchmark: Benchmark = {
  name: "scheduler",
  summary:
    "scheduler_perf shapes (SchedulingBasic, PodTopologySpread, InterPodAntiAffinity), hollow and static nodes",
  async run(args) {
    const quick = args.includes("--quick");
    const jsonAt = args.indexOf("--json");
    const json = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
    const shapeAt = args.indexOf("--shape");
    const only = shapeAt >= 0 ? args[shapeAt + 1] : undefined;
    const log = (l: string) => process.stderr.write(`${l}\n`);
    const rows: ShapeResult[] = [];
    const kinds: ("hollow" | "static")[] = args.includes("--static-only")
      ? ["static"]
      : args.includes("--hollow-only")
        ? ["hollow"]
        : ["hollow", "static"];
    for (const s of shapes(quick)) {
      if (only !== undefined && s.name !== only) continue;
      for (const kind of kinds) {
        rows.push(await runShape(s, kind, log));
        process.stdout.write(`${table(rows.slice(-1))}\n`);
      }
    }
    const placements: PlacementResult[] = [];
    if (only === undefined || only === "Placement")
      for (const p of ["embedded", "process"] as const) {
        placements.push(await runPlacement(p, quick ? 100 : 1000, quick ? 500 : 5000, log));
        process.stdout.write(`${placementTable(placements.slice(-1))}\n`);
      }
    process.stdout.write(`\n${table(rows)}\n\n${placementTable(placements)}\n`);
    if (json !== undefined) writeFileSync(json, `${JSON.stringify({ shapes: rows, placements }, null, 2)}\n`);
    return rows.every((r) => r.bound === r.pods) && placements.every((p) => p.bound === p.pods) ? 0 : 1;
  },
};
