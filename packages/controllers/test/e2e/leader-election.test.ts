/**
 * Two controller managers on one Lease (kube-system/kube-controller-manager): only the leader
 * acts, and a hand-over in the middle of a scale-up creates no pod twice. The watcher below
 * counts every pod ever created for the ReplicaSet; the leader is stopped right after the scale
 * (it finishes its in-flight syncs, then releases the Lease), and the other one finishes the job.
 */
import type { KubeObject } from "@skiff/api";
import { configFromKubeconfig } from "@skiff/client";
import { silentLogger } from "@skiff/component-base";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import {
  ControllerManagerComponent,
  controllerDescriptors,
  defaultControllerManagerConfig,
} from "../../src/index.js";
import { startCluster } from "./cluster.js";

const NS = "le";
const c = await startCluster({ nodes: 3 });
t.teardown(() => c.stop());
await c.namespace(NS);

const manager = (identity: string) =>
  new ControllerManagerComponent({
    client: configFromKubeconfig(c.kubeconfig),
    controllers: ["replicaset-controller"],
    descriptors: controllerDescriptors,
    config: defaultControllerManagerConfig(),
    leaderElection: {
      leaseDurationMs: 8_000,
      renewDeadlineMs: 6_000,
      retryPeriodMs: 500,
      namespace: "kube-system",
      name: "kube-controller-manager",
      identity,
    },
    logger: silentLogger,
  });

t.test("a hand-over during a scale-up creates no pod twice", { timeout: 120_000 }, async (t) => {
  const a = manager("manager-a");
  const b = manager("manager-b");
  t.teardown(async () => {
    await a.stop();
    await b.stop();
  });
  await a.start();
  await waitFor(() => a.isLeader(), { what: "manager-a leads", timeoutMs: 20_000 });
  await b.start();

  const created = new Set<string>();
  const podsRc = c.client.resource("v1", "pods", NS);
  const w = podsRc.watch({
    resourceVersion: "0",
    onEvent: (e) => {
      if (e.type === "ADDED") created.add(e.object.metadata.uid as string);
    },
  });
  t.teardown(() => w.stop());

  const rs = c.client.resource("apps/v1", "replicasets", NS);
  const spec = (replicas: number) => ({
    replicas,
    selector: { matchLabels: { app: "le" } },
    template: {
      metadata: { labels: { app: "le" } },
      spec: { containers: [{ name: "c", image: "busybox", resources: { requests: { cpu: "10m" } } }] },
    },
  });
  await rs.create({
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "le" },
    spec: spec(10),
  } as KubeObject);
  const readyCount = async () =>
    ((await rs.get("le")) as { status?: { readyReplicas?: number } }).status?.readyReplicas ?? 0;
  await waitFor(async () => (await readyCount()) === 10, { what: "10 ready replicas", timeoutMs: 60_000 });
  t.notOk(b.isLeader(), "the second manager waits");

  await rs.patch("le", { spec: { replicas: 40 } }, "merge");
  await a.stop();
  await waitFor(() => b.isLeader(), { what: "manager-b takes over", timeoutMs: 20_000 });
  await waitFor(async () => (await readyCount()) === 40, { what: "40 ready replicas", timeoutMs: 60_000 });
  const lease = await c.client
    .resource("coordination.k8s.io/v1", "leases", "kube-system")
    .get("kube-controller-manager");
  t.equal((lease.spec as { holderIdentity?: string }).holderIdentity, "manager-b");
  const live = await podsRc.list();
  t.equal(live.items.length, 40, "40 pods exist");
  t.equal(created.size, 40, "and exactly 40 were ever created");
});
