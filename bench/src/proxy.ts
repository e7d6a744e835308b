/**
 * `pnpm bench proxy [--services N] [--changes N] [--json FILE]`: kube-proxy's nftables mode at
 * 1,000 Services with 10 endpoints each, against a real `skiff server --disable-agent`: the time
 * of a full sync (its parts: building the Ruleset, rendering it, `nft -f` loading it) and the
 * CPU of `nft`, then the network programming latency (kube's
 * kubeproxy_network_programming_duration_seconds: from an EndpointSlice change, stamped with
 * its endpoints.kubernetes.io/last-change-trigger-time annotation, to `nft` having made it
 * live) for single changes spaced past --min-sync-period, as kube's scalability tests make
 * them. The Proxier runs in this process, its table in a network namespace made for the run
 * and removed after it. No kube-proxy runs on this machine: the references are the issue's
 * targets and the Kubernetes SLO (programming latency p99 <= 1 s in kube's scalability tests).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFromKubeconfig, KubeClient, type ResourceClient } from "@skiff/client";
import { silentLogger } from "@skiff/component-base";
import {
  buildRuleset,
  type EndpointSlice,
  Nft,
  Proxier,
  parseProxyFlags,
  renderFullSync,
  type Service,
  type SyncInfo,
} from "@skiff/proxy";
import type { Benchmark } from "./registry.js";
import { sleep } from "./scheduler.js";
import { type SkiffProcess, startSkiff } from "./skiff-procs.js";

type KubeObject = Parameters<ResourceClient["create"]>[0];

export interface ProxyResult {
  services: number;
  endpointsPerService: number;
  /** The Proxier's first (full) sync, from its caches: build + render + nft. */
  firstSyncMs: number;
  /** Full syncs made again from the same objects (median of 3): the parts and the whole. */
  fullSync: { buildMs: number; renderMs: number; nftMs: number; totalMs: number; rulesetKiB: number };
  /** CPU seconds of nft (and `ip netns exec`) per full sync. */
  nftCpuSecondsFull: number;
  programming: { changes: number; p50ms: number; p90ms: number; p99ms: number; maxms: number };
  /** CPU seconds of nft per partial sync, over the programming run. */
  nftCpuSecondsPartial: number;
}

const NODE = "bench-proxy-node";
const CLOCK_TICKS = 100;

/** CPU seconds of this process's waited-for children (and theirs): /proc/self/stat cutime+cstime. */
function childrenCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

/** CPU seconds of a live process and of its children that have exited (/proc/PID/stat). */
function treeCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : (s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number);
};
const median = (xs: number[]) => pct(xs, 50);

/** The i-th endpoint address: 10.244.0.0/16 and up, two per /24 skipped (network, gateway). */
function endpointIP(n: number): string {
  const v = (10 << 24) + (244 << 16) + n + 2;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
}

function service(i: number): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `svc-${i}`, namespace: "default" },
    spec: { ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }] },
  };
}

function slice(i: number, endpoints: number, ips: (j: number) => string): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: `svc-${i}-bench`,
      namespace: "default",
      labels: { "kubernetes.io/service-name": `svc-${i}` },
    },
    addressType: "IPv4",
    endpoints: Array.from({ length: endpoints }, (_, j) => ({
      addresses: [ips(j)],
      conditions: { ready: true },
      nodeName: NODE,
    })),
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  } as KubeObject;
}

async function inBatches<T>(items: T[], size: number, f: (t: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(f));
}

async function runProxy(
  o: { services: number; changes: number },
  log: (l: string) => void,
): Promise<ProxyResult> {
  const per = 10;
  const dir = mkdtempSync(join(tmpdir(), "skiff-proxy-bench-"));
  const netns = `skiff-bench-${randomBytes(3).toString("hex")}`;
  const procs: SkiffProcess[] = [];
  let client: KubeClient | undefined;
  let proxier: Proxier | undefined;
  let proxierNft: Nft | undefined;
  execFileSync("ip", ["netns", "add", netns]);
  try {
    execFileSync("ip", ["-n", netns, "link", "set", "lo", "up"]);
    const kubeconfig = join(dir, "kubeconfig");
    procs.push(
      await startSkiff(
        "server",
        [
          "--disable-agent",
          ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
          ...["--write-kubeconfig", kubeconfig],
        ],
        log,
      ),
    );
    client = new KubeClient(configFromKubeconfig(kubeconfig));
    const svcs = client.resource("v1", "services", "default");
    const slices = client.resource("discovery.k8s.io/v1", "endpointslices", "default");
    const idx = Array.from({ length: o.services }, (_, i) => i);
    log(`creating ${o.services} Services with ${per} endpoints each`);
    await inBatches(idx, 25, (i) => svcs.create(service(i)));
    await inBatches(idx, 25, (i) => slices.create(slice(i, per, (j) => endpointIP(i * per + j))));

    let onSynced: ((s: SyncInfo) => void) | undefined;
    const synced: SyncInfo[] = [];
    // The proxier's own nft: partial syncs go through its long-lived session, whose CPU is read
    // from /proc (children's CPU counts only processes that have exited).
    proxierNft = new Nft({ netns, logger: silentLogger });
    proxier = new Proxier({
      client,
      nodeName: NODE,
      netns,
      nft: proxierNft,
      config: { ...parseProxyFlags([]), healthzBindAddress: undefined },
      onSynced: (s) => {
        synced.push(s);
        onSynced?.(s);
      },
    });
    log("first sync (full)");
    const cpu0 = childrenCpuSeconds();
    await proxier.start();
    await proxier.ready;
    const firstSyncMs = (synced[0] as SyncInfo).durationMs;
    const firstCpu = childrenCpuSeconds() - cpu0;

    // The same full sync again, in its parts, from the objects the proxier saw.
    const services = (await svcs.listAll()).items as unknown as Service[];
    const endpointSlices = (await slices.listAll()).items as unknown as EndpointSlice[];
    const nft = new Nft({ netns, logger: silentLogger });
    const runs: ProxyResult["fullSync"][] = [];
    let nftCpu = firstCpu;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      const rs = buildRuleset({
        nodeName: NODE,
        services,
        endpointSlices,
        options: { table: "bench-full", masqueradeBit: 14 },
      });
      const t1 = performance.now();
      const text = renderFullSync(rs);
      const t2 = performance.now();
      const c0 = childrenCpuSeconds();
      await nft.load(text);
      nftCpu += childrenCpuSeconds() - c0;
      const t3 = performance.now();
      runs.push({
        buildMs: t1 - t0,
        renderMs: t2 - t1,
        nftMs: t3 - t2,
        totalMs: t3 - t0,
        rulesetKiB: Buffer.byteLength(text) / 1024,
      });
    }
    await nft.deleteTable("ip", "bench-full");
    const fullSync = {
      buildMs: median(runs.map((r) => r.buildMs)),
      renderMs: median(runs.map((r) => r.renderMs)),
      nftMs: median(runs.map((r) => r.nftMs)),
      totalMs: median(runs.map((r) => r.totalMs)),
      rulesetKiB: median(runs.map((r) => r.rulesetKiB)),
    };

    log(`network programming latency: ${o.changes} single EndpointSlice changes`);
    const latencies: number[] = [];
    const partialCpu0 = childrenCpuSeconds();
    const sessionPid0 = proxierNft.sessionPid;
    const sessionCpu0 = sessionPid0 === undefined ? 0 : treeCpuSeconds(sessionPid0);
    const syncsBefore = synced.length;
    let next = o.services * per;
    let lastIP = "";
    for (let k = 0; k < o.changes; k++) {
      const i = Math.floor(Math.random() * o.services);
      const cur = (await slices.get(`svc-${i}-bench`)) as KubeObject & {
        endpoints: Array<{ addresses: string[] }>;
      };
      lastIP = endpointIP(next++);
      (cur.endpoints[k % per] as { addresses: string[] }).addresses = [lastIP];
      const trigger = Date.now();
      cur.metadata.annotations = {
        ...cur.metadata.annotations,
        "endpoints.kubernetes.io/last-change-trigger-time": new Date(trigger).toISOString(),
      };
      const live = new Promise<SyncInfo>((resolve) => {
        onSynced = (s) => {
          if (s.triggerTimesMs.includes(trigger)) resolve(s);
        };
      });
      await slices.update(cur);
      const s = await Promise.race([
        live,
        sleep(30_000).then(() => {
          throw new Error(`change ${k}: not live within 30 s`);
        }),
      ]);
      latencies.push(s.liveAtMs - trigger);
      // kube's scalability tests space changes; past --min-sync-period each one syncs at once.
      await sleep(1100);
    }
    const partialSyncs = synced.length - syncsBefore;
    const sessionPid = proxierNft.sessionPid;
    const partialCpu =
      childrenCpuSeconds() -
      partialCpu0 +
      (sessionPid === undefined ? 0 : treeCpuSeconds(sessionPid) - sessionCpu0);
    const table = execFileSync("ip", ["netns", "exec", netns, "nft", "list", "table", "ip", "kube-proxy"], {
      encoding: "utf8",
      maxBuffer: 256 << 20,
    });
    if (!table.includes(lastIP)) throw new Error(`the last change (${lastIP}) is not in the live table`);
    return {
      services: o.services,
      endpointsPerService: per,
      firstSyncMs,
      fullSync,
      nftCpuSecondsFull: nftCpu / 4,
      programming: {
        changes: latencies.length,
        p50ms: pct(latencies, 50),
        p90ms: pct(latencies, 90),
        p99ms: pct(latencies, 99),
        maxms: Math.max(...latencies),
      },
      nftCpuSecondsPartial: partialSyncs === 0 ? Number.NaN : partialCpu / partialSyncs,
    };
  } finally {
    await proxier?.stop().catch(() => undefined);
    await proxierNft?.close();
    await client?.close().catch(() => undefined);
    for (const p of procs.reverse()) await p.stop();
    execFileSync("ip", ["netns", "delete", netns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(r: ProxyResult): string {
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "-");
  const met = (ok: boolean) => (ok ? "(met)" : "(missed)");
  const s = r.fullSync;
  return [
    `${r.services} Services x ${r.endpointsPerService} endpoints`,
    "",
    "| measure | Skiff | target | Kubernetes |",
    "| --- | --- | --- | --- |",
    `| first sync (full, from the caches) ms | ${f(r.firstSyncMs)} ${met(r.firstSyncMs <= 1000)} | <= 1,000 | - |`,
    `| full sync ms: build / render / nft -f / total | ${f(s.buildMs)} / ${f(s.renderMs)} / ${f(s.nftMs)} / ${f(s.totalMs)} ${met(s.totalMs <= 1000)} | <= 1,000 | - |`,
    `| ruleset text KiB | ${f(s.rulesetKiB)} | - | - |`,
    `| nft CPU s per full sync | ${f(r.nftCpuSecondsFull, 2)} | - | - |`,
    `| programming latency p50 / p90 / p99 / max ms (${r.programming.changes} changes) | ${f(r.programming.p50ms)} / ${f(r.programming.p90ms)} / ${f(r.programming.p99ms)} / ${f(r.programming.maxms)} ${met(r.programming.p99ms <= 100)} | p99 <= 100 | p99 <= 1,000 (scalability tests) |`,
    `| nft CPU s per partial sync | ${f(r.nftCpuSecondsPartial, 3)} | - | - |`,
  ].join("\n");
}

function intArg(args: readonly string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name}: a positive integer, not ${args[i + 1]}`);
  return v;
}

export const proxyBenchmark: Benchmark = {
  name: "proxy",
  summary:
    "kube-proxy (nftables): full sync and network programming latency at 1,000 Services x 10 endpoints",
  async run(args) {
    if (process.getuid?.() !== 0) {
      process.stderr.write("bench proxy: needs root (a network namespace and nft)\n");
      return 1;
    }
    const jsonAt = args.indexOf("--json");
    const json = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
    const log = (l: string) => process.stderr.write(`${l}\n`);
    const r = await runProxy(
      { services: intArg(args, "--services", 1000), changes: intArg(args, "--changes", 100) },
      log,
    );
    process.stdout.write(`\n${table(r)}\n`);
    if (json !== undefined) writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
    return 0;
  },
};
