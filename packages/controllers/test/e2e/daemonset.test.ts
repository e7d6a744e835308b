/**
 * The DaemonSet controller against a real API server, the scheduler and 10 hollow nodes: a node
 * tainted NoSchedule gets no daemon pod (9 pods), a toleration in the template brings the 10th
 * through a rolling update with maxUnavailable 2 (a watcher checks that no more than 2 of the 9
 * nodes were ever without a ready pod), and a rolling update with maxSurge 1 replaces every pod
 * while each node always keeps a ready one.
 */
import type { Node, Pod } from "@skiff/api";
import { Informer } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { daemonSetControllerDescriptor } from "../../src/daemonset/daemon-controller.js";
import type { DaemonSet } from "../../src/daemonset/types.js";
import type { ControllerRevision } from "../../src/history/types.js";
import { isPodReady } from "../../src/util/pod.js";
import { startCluster } from "./cluster.js";

const c = await startCluster({ nodes: 10, controllers: [daemonSetControllerDescriptor] });
t.teardown(() => c.stop());
const NS = "ds-e2e";
await c.namespace(NS);
const dss = c.client.resource<DaemonSet>("apps/v1", "daemonsets", NS);
const pods = c.client.resource<Pod>("v1", "pods", NS);
const nodeNames = (await c.client.resource<Node>("v1", "nodes").list()).items
  .map((n) => n.metadata.name)
  .sort();
const tainted = nodeNames[0] as string;
const TAINT = { key: "dedicated", value: "db", effect: "NoSchedule" as const };
await c.client.resource<Node>("v1", "nodes").patch(tainted, { spec: { taints: [TAINT] } }, "strategic");

/**
 * Every pod of the namespace as a watch shows it, checking after each event how many of the
 * watched nodes have a ready pod that is not being deleted; the lowest count seen is kept.
 */
class ReadyNodesWatcher {
  private readonly informer: Informer<Pod>;
  private watched: ReadonlySet<string> = new Set();
  minReadyNodes = Number.POSITIVE_INFINITY;

  constructor() {
    const check = () => this.check();
    this.informer = new Informer<Pod>(c.client.resource<Pod>("v1", "pods", NS), {
      onAdd: check,
      onUpdate: check,
      onDelete: check,
    });
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.waitForSync();
  }

  /** From now on, count these nodes (the lowest count starts again). */
  watch(nodes: readonly string[]): void {
    this.watched = new Set(nodes);
    this.minReadyNodes = Number.POSITIVE_INFINITY;
    this.check();
  }

  readyNodes(): number {
    const ready = new Set<string>();
    for (const p of this.informer.list())
      if (p.metadata.deletionTimestamp === undefined && isPodReady(p) && p.spec.nodeName !== undefined)
        ready.add(p.spec.nodeName);
    return [...this.watched].filter((n) => ready.has(n)).length;
  }

  private check(): void {
    if (this.watched.size > 0) this.minReadyNodes = Math.min(this.minReadyNodes, this.readyNodes());
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }
}

const watcher = new ReadyNodesWatcher();
await watcher.start();
t.teardown(() => watcher.stop());

const newDS = (name: string): DaemonSet => ({
  apiVersion: "apps/v1",
  kind: "DaemonSet",
  metadata: { name, namespace: NS },
  spec: {
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "agent", image: "busybox:1" }] } as Pod["spec"],
    },
    updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 2 } },
  },
});

/** The live (not deleting) daemon pods. */
async function livePods(): Promise<Pod[]> {
  return (await pods.list({ labelSelector: "app=agent" })).items.filter(
    (p) => p.metadata.deletionTimestamp === undefined,
  );
}

/** Waits until the status says `desired` nodes run a ready pod of the current template, and the pods agree. */
async function waitRolledOut(desired: number, what: string): Promise<DaemonSet> {
  let ds: DaemonSet | undefined;
  await waitFor(
    async () => {
      ds = await dss.get("agent");
      const s = ds.status;
      const live = await livePods();
      return (
        s?.observedGeneration === ds.metadata.generation &&
        s?.desiredNumberScheduled === desired &&
        s.currentNumberScheduled === desired &&
        s.numberReady === desired &&
        s.updatedNumberScheduled === desired &&
        s.numberAvailable === desired &&
        (s.numberUnavailable ?? 0) === 0 &&
        s.numberMisscheduled === 0 &&
        live.length === desired &&
        live.every(isPodReady)
      );
    },
    { what, timeoutMs: 45_000 },
  );
  return ds as DaemonSet;
}

t.test("9 of 10 nodes get a daemon pod: the tainted one is skipped", async (t) => {
  const started = Date.now();
  await dss.create(newDS("agent"));
  const ds = await waitRolledOut(9, "9 ready daemon pods");
  t.comment(`9 ready in ${Date.now() - started} ms`);
  const live = await livePods();
  const onNodes = live.map((p) => p.spec.nodeName as string).sort();
  t.same(onNodes, nodeNames.slice(1), "one pod on each untainted node, none on the tainted one");
  for (const p of live) {
    t.match(p.metadata.ownerReferences, [{ kind: "DaemonSet", uid: ds.metadata.uid, controller: true }]);
    t.same(
      p.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
      [{ matchFields: [{ key: "metadata.name", operator: "In", values: [p.spec.nodeName] }] }],
      "bound through a required node affinity on its node's name",
    );
    t.match(p.spec.tolerations, [
      { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
      { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
    ]);
  }
});

t.test("a toleration in the template brings the 10th node, rolling at most 2 at a time", async (t) => {
  watcher.watch(nodeNames.slice(1));
  t.equal(watcher.minReadyNodes, 9);
  const before = (await livePods()).map((p) => p.metadata.labels?.["controller-revision-hash"]);
  await dss.patch(
    "agent",
    {
      spec: {
        template: {
          spec: { tolerations: [{ key: "dedicated", operator: "Equal", value: "db", effect: "NoSchedule" }] },
        },
      },
    },
    "strategic",
  );
  await waitRolledOut(10, "10 ready daemon pods of the new template");
  const live = await livePods();
  t.same(live.map((p) => p.spec.nodeName).sort(), nodeNames, "one pod on each of the 10 nodes");
  const hashes = new Set(live.map((p) => p.metadata.labels?.["controller-revision-hash"]));
  t.equal(hashes.size, 1, "all pods of one template");
  t.notOk(before.includes([...hashes][0]), "a new template hash");
  t.ok(
    watcher.minReadyNodes >= 7,
    `at most 2 of the 9 nodes without a ready pod (lowest: ${watcher.minReadyNodes})`,
  );
  t.ok(watcher.minReadyNodes < 9, "old pods were deleted before their replacements came");
  const revisions = await c.client.resource<ControllerRevision>("apps/v1", "controllerrevisions", NS).list();
  t.same(revisions.items.map((r) => r.revision).sort(), [1, 2], "one ControllerRevision per template");
});

t.test("maxSurge 1: every pod replaced while each node keeps a ready pod", async (t) => {
  await dss.patch(
    "agent",
    {
      spec: {
        updateStrategy: { rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: { metadata: { labels: { app: "agent", version: "2" } } },
      },
    },
    "strategic",
  );
  watcher.watch(nodeNames);
  await waitFor(async () => (await livePods()).every((p) => p.metadata.labels?.version === "2"), {
    what: "every pod of version 2",
    timeoutMs: 45_000,
  });
  await waitRolledOut(10, "10 ready pods of version 2");
  t.equal(watcher.minReadyNodes, 10, "no node was ever without a ready pod");
});
