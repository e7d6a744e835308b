/**
 * The scheduler end to end: a real API server (in process, embedded store), six hollow nodes in
 * three zones (2 cpu each) that turn bound pods Running, and the scheduler component talking to
 * the API server over HTTPS. Spread over zones, pod affinity and anti-affinity, taints and
 * tolerations, preemption of a lower-priority pod, and the FailedScheduling text of a pod that
 * can never fit (which stays Pending while the scheduler goes on scheduling others).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeObject, Node, Pod } from "@skiff/api";
// Tests only: the scheduler talks to the API server through the client, never imports it.
import { startServer } from "@skiff/apiserver";
import { configFromKubeconfig, KubeClient } from "@skiff/client";
import { silentLogger } from "@skiff/component-base";
import { HollowNodes, hollowNodesOptions } from "@skiff/hollow-node";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { parseSchedulerConfig, SchedulerComponent } from "../../src/index.js";

const PREFIX = "e2e-";
const NODES = 6;
const NS = "sched-e2e";

const dir = mkdtempSync(join(tmpdir(), "skiff-sched-e2e-"));
const kubeconfig = join(dir, "admin.kubeconfig");
const server = await startServer(
  [
    ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
    ...["--write-kubeconfig", kubeconfig],
    // No controller manager here to make "default" ServiceAccounts: as kube's integration
    // tests, leave the ServiceAccount admission plugin out so pods need none.
    "--disable-admission-plugins=ServiceAccount",
  ],
  () => {},
  silentLogger,
);
const client = new KubeClient(configFromKubeconfig(kubeconfig));
const hollow = new HollowNodes(
  hollowNodesOptions({ kubeconfig, count: NODES, namePrefix: PREFIX, cpu: "2", memory: "8Gi", zones: 3 }),
  { log: silentLogger },
);
const scheduler = new SchedulerComponent({
  client: configFromKubeconfig(kubeconfig),
  config: parseSchedulerConfig(undefined),
  compareIntervalSeconds: 0,
  logger: silentLogger,
});
t.teardown(async () => {
  await scheduler.stop();
  await hollow.stop();
  await client.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const pods = client.resource<Pod>("v1", "pods", NS);
const nodes = client.resource<Node>("v1", "nodes");

await hollow.start();
await hollow.ready;
await client
  .resource("v1", "namespaces")
  .create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
await scheduler.start();
await scheduler.ready;

function pod(
  name: string,
  spec: Partial<Pod["spec"]> = {},
  labels: Record<string, string> = {},
  cpu = "100m",
): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS, labels },
    spec: {
      containers: [{ name: "c", image: "busybox", resources: { requests: { cpu, memory: "64Mi" } } }],
      ...spec,
    },
  };
}

async function boundNode(name: string, ms = 60_000): Promise<string> {
  let node = "";
  await waitFor(
    async () => {
      node = (await pods.get(name)).spec.nodeName ?? "";
      return node !== "";
    },
    { what: `pod ${name} bound`, timeoutMs: ms },
  );
  return node;
}

async function zoneOf(node: string): Promise<string> {
  return (await nodes.get(node)).metadata.labels?.["topology.kubernetes.io/zone"] ?? "";
}

async function events(podName: string, reason: string): Promise<string[]> {
  const list = await client
    .resource<KubeObject & { reason?: string; note?: string; regarding?: { name?: string } }>(
      "events.k8s.io/v1",
      "events",
      NS,
    )
    .list();
  return list.items
    .filter((e) => e.regarding?.name === podName && e.reason === reason)
    .map((e) => e.note ?? "");
}

t.test("pods spread evenly over the three zones (PodTopologySpread)", async (t) => {
  const constraint = {
    maxSkew: 1,
    topologyKey: "topology.kubernetes.io/zone",
    whenUnsatisfiable: "DoNotSchedule" as const,
    labelSelector: { matchLabels: { app: "spread" } },
  };
  for (let i = 0; i < 6; i++)
    await pods.create(pod(`spread-${i}`, { topologySpreadConstraints: [constraint] }, { app: "spread" }));
  const perZone = new Map<string, number>();
  for (let i = 0; i < 6; i++) {
    const z = await zoneOf(await boundNode(`spread-${i}`));
    perZone.set(z, (perZone.get(z) ?? 0) + 1);
  }
  t.same([...perZone.values()], [2, 2, 2], `two pods per zone: ${JSON.stringify([...perZone])}`);
  // Hollow nodes run what is bound: the pods become Running.
  await waitFor(async () => (await pods.get("spread-0")).status?.phase === "Running", {
    what: "spread-0 Running",
    timeoutMs: 30_000,
  });
});

t.test("required pod affinity joins a node; anti-affinity avoids it", async (t) => {
  await pods.create(pod("anchor", {}, { role: "db" }));
  const anchorNode = await boundNode("anchor");
  const term = { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { role: "db" } } };
  await pods.create(
    pod("follower", {
      affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } },
    }),
  );
  await pods.create(
    pod("loner", {
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } },
    }),
  );
  t.equal(await boundNode("follower"), anchorNode, "follower is on the anchor's node");
  t.not(await boundNode("loner"), anchorNode, "loner is elsewhere");
});

t.test("a NoSchedule taint keeps pods off unless they tolerate it", async (t) => {
  const target = `${PREFIX}0`;
  await nodes.patch(
    target,
    { spec: { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] } },
    "merge",
  );
  t.teardown(() => nodes.patch(target, { spec: { taints: null } }, "merge").then(() => undefined));
  const pinned = { nodeSelector: { "kubernetes.io/hostname": target } };
  await pods.create(pod("untolerated", pinned));
  await waitFor(async () => (await events("untolerated", "FailedScheduling")).length > 0, {
    what: "FailedScheduling for the untolerated pod",
    timeoutMs: 30_000,
  });
  const [msg] = await events("untolerated", "FailedScheduling");
  t.match(
    msg,
    /^0\/6 nodes are available: 1 node\(s\) had untolerated taint \{dedicated: gpu\}, 5 node\(s\) didn't match Pod's node affinity\/selector\. preemption: 0\/6 nodes are available: 6 Preemption is not helpful for scheduling\./,
  );
  await pods.create(
    pod("tolerated", {
      ...pinned,
      tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }],
    }),
  );
  t.equal(await boundNode("tolerated"), target);
  t.equal((await pods.get("untolerated")).spec.nodeName, undefined, "the untolerated pod stays Pending");
});

t.test("a higher-priority pod preempts a lower-priority one", async (t) => {
  const pcs = client.resource("scheduling.k8s.io/v1", "priorityclasses");
  await pcs.create({
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name: "e2e-low" },
    value: 100,
  });
  await pcs.create({
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name: "e2e-high" },
    value: 1000,
  });
  const target = `${PREFIX}1`;
  const pinned = { nodeSelector: { "kubernetes.io/hostname": target } };
  // 2 cpu per node; other tests may have put a few 100m pods here: 1500m + 1500m never fit together.
  await pods.create(pod("victim", { ...pinned, priorityClassName: "e2e-low" }, {}, "1500m"));
  t.equal(await boundNode("victim"), target);
  const victimUid = (await pods.get("victim")).metadata.uid;
  await pods.create(pod("preemptor", { ...pinned, priorityClassName: "e2e-high" }, {}, "1500m"));
  t.equal(await boundNode("preemptor", 90_000), target, "the preemptor runs where the victim was");
  const gone = await pods.get("victim").then(
    (p) => p.metadata.uid !== victimUid,
    () => true,
  );
  t.ok(gone, "the victim was deleted");
  t.ok((await events("preemptor", "Scheduled")).length === 1, "one Scheduled event for the preemptor");
});

t.test(
  "a pod that can never fit gets FailedScheduling and stays Pending; others still schedule",
  async (t) => {
    await pods.create(pod("huge", {}, {}, "100"));
    await waitFor(async () => (await events("huge", "FailedScheduling")).length > 0, {
      what: "FailedScheduling for huge",
      timeoutMs: 30_000,
    });
    const [msg] = await events("huge", "FailedScheduling");
    t.match(
      msg,
      /^0\/6 nodes are available: 6 Insufficient cpu\. preemption: 0\/6 nodes are available: 6 No preemption victims found for incoming pod\./,
    );
    await waitFor(
      async () =>
        (await pods.get("huge")).status?.conditions?.some(
          (c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable",
        ) === true,
      { what: "PodScheduled=False Unschedulable", timeoutMs: 30_000 },
    );
    await pods.create(pod("small"));
    t.not(await boundNode("small"), "", "the scheduler goes on");
    t.equal((await pods.get("huge")).spec.nodeName, undefined);
  },
);
