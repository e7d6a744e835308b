/**
 * Node failover end to end, on a real API server with the scheduler and 3 hollow nodes: one node's
 * heartbeats stop -> the node lifecycle controller turns it Ready=Unknown and taints it
 * unreachable -> the taint eviction controller deletes its pods once their 2 s toleration has
 * passed, while a pod with the default 300 s toleration (DefaultTolerationSeconds admission)
 * stays -> the Node is deleted -> the pod GC force-deletes that orphan. Node IPAM gives a bare
 * Node the first /24 of the cluster CIDR the hollow nodes do not hold. Short periods (grace 8 s)
 * keep it quick; the hollow nodes renew their Leases every 500 ms.
 */
import type { Node, Pod, Toleration } from "@skiff/api";
import type { CoreEvent } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { nodeIpamControllerDescriptor } from "../../src/nodeipam/descriptor.js";
import { nodeLifecycleControllerDescriptor } from "../../src/nodelifecycle/descriptor.js";
import { PodGCController } from "../../src/podgc/controller.js";
import { podGarbageCollectorControllerDescriptor } from "../../src/podgc/descriptor.js";
import { taintEvictionControllerDescriptor } from "../../src/tainteviction/descriptor.js";
import { startCluster } from "./cluster.js";

const c = await startCluster({
  nodes: 3,
  hollow: { leaseRenewIntervalMs: 500, zones: 1, podCidrBase: "10.244.0.0/16", nodeCidrMaskSize: 24 },
  config: {
    nodeMonitorPeriodMs: 500,
    nodeMonitorGracePeriodMs: 8_000,
    clusterCidr: "10.244.0.0/16",
    nodeCidrMaskSize: 24,
    allocateNodeCidrs: true,
  },
  controllers: [
    // kube's NewPodGCInternal periods, for tests: a pass every 500 ms, a 1 s quarantine.
    {
      ...podGarbageCollectorControllerDescriptor,
      init: (ctx) => new PodGCController(ctx, { gcCheckPeriodMs: 500, quarantineTimeMs: 1_000 }),
    },
    nodeIpamControllerDescriptor,
    nodeLifecycleControllerDescriptor,
    taintEvictionControllerDescriptor,
  ],
});
t.teardown(() => c.stop());
const NS = "failover";
await c.namespace(NS);
const pods = c.client.resource<Pod>("v1", "pods", NS);
const nodes = c.client.resource<Node>("v1", "nodes");
const hollow = c.hollow;
if (hollow === undefined) throw new Error("the cluster has no hollow nodes");
const [victim, healthy] = hollow.nodeNames as [string, string];

const short: Toleration[] = [
  { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 2 },
  { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 2 },
];

function newPod(name: string, node: string, tolerations?: Toleration[]): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS },
    spec: {
      containers: [{ name: "c", image: "busybox" }],
      nodeSelector: { "kubernetes.io/hostname": node },
      ...(tolerations === undefined ? {} : { tolerations }),
    },
  };
}

const exists = (name: string) =>
  pods.get(name).then(
    () => true,
    () => false,
  );
const ready = (n: Node) => n.status?.conditions?.find((x) => x.type === "Ready")?.status;
const hasTaint = (n: Node, key: string, effect: string) =>
  (n.spec?.taints ?? []).some((x) => x.key === key && x.effect === effect);

t.test(
  "a silent node turns Unknown, is tainted, and its pods are evicted after their toleration",
  async (t) => {
    await pods.create(newPod("quick-1", victim, short));
    await pods.create(newPod("quick-2", victim, short));
    await pods.create(newPod("patient", victim));
    await pods.create(newPod("elsewhere", healthy, short));
    await waitFor(
      async () => {
        const list = await pods.list();
        return list.items.length === 4 && list.items.every((p) => p.status?.phase === "Running");
      },
      { what: "4 pods running", timeoutMs: 30_000 },
    );
    const patient = await pods.get("patient");
    t.match(
      patient.spec.tolerations,
      [
        {
          key: "node.kubernetes.io/not-ready",
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: 300,
        },
        {
          key: "node.kubernetes.io/unreachable",
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: 300,
        },
      ],
      "DefaultTolerationSeconds",
    );
    t.equal(
      (await pods.get("quick-1")).spec.tolerations?.length,
      2,
      "a pod's own tolerations are kept as they are",
    );
    t.ok(
      (await nodes.list()).items.every((n) => ready(n) === "True"),
      "all nodes Ready",
    );

    const stopped = Date.now();
    hollow.pauseHeartbeats(victim);
    await waitFor(async () => ready(await nodes.get(victim)) === "Unknown", {
      what: `${victim} Ready=Unknown`,
      timeoutMs: 20_000,
    });
    t.comment(`Ready=Unknown ${Date.now() - stopped} ms after the heartbeats stopped`);
    const silent = await nodes.get(victim);
    for (const type of ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"])
      t.match(
        silent.status?.conditions?.find((x) => x.type === type),
        { status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status." },
        type,
      );
    await waitFor(
      async () => {
        const n = await nodes.get(victim);
        return (
          hasTaint(n, "node.kubernetes.io/unreachable", "NoExecute") &&
          hasTaint(n, "node.kubernetes.io/unreachable", "NoSchedule")
        );
      },
      { what: "unreachable NoExecute and NoSchedule taints", timeoutMs: 10_000 },
    );
    const tainted = Date.now();
    await waitFor(async () => !(await exists("quick-1")) && !(await exists("quick-2")), {
      what: "the 2 s pods evicted",
      timeoutMs: 15_000,
    });
    t.comment(`evicted ${Date.now() - tainted} ms after the taint was seen`);
    t.ok(await exists("patient"), "the 300 s pod stays");
    t.ok(await exists("elsewhere"), "the pod on a healthy node stays");
    t.equal(ready(await nodes.get(healthy)), "True");
    t.notOk(hasTaint(await nodes.get(healthy), "node.kubernetes.io/unreachable", "NoExecute"));
    const events = await c.client.resource<CoreEvent>("v1", "events", NS).list();
    const evictions = events.items.filter((e) => e.reason === "TaintManagerEviction").map((e) => e.message);
    t.ok(evictions.includes(`Marking for deletion Pod ${NS}/quick-1`), "TaintManagerEviction events");
  },
);

t.test("the pods of a deleted node are garbage collected", async (t) => {
  await nodes.delete(victim);
  await waitFor(async () => !(await exists("patient")), {
    what: "the orphan force-deleted",
    timeoutMs: 15_000,
  });
  t.ok(await exists("elsewhere"));
});

t.test("node IPAM gives a new Node a pod CIDR the hollow nodes do not hold", async (t) => {
  const held = new Set((await nodes.list()).items.map((n) => n.spec?.podCIDR));
  await nodes.create({ apiVersion: "v1", kind: "Node", metadata: { name: "bare" } });
  t.teardown(() => nodes.delete("bare").catch(() => undefined));
  let cidr: string | undefined;
  await waitFor(
    async () => {
      cidr = (await nodes.get("bare")).spec?.podCIDR;
      return cidr !== undefined;
    },
    { what: "a pod CIDR on the bare node", timeoutMs: 10_000 },
  );
  t.match(cidr, /^10\.244\.\d+\.0\/24$/);
  t.notOk(held.has(cidr), `${cidr} is not a hollow node's`);
  t.same((await nodes.get("bare")).spec?.podCIDRs, [cidr]);
});
