/**
 * `pnpm bench density [--quick] [--json FILE]`: Kubernetes' density test shape against `skiff
 * server` (API server, scheduler and controller manager in one process, embedded store) and
 * `skiff hollow-nodes`: 100 nodes, 30 pods per node created through Deployments, timed from the
 * first create until every pod is Running and Ready (end-to-end pods/s through the Deployment
 * and ReplicaSet controllers, the scheduler and the nodes). Mutating API call latency (POST, PUT,
 * PATCH, DELETE) comes from the API server's own apiserver_request_duration_seconds histogram,
 * taken before and after, as the density test's APIResponsiveness; CPU seconds and peak RSS of
 * the server process are read from /proc. Then a namespace holding 1,000 objects of several
 * kinds is deleted and timed until it is gone.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFromKubeconfig, KubeClient, type ResourceClient } from "@skiff/client";
import type { Benchmark } from "./registry.js";
import { closedLoop, histogramQuantile, sleep } from "./scheduler.js";
import { type SkiffProcess, startSkiff } from "./skiff-procs.js";
import { cpuSeconds, peakRssMiB } from "./store-procs.js";

type KubeObject = Parameters<ResourceClient["create"]>[0];

export interface DensityResult {
  nodes: number;
  podsPerNode: number;
  deployments: number;
  pods: number;
  ready: number;
  seconds: number;
  podsPerSecond: number;
  mutatingCalls: number;
  mutatingP50ms: number;
  mutatingP99ms: number;
  /** The worst p99 of one (verb, route) with at least 100 calls. */
  worstRouteP99ms: number;
  worstRoute: string;
  serverCpuSeconds: number;
  serverPeakRssMiB: number;
  hollowCpuSeconds: number;
  namespaceObjects: number;
  namespaceDeleteSeconds: number;
}

type Buckets = Map<string, Map<number, number>>;

/** apiserver_request_duration_seconds buckets of mutating verbs, by "VERB route". */
async function mutatingBuckets(client: KubeClient): Promise<Buckets> {
  const res = await client.raw("GET", "/metrics");
  const text = typeof res.body === "string" ? res.body : Buffer.from(res.body as Uint8Array).toString();
  const out: Buckets = new Map();
  const re = /^apiserver_request_duration_seconds_bucket\{(.*)\} (\S+)$/gm;
  for (const m of text.matchAll(re)) {
    const labels = m[1] as string;
    const verb = /verb="([^"]+)"/.exec(labels)?.[1] ?? "";
    if (!["POST", "PUT", "PATCH", "DELETE"].includes(verb)) continue;
    const route = /route="([^"]*)"/.exec(labels)?.[1] ?? "";
    const le = /le="([^"]+)"/.exec(labels)?.[1] ?? "+Inf";
    const key = `${verb} ${route}`;
    let b = out.get(key);
    if (b === undefined) {
      b = new Map();
      out.set(key, b);
    }
    b.set(le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), Number(m[2]));
  }
  return out;
}

/** after - before, as sorted cumulative buckets; all routes summed under "". */
function diff(before: Buckets, after: Buckets): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  const total = new Map<number, number>();
  for (const [key, b] of after) {
    const prev = before.get(key);
    const rows: [number, number][] = [];
    for (const [le, n] of b) {
      const d = n - (prev?.get(le) ?? 0);
      rows.push([le, d]);
      total.set(le, (total.get(le) ?? 0) + d);
    }
    out.set(
      key,
      rows.sort((a, c) => a[0] - c[0]),
    );
  }
  out.set(
    "",
    [...total.entries()].sort((a, c) => a[0] - c[0]),
  );
  return out;
}

function deployment(name: string, replicas: number): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: "pause",
              image: "registry.k8s.io/pause:3.10",
              resources: { requests: { cpu: "10m", memory: "10Mi" } },
            },
          ],
        },
      },
    },
  } as KubeObject;
}

async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client
    .resource("v1", "namespaces")
    .create({ apiVersion: "v1", kind: "Namespace", metadata: { name } } as KubeObject);
  for (const deadline = Date.now() + 60_000; ; ) {
    try {
      await client.resource("v1", "serviceaccounts", name).get("default");
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}

const isReady = (o: KubeObject): boolean => {
  const st = (o as { status?: { phase?: string; conditions?: { type: string; status: string }[] } }).status;
  return (
    st?.phase === "Running" && (st.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")
  );
};

/** A namespace of `count` objects (ConfigMaps, Secrets, Services, pods), deleted and timed until gone. */
async function namespaceDeletion(
  client: KubeClient,
  count: number,
  log: (l: string) => void,
): Promise<number> {
  const ns = "density-delete";
  await createNamespace(client, ns);
  const kinds: [string, string, (i: number) => KubeObject][] = [
    [
      "v1",
      "configmaps",
      (i) =>
        ({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: `cm-${i}` },
          data: { k: "v" },
        }) as KubeObject,
    ],
    [
      "v1",
      "secrets",
      (i) =>
        ({
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: `s-${i}` },
          stringData: { k: "v" },
        }) as KubeObject,
    ],
    [
      "v1",
      "services",
      (i) =>
        ({
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: `svc-${i}` },
          spec: { selector: { app: `x${i}` }, ports: [{ port: 80 }] },
        }) as KubeObject,
    ],
    [
      "v1",
      "pods",
      (i) =>
        ({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: `pod-${i}` },
          spec: { containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] },
        }) as KubeObject,
    ],
  ];
  const shares = [0.4, 0.3, 0.2, 0.1];
  let made = 0;
  for (const [k, [apiVersion, resource, make]] of kinds.entries()) {
    const n = k === kinds.length - 1 ? count - made : Math.round(count * (shares[k] as number));
    const rc = client.resource(apiVersion, resource, ns);
    await closedLoop(32, n, (i) => rc.create(make(i)));
    made += n;
  }
  log(`density: namespace ${ns} holds ${made} objects; deleting it`);
  const t0 = performance.now();
  await client.resource("v1", "namespaces").delete(ns);
  for (const deadline = Date.now() + 300_000; ; ) {
    try {
      await client.resource("v1", "namespaces").get(ns);
    } catch {
      return (performance.now() - t0) / 1000;
    }
    if (Date.now() > deadline) throw new Error(`namespace ${ns} still there after 300 s`);
    await sleep(50);
  }
}

async function runDensity(quick: boolean, log: (l: string) => void): Promise<DensityResult> {
  const nodes = quick ? 10 : 100;
  const podsPerNode = 30;
  const deployments = 10;
  const pods = nodes * podsPerNode;
  const dir = mkdtempSync(join(tmpdir(), "skiff-density-bench-"));
  const procs: SkiffProcess[] = [];
  let client: KubeClient | undefined;
  try {
    const kubeconfig = join(dir, "kubeconfig");
    const server = await startSkiff(
      "server",
      [
        "--disable-agent",
        ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
        ...["--write-kubeconfig", kubeconfig],
      ],
      log,
    );
    procs.push(server);
    client = new KubeClient(configFromKubeconfig(kubeconfig));
    const hollow = await startSkiff(
      "hollow-nodes",
      ["--kubeconfig", kubeconfig, "--count", String(nodes)],
      log,
    );
    procs.push(hollow);
    for (const deadline = Date.now() + 600_000; ; ) {
      const list = await client.resource("v1", "nodes").listAll({ limit: 1000 });
      if (list.items.length >= nodes) break;
      if (Date.now() > deadline) throw new Error(`only ${list.items.length} of ${nodes} nodes registered`);
      await sleep(500);
    }
    const ns = "density";
    await createNamespace(client, ns);
    log(
      `density: ${nodes} nodes registered; creating ${deployments} Deployments of ${pods / deployments} pods`,
    );
    const podsRc = client.resource("v1", "pods", ns);
    const ready = new Set<string>();
    const start = await podsRc.list({ limit: 1 });
    const watch = podsRc.watch({
      resourceVersion: start.metadata.resourceVersion,
      onEvent: (e) => {
        const name = e.object.metadata?.name ?? "";
        if (e.type === "DELETED") ready.delete(name);
        else if (isReady(e.object)) ready.add(name);
        else ready.delete(name);
      },
    });
    const before = await mutatingBuckets(client);
    const cpu0 = { server: cpuSeconds(server.pid), hollow: cpuSeconds(hollow.pid) };
    const t0 = performance.now();
    const deploys = client.resource("apps/v1", "deployments", ns);
    for (let i = 0; i < deployments; i++)
      await deploys.create(deployment(`density-${i}`, pods / deployments));
    let last = 0;
    let lastProgress = performance.now();
    while (ready.size < pods) {
      await sleep(250);
      const now = performance.now();
      if (ready.size > last) {
        last = ready.size;
        lastProgress = now;
      }
      if (now - lastProgress > 60_000) {
        log(`density: no progress for 60 s at ${ready.size} of ${pods} ready; giving up`);
        break;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    watch.stop();
    const after = await mutatingBuckets(client);
    const serverCpu = cpuSeconds(server.pid) - cpu0.server;
    const hollowCpu = cpuSeconds(hollow.pid) - cpu0.hollow;
    const d = diff(before, after);
    const all = d.get("") ?? [];
    let worst = { route: "", p99: 0 };
    for (const [key, rows] of d) {
      if (key === "" || (rows.at(-1)?.[1] ?? 0) < 100) continue;
      const p99 = histogramQuantile(rows, 0.99);
      if (p99 > worst.p99) worst = { route: key, p99 };
    }
    log(`density: ${ready.size} of ${pods} pods ready in ${seconds.toFixed(1)} s`);
    const nsSeconds = await namespaceDeletion(client, 1000, log);
    log(`density: 1,000-object namespace deleted in ${nsSeconds.toFixed(2)} s`);
    return {
      nodes,
      podsPerNode,
      deployments,
      pods,
      ready: ready.size,
      seconds,
      podsPerSecond: ready.size / seconds,
      mutatingCalls: all.at(-1)?.[1] ?? 0,
      mutatingP50ms: histogramQuantile(all, 0.5) * 1000,
      mutatingP99ms: histogramQuantile(all, 0.99) * 1000,
      worstRouteP99ms: worst.p99 * 1000,
      worstRoute: worst.route,
      serverCpuSeconds: serverCpu,
      serverPeakRssMiB: peakRssMiB(server.pid),
      hollowCpuSeconds: hollowCpu,
      namespaceObjects: 1000,
      namespaceDeleteSeconds: nsSeconds,
    };
  } finally {
    await client?.close().catch(() => undefined);
    for (const p of procs.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(r: DensityResult): string {
  const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "-");
  const met = (ok: boolean) => (ok ? "(met)" : "(missed)");
  return [
    "| nodes | pods (Deployments) | ready | s | pods/s (target 300) | mutating calls | p50 / p99 ms (target p99 100) | worst route p99 ms | server CPU s / peak RSS MiB | hollow CPU s | 1,000-object namespace deleted s (target 10) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    `| ${r.nodes} | ${r.pods} (${r.deployments}) | ${r.ready} | ${f(r.seconds)} | ${f(r.podsPerSecond, 0)} ${met(r.podsPerSecond >= 300)} | ${r.mutatingCalls} | ${f(r.mutatingP50ms)} / ${f(r.mutatingP99ms)} ${met(r.mutatingP99ms <= 100)} | ${f(r.worstRouteP99ms)} (${r.worstRoute}) | ${f(r.serverCpuSeconds)} / ${f(r.serverPeakRssMiB, 0)} | ${f(r.hollowCpuSeconds)} | ${f(r.namespaceDeleteSeconds, 2)} ${met(r.namespaceDeleteSeconds <= 10)} |`,
  ].join("\n");
}

export const densityBenchmark: Benchmark = {
  name: "density",
  summary: "Kubernetes' density shape: 100 hollow nodes, 30 pods each through Deployments, end to end",
  async run(args) {
    const quick = args.includes("--quick");
    const jsonAt = args.indexOf("--json");
    const json = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
    const log = (l: string) => process.stderr.write(`${l}\n`);
    const r = await runDensity(quick, log);
    process.stdout.write(`\n${table(r)}\n`);
    if (json !== undefined) writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
    return r.ready === r.pods ? 0 : 1;
  },
};
