/**
 * Two `skiff scheduler` processes on one cluster (a real API server in process, hollow nodes):
 * one holds the kube-system/kube-scheduler Lease and schedules; kill -9 of the leader hands the
 * Lease to the other within the lease duration, which schedules the pods created since, and no
 * pod is bound twice (one Scheduled event each, every bind accepted once).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { KubeObject, Lease, Pod } from "@skiff/api";
import { startServer } from "@skiff/apiserver";
import { configFromKubeconfig, KubeClient } from "@skiff/client";
import { silentLogger } from "@skiff/component-base";
import { HollowNodes, hollowNodesOptions } from "@skiff/hollow-node";
import { freePort, waitFor } from "@skiff/testkit";
import t from "tap";

const schedulerMain = fileURLToPath(new URL("../fixtures/scheduler-main.ts", import.meta.url));
const NS = "le-e2e";
/** Short lease times so that the hand-over is quick; the flags are kube's. */
const LEASE = [
  "--leader-elect-lease-duration",
  "4s",
  "--leader-elect-renew-deadline",
  "3s",
  "--leader-elect-retry-period",
  "500ms",
];

const dir = mkdtempSync(join(tmpdir(), "skiff-sched-le-"));
const kubeconfig = join(dir, "admin.kubeconfig");
const server = await startServer(
  [
    ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
    "--write-kubeconfig",
    kubeconfig,
    // No controller manager here to make "default" ServiceAccounts: as kube's integration
    // tests, leave the ServiceAccount admission plugin out so pods need none.
    "--disable-admission-plugins=ServiceAccount",
  ],
  () => {},
  silentLogger,
);
const client = new KubeClient(configFromKubeconfig(kubeconfig));
const hollow = new HollowNodes(hollowNodesOptions({ kubeconfig, count: 3, namePrefix: "le-" }), {
  log: silentLogger,
});
const children: ChildProcess[] = [];
t.teardown(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await Promise.all(
    children.map((c) =>
      c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once("exit", r)),
    ),
  );
  await hollow.stop();
  await client.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});
await hollow.start();
await hollow.ready;
await client
  .resource("v1", "namespaces")
  .create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
const pods = client.resource<Pod>("v1", "pods", NS);

async function startScheduler(): Promise<{ child: ChildProcess; metrics: string }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      schedulerMain,
      "--kubeconfig",
      kubeconfig,
      "--metrics-bind-address",
      `127.0.0.1:${port}`,
      ...LEASE,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  child.stdout?.resume();
  child.stderr?.resume();
  return { child, metrics: `http://127.0.0.1:${port}/metrics` };
}

/** Whether this scheduler reports itself the leader (client-go's leader_election_master_status). */
async function leads(metrics: string): Promise<boolean> {
  try {
    const text = await (await fetch(metrics)).text();
    return /^leader_election_master_status\{[^}]*\} 1$/m.test(text);
  } catch {
    return false;
  }
}

const podOf = (name: string): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: NS },
  spec: { containers: [{ name: "c", image: "busybox", resources: { requests: { cpu: "10m" } } }] },
});

async function allBound(names: string[], ms: number): Promise<void> {
  await waitFor(
    async () => {
      const list = await pods.list();
      const bound = new Set(
        list.items.filter((p) => (p.spec.nodeName ?? "") !== "").map((p) => p.metadata.name),
      );
      return names.every((n) => bound.has(n));
    },
    { what: `${names.length} pods bound`, timeoutMs: ms },
  );
}

t.test(
  "kill -9 of the leading scheduler hands over within the lease; no pod is bound twice",
  { timeout: 240_000 },
  async (t) => {
    const a = await startScheduler();
    const b = await startScheduler();
    let leader: typeof a | undefined;
    let twoLeaders = false;
    await waitFor(
      async () => {
        const [la, lb] = await Promise.all([leads(a.metrics), leads(b.metrics)]);
        if (la && lb) twoLeaders = true;
        leader = la ? a : lb ? b : undefined;
        return leader !== undefined;
      },
      { what: "one scheduler leads", timeoutMs: 90_000 },
    );
    t.notOk(twoLeaders, "never two leaders at once");
    const standby = leader === a ? b : a;
    const first = Array.from({ length: 10 }, (_, i) => `before-${i}`);
    for (const n of first) await pods.create(podOf(n));
    await allBound(first, 60_000);
    const lease = await client
      .resource<Lease>("coordination.k8s.io/v1", "leases", "kube-system")
      .get("kube-scheduler");
    const holderBefore = lease.spec?.holderIdentity;

    leader?.child.kill("SIGKILL");
    const killedAt = Date.now();
    const second = Array.from({ length: 10 }, (_, i) => `after-${i}`);
    for (const n of second) await pods.create(podOf(n));
    await waitFor(() => leads(standby.metrics), { what: "the standby leads", timeoutMs: 60_000 });
    const tookOver = Date.now() - killedAt;
    t.ok(
      tookOver < 4_000 + 3_000 + 10_000,
      `took over after ${tookOver} ms (lease 4 s, retry 0.5 s with jitter)`,
    );
    await allBound(second, 60_000);
    const after = await client
      .resource<Lease>("coordination.k8s.io/v1", "leases", "kube-system")
      .get("kube-scheduler");
    t.not(after.spec?.holderIdentity, holderBefore, "the Lease changed hands");
    t.ok((after.spec?.leaseTransitions ?? 0) >= 1, "leaseTransitions counted");

    const events = await client
      .resource<KubeObject & { reason?: string; regarding?: { name?: string } }>(
        "events.k8s.io/v1",
        "events",
        NS,
      )
      .list();
    const scheduled = new Map<string, number>();
    for (const e of events.items)
      if (e.reason === "Scheduled")
        scheduled.set(e.regarding?.name ?? "", (scheduled.get(e.regarding?.name ?? "") ?? 0) + 1);
    for (const n of [...first, ...second]) t.ok((scheduled.get(n) ?? 0) <= 1, `${n} was bound at most once`);
    t.equal(standby.child.exitCode, null, "the new leader keeps running");
  },
);
