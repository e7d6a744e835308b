/**
 * `skiff server` runs the scheduler in its own process by default: a pod created against it is
 * bound to a (plain) Node, the scheduler holds kube-system/kube-scheduler, and its metrics are on
 * the API server's /metrics. `--disable-scheduler` leaves pods Pending.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFromKubeconfig, KubeClient } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { defaultServiceAccount, serverReady, spawnServer, stopServer } from "./fixtures/server.js";

async function startServer(
  dir: string,
  extra: string[],
): Promise<{ child: ChildProcess; client: KubeClient }> {
  const child = spawnServer(dir, extra);
  await serverReady(child);
  return { child, client: new KubeClient(configFromKubeconfig(join(dir, "kubeconfig"))) };
}

const node = {
  apiVersion: "v1",
  kind: "Node",
  metadata: { name: "plain-node", labels: { "kubernetes.io/hostname": "plain-node" } },
  status: {
    allocatable: { cpu: "4", memory: "8Gi", pods: "110" },
    conditions: [{ type: "Ready", status: "True" }],
  },
};
const pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p" },
  spec: { containers: [{ name: "c", image: "busybox", resources: { requests: { cpu: "100m" } } }] },
};

t.test("skiff server schedules pods by default", { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-server-sched-"));
  const { child, client } = await startServer(dir, []);
  t.teardown(async () => {
    await client.close();
    await stopServer(child);
    rmSync(dir, { recursive: true, force: true });
  });
  await client.resource("v1", "nodes").create(node);
  await defaultServiceAccount(client);
  const pods = client.resource("v1", "pods", "default");
  await pods.create(pod);
  await waitFor(async () => ((await pods.get("p")).spec as { nodeName?: string }).nodeName === "plain-node", {
    what: "pod p bound to plain-node",
    timeoutMs: 60_000,
  });
  const lease = await client
    .resource("coordination.k8s.io/v1", "leases", "kube-system")
    .get("kube-scheduler");
  t.match(
    (lease.spec as { holderIdentity?: string }).holderIdentity,
    /_[0-9a-f]{12}$/,
    "the scheduler holds its Lease",
  );
  const metrics = await client.raw("GET", "/metrics");
  t.match(
    String(metrics.body),
    /scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} 1/,
  );
});

t.test("--disable-scheduler leaves pods Pending", { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-server-nosched-"));
  const { child, client } = await startServer(dir, ["--disable-scheduler"]);
  t.teardown(async () => {
    await client.close();
    await stopServer(child);
    rmSync(dir, { recursive: true, force: true });
  });
  await client.resource("v1", "nodes").create(node);
  await defaultServiceAccount(client);
  await client.resource("v1", "pods", "default").create(pod);
  const leases = await client.resource("coordination.k8s.io/v1", "leases", "kube-system").list();
  t.notOk(
    leases.items.some((l) => l.metadata.name === "kube-scheduler"),
    "no scheduler Lease",
  );
  t.equal(
    ((await client.resource("v1", "pods", "default").get("p")).spec as { nodeName?: string }).nodeName,
    undefined,
  );
});
