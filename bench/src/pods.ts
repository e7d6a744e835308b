/**
 * `pnpm bench pods [--json FILE]`: the kubelet's pod startup and deletion latency with real
 * containers, as Kubernetes' pod startup SLO measures it (creation to Running and Ready seen
 * through a watch, no image pull): `skiff server --disable-agent` plus one `skiff agent` process
 * (its own containerd, its node in a network namespace); 30 pods created at once, then 80 more
 * (110, the kubelet's default --max-pods). The agent's CPU seconds and resident memory are read
 * from /proc at 30 and at 110 pods (containerd, its shims and the container loggers are separate
 * processes and reported apart). No reference kubelet runs on this machine: the reference is the
 * Kubernetes SLO (startup p99 <= 5 s).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFromKubeconfig, KubeClient, type ResourceClient } from "@skiff/client";
import type { Benchmark } from "./registry.js";
import { sleep } from "./scheduler.js";
import { type SkiffProcess, startSkiff } from "./skiff-procs.js";
import { cpuSeconds } from "./store-procs.js";

type KubeObject = Parameters<ResourceClient["create"]>[0];

export interface PodsResult {
  startup30: { p50ms: number; p99ms: number; maxms: number };
  startup80: { p50ms: number; p99ms: number; maxms: number };
  deletion110: { p50ms: number; p99ms: number; maxms: number };
  agentCpuSecondsStart30: number;
  agentRssMiB30: number;
  agentRssMiB110: number;
  agentIdleCpuPercent110: number;
  helpersRssMiB110: number;
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? Number.NaN : Number(m[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** Every descendant of pid (children first found through /proc/<pid>/task/<tid>/children). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      let kids: number[] = [];
      try {
        kids = readFileSync(`/proc/${p}/task/${t}/children`, "utf8")
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .map(Number);
      } catch {}
      for (const k of kids) {
        out.push(k);
        queue.push(k);
      }
    }
  }
  return out;
}

function quantiles(ms: number[]): { p50ms: number; p99ms: number; maxms: number } {
  const s = [...ms].sort((a, b) => a - b);
  const q = (f: number) => s[Math.min(s.length - 1, Math.ceil(f * s.length) - 1)] ?? Number.NaN;
  return { p50ms: q(0.5), p99ms: q(0.99), maxms: s.at(-1) ?? Number.NaN };
}

function pod(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { bench: "pods" } },
    spec: {
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: "c",
          image: "skiff.local/busybox:latest",
          imagePullPolicy: "Never",
          // A shell that ends at once on SIGTERM, so deletion measures the kubelet, not a grace period.
          command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
        },
      ],
    },
  } as KubeObject;
}

const isReady = (o: KubeObject) =>
  ((o.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? []).some(
    (c) => c.type === "Ready" && c.status === "True",
  );

async function runPods(log: (l: string) => void): Promise<PodsResult> {
  const dir = mkdtempSync(join(tmpdir(), "skiff-pods-bench-"));
  const procs: SkiffProcess[] = [];
  let client: KubeClient | undefined;
  const nodeName = `bench${randomBytes(3).toString("hex")}`;
  try {
    const kubeconfig = join(dir, "kubeconfig");
    const data = join(dir, "data");
    procs.push(
      await startSkiff(
        "server",
        [
          "--disable-agent",
          ...["--data-dir", data, "--bind-address", "127.0.0.1", "--secure-port", "0"],
          ...["--write-kubeconfig", kubeconfig],
        ],
        log,
      ),
    );
    client = new KubeClient(configFromKubeconfig(kubeconfig));
    const server = /server:\s*"?([^"\s]+)/.exec(readFileSync(kubeconfig, "utf8"))?.[1] as string;
    const agent = await startSkiff(
      "agent",
      [
        ...["--server", server, "--token", readFileSync(join(data, "node-token"), "utf8").trim()],
        ...["--certificate-authority", join(data, "pki", "ca.crt")],
        ...["--node-name", nodeName, "--data-dir", join(dir, "agent"), "--port", "0", "--healthz-port", "0"],
        ...["--max-pods", "120", "--kube-proxy-arg", "healthz-bind-address=127.0.0.1:0"],
      ],
      log,
    );
    procs.push(agent);
    const nodes = client.resource("v1", "nodes");
    for (const deadline = Date.now() + 120_000; ; ) {
      const n = await nodes.get(nodeName).catch(() => undefined);
      if (n !== undefined && isReady(n)) break;
      if (Date.now() > deadline) throw new Error(`node ${nodeName} not Ready`);
      await sleep(250);
    }
    for (const deadline = Date.now() + 60_000; ; ) {
      const sa = await client
        .resource("v1", "serviceaccounts", "default")
        .get("default")
        .catch(() => undefined);
      if (sa !== undefined) break;
      if (Date.now() > deadline) throw new Error("no default ServiceAccount");
      await sleep(250);
    }
    const pods = client.resource("v1", "pods", "default");
    const created = new Map<string, number>();
    const readyAt = new Map<string, number>();
    const goneAt = new Map<string, number>();
    const start = await pods.list({ limit: 1 });
    const watch = pods.watch({
      resourceVersion: start.metadata.resourceVersion,
      onEvent: (e) => {
        const name = e.object.metadata?.name ?? "";
        if (e.type === "DELETED") goneAt.set(name, performance.now());
        else if (isReady(e.object) && !readyAt.has(name)) readyAt.set(name, performance.now());
      },
    });
    const createAll = async (names: string[]) => {
      await Promise.all(
        names.map(async (n) => {
          created.set(n, performance.now());
          await pods.create(pod(n));
        }),
      );
      for (const deadline = Date.now() + 300_000; names.some((n) => !readyAt.has(n)); ) {
        if (Date.now() > deadline)
          throw new Error(`only ${names.filter((n) => readyAt.has(n)).length} of ${names.length} pods ready`);
        await sleep(100);
      }
      return quantiles(names.map((n) => (readyAt.get(n) as number) - (created.get(n) as number)));
    };
    const first = Array.from({ length: 30 }, (_, i) => `p${i}`);
    const cpu0 = cpuSeconds(agent.pid);
    const startup30 = await createAll(first);
    const agentCpuSecondsStart30 = cpuSeconds(agent.pid) - cpu0;
    await sleep(2_000);
    const agentRssMiB30 = rssMiB(agent.pid);
    log(
      `pods: 30 ready, p50 ${startup30.p50ms.toFixed(0)} ms, p99 ${startup30.p99ms.toFixed(0)} ms; agent RSS ${agentRssMiB30.toFixed(0)} MiB`,
    );
    const more = Array.from({ length: 80 }, (_, i) => `q${i}`);
    const startup80 = await createAll(more);
    await sleep(5_000);
    const agentRssMiB110 = rssMiB(agent.pid);
    const idle0 = cpuSeconds(agent.pid);
    await sleep(30_000);
    const agentIdleCpuPercent110 = ((cpuSeconds(agent.pid) - idle0) / 30) * 100;
    // containerd (a child of the agent), its shims and the loggers: everything else the node runs.
    let helpersRssMiB110 = 0;
    for (const p of descendants(agent.pid)) helpersRssMiB110 += rssMiB(p);
    try {
      for (const line of execFileSync("ps", ["-eo", "pid,comm"], { encoding: "utf8" }).split("\n"))
        if (/containerd-shim/.test(line)) helpersRssMiB110 += rssMiB(Number(line.trim().split(/\s+/)[0]));
    } catch {}
    log(
      `pods: 110 ready; agent RSS ${agentRssMiB110.toFixed(0)} MiB, idle CPU ${agentIdleCpuPercent110.toFixed(1)}%`,
    );
    const all = [...first, ...more];
    const deleted = new Map<string, number>();
    await Promise.all(
      all.map(async (n) => {
        deleted.set(n, performance.now());
        await pods.delete(n);
      }),
    );
    for (const deadline = Date.now() + 300_000; all.some((n) => !goneAt.has(n)); ) {
      if (Date.now() > deadline) throw new Error(`only ${all.filter((n) => goneAt.has(n)).length} pods gone`);
      await sleep(100);
    }
    watch.stop();
    const deletion110 = quantiles(all.map((n) => (goneAt.get(n) as number) - (deleted.get(n) as number)));
    return {
      startup30,
      startup80,
      deletion110,
      agentCpuSecondsStart30,
      agentRssMiB30,
      agentRssMiB110,
      agentIdleCpuPercent110,
      helpersRssMiB110,
    };
  } finally {
    await client?.close().catch(() => undefined);
    for (const p of procs.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(r: PodsResult): string {
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "-");
  const met = (ok: boolean) => (ok ? "(met)" : "(missed)");
  return [
    "| measure | Skiff | target | Kubernetes SLO |",
    "| --- | --- | --- | --- |",
    `| startup, 30 pods at once: p50 / p99 / max ms | ${f(r.startup30.p50ms)} / ${f(r.startup30.p99ms)} / ${f(r.startup30.maxms)} ${met(r.startup30.p99ms <= 1000)} | p99 <= 1,000 | p99 <= 5,000 |`,
    `| startup, 80 more (to 110): p50 / p99 / max ms | ${f(r.startup80.p50ms)} / ${f(r.startup80.p99ms)} / ${f(r.startup80.maxms)} | - | p99 <= 5,000 |`,
    `| deletion to gone, 110 at once: p50 / p99 / max ms | ${f(r.deletion110.p50ms)} / ${f(r.deletion110.p99ms)} / ${f(r.deletion110.maxms)} | - | - |`,
    `| agent CPU s to start 30 pods | ${f(r.agentCpuSecondsStart30, 2)} | - | - |`,
    `| agent RSS MiB at 30 / 110 pods | ${f(r.agentRssMiB30)} / ${f(r.agentRssMiB110)} ${met(r.agentRssMiB110 <= 80)} | <= 80 at 110 | - |`,
    `| agent idle CPU at 110 pods | ${f(r.agentIdleCpuPercent110, 1)}% | - | - |`,
    `| containerd, shims and loggers RSS MiB at 110 pods | ${f(r.helpersRssMiB110)} | - | - |`,
  ].join("\n");
}

export const podsBenchmark: Benchmark = {
  name: "pods",
  summary: "kubelet pod startup/deletion latency with real containers; agent CPU and RSS at 30 and 110 pods",
  async run(args) {
    const jsonAt = args.indexOf("--json");
    const json = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
    const log = (l: string) => process.stderr.write(`${l}\n`);
    const r = await runPods(log);
    process.stdout.write(`\n${table(r)}\n`);
    if (json !== undefined) writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
    return 0;
  },
};
