/**
 * The StatefulSet controller against a real API server, the scheduler and hollow nodes (with a
 * stand-in for the PersistentVolume binder: Skiff has none, and the scheduler only places pods
 * whose claims are bound). A watcher keeps the order of pod events: pod N is created only after
 * pod N-1 turned Ready; a scale down deletes the highest ordinal first and starts on the next
 * only once the previous is gone; claims come from the volumeClaimTemplates; a partitioned
 * rolling update replaces only the ordinals at or above the partition, highest first.
 */
import type { PersistentVolumeClaim, Pod } from "@skiff/api";
import { Informer, isAlreadyExists } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { statefulSetControllerDescriptor } from "../../src/statefulset/stateful-set.js";
import type { StatefulSet } from "../../src/statefulset/types.js";
import { isPodReady } from "../../src/util/pod.js";
import { startCluster } from "./cluster.js";

const c = await startCluster({ nodes: 3, controllers: [statefulSetControllerDescriptor] });
t.teardown(() => c.stop());
const NS = "sts-e2e";
await c.namespace(NS);
const sets = c.client.resource<StatefulSet>("apps/v1", "statefulsets", NS);
const pods = c.client.resource<Pod>("v1", "pods", NS);
const claims = c.client.resource<PersistentVolumeClaim>("v1", "persistentvolumeclaims", NS);

/** The PV controller's part, enough for the scheduler: a PersistentVolume for each new claim, bound. */
const binder = new Informer<PersistentVolumeClaim>(claims, {
  onAdd: (pvc) => void bind(pvc),
  onUpdate: (_old, pvc) => void bind(pvc),
});
async function bind(pvc: PersistentVolumeClaim): Promise<void> {
  if (pvc.spec?.volumeName !== undefined && pvc.spec.volumeName !== "") return;
  const name = `pv-${NS}-${pvc.metadata.name}`;
  try {
    await c.client.resource("v1", "persistentvolumes").create({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        hostPath: { path: `/srv/pv/${name}` },
        claimRef: { namespace: NS, name: pvc.metadata.name, uid: pvc.metadata.uid },
      },
    });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
  await claims.patch(pvc.metadata.name as string, { spec: { volumeName: name } }, "merge");
}
binder.start();
t.teardown(() => binder.stop());

/** Pod events in the order the watch delivers them. */
type PodEvent = {
  seq: number;
  kind: "created" | "ready" | "deleting" | "deleted";
  name: string;
  uid: string;
};
const events: PodEvent[] = [];
const readyUids = new Set<string>();
const deletingUids = new Set<string>();
const record = (kind: PodEvent["kind"], p: Pod) =>
  events.push({ seq: events.length, kind, name: p.metadata.name, uid: p.metadata.uid as string });
const observe = (p: Pod) => {
  const uid = p.metadata.uid as string;
  if (isPodReady(p) && !readyUids.has(uid)) {
    readyUids.add(uid);
    record("ready", p);
  }
  if (p.metadata.deletionTimestamp !== undefined && !deletingUids.has(uid)) {
    deletingUids.add(uid);
    record("deleting", p);
  }
};
const watcher = new Informer<Pod>(pods, {
  onAdd: (p) => {
    record("created", p);
    observe(p);
  },
  onUpdate: (_old, p) => observe(p),
  onDelete: (p) => record("deleted", p),
});
watcher.start();
await watcher.waitForSync();
t.teardown(() => watcher.stop());

const first = (kind: PodEvent["kind"], name: string, after = -1) =>
  events.find((e) => e.kind === kind && e.name === name && e.seq > after);

const newSet = (replicas: number): StatefulSet => ({
  apiVersion: "apps/v1",
  kind: "StatefulSet",
  metadata: { name: "web", namespace: NS },
  spec: {
    replicas,
    serviceName: "web",
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "c", image: "busybox:1" }] } as Pod["spec"],
    },
    volumeClaimTemplates: [
      {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "data" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
    ],
  },
});

const livePods = async () =>
  (await pods.list({ labelSelector: "app=web" })).items.filter(
    (p) => p.metadata.deletionTimestamp === undefined,
  );

async function waitSettled(replicas: number, what: string): Promise<StatefulSet> {
  let set: StatefulSet | undefined;
  await waitFor(
    async () => {
      set = await sets.get("web");
      const s = set.status;
      const live = await livePods();
      return (
        s?.observedGeneration === set.metadata.generation &&
        s?.replicas === replicas &&
        s.readyReplicas === replicas &&
        s.availableReplicas === replicas &&
        live.length === replicas &&
        live.every(isPodReady)
      );
    },
    { what, timeoutMs: 45_000 },
  );
  return set as StatefulSet;
}

t.test("ordered start: pod N is created only after pod N-1 is Ready, with its claim", async (t) => {
  await sets.create(newSet(3));
  const set = await waitSettled(3, "3 ready pods");
  for (let n = 1; n < 3; n++) {
    const created = first("created", `web-${n}`);
    const prevReady = first("ready", `web-${n - 1}`);
    t.ok(
      created !== undefined && prevReady !== undefined && created.seq > prevReady.seq,
      `web-${n} created after web-${n - 1} was Ready`,
    );
  }
  t.equal(events.filter((e) => e.kind === "created").length, 3, "no pod created twice");
  for (let n = 0; n < 3; n++) {
    const pod = await pods.get(`web-${n}`);
    t.equal(pod.spec.hostname, `web-${n}`);
    t.equal(pod.spec.subdomain, "web");
    t.match(pod.metadata.labels, {
      "statefulset.kubernetes.io/pod-name": `web-${n}`,
      "apps.kubernetes.io/pod-index": String(n),
      "controller-revision-hash": set.status?.updateRevision,
    });
    t.match(pod.spec.volumes, [{ name: "data", persistentVolumeClaim: { claimName: `data-web-${n}` } }]);
    const pvc = await claims.get(`data-web-${n}`);
    t.match(pvc.metadata.labels, { app: "web" });
    t.equal(pvc.spec?.volumeName, `pv-${NS}-data-web-${n}`, "bound by the stand-in binder");
  }
  t.equal(set.status?.currentRevision, set.status?.updateRevision);
});

t.test("scale down: highest ordinal first, the next only once the previous is gone", async (t) => {
  const from = events.length - 1;
  await sets.patch("web", { spec: { replicas: 1 } }, "merge");
  await waitSettled(1, "1 ready pod");
  const web2Gone = first("deleted", "web-2", from);
  const web1Deleting = first("deleting", "web-1", from) ?? first("deleted", "web-1", from);
  t.ok(
    web2Gone !== undefined && web1Deleting !== undefined && web1Deleting.seq > web2Gone.seq,
    "web-1 deleted after web-2 was gone",
  );
  t.same(
    (await livePods()).map((p) => p.metadata.name),
    ["web-0"],
  );
  const kept = (await claims.list()).items.map((p) => p.metadata.name).sort();
  t.same(kept, ["data-web-0", "data-web-1", "data-web-2"], "claims are retained (whenScaled: Retain)");
});

t.test("partitioned rolling update: only ordinals >= partition, highest first", async (t) => {
  await sets.patch("web", { spec: { replicas: 3 } }, "merge");
  const before = await waitSettled(3, "3 ready pods again");
  const oldRevision = before.status?.currentRevision;
  const from = events.length - 1;
  await sets.patch(
    "web",
    {
      spec: {
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1 } },
        template: { metadata: { labels: { app: "web", version: "2" } } },
      },
    },
    "strategic",
  );
  let set: StatefulSet | undefined;
  await waitFor(
    async () => {
      set = await waitSettled(3, "3 ready pods");
      return set.status?.updatedReplicas === 2 && set.status.currentReplicas === 1;
    },
    { what: "web-1 and web-2 updated, web-0 not", timeoutMs: 45_000 },
  );
  const newRevision = set?.status?.updateRevision;
  t.not(newRevision, oldRevision, "a new update revision");
  t.equal(set?.status?.currentRevision, oldRevision, "the current revision stays while the partition holds");
  const revisionOf = async (n: number) =>
    (await pods.get(`web-${n}`)).metadata.labels?.["controller-revision-hash"];
  t.equal(await revisionOf(0), oldRevision, "web-0 below the partition keeps the old template");
  t.equal(await revisionOf(1), newRevision);
  t.equal(await revisionOf(2), newRevision);
  const web2 = first("deleting", "web-2", from);
  const web1 = first("deleting", "web-1", from);
  t.ok(web2 !== undefined && web1 !== undefined && web1.seq > web2.seq, "web-2 replaced before web-1");
  t.notOk(first("deleting", "web-0", from), "web-0 untouched");

  await sets.patch("web", { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } }, "strategic");
  await waitFor(
    async () => {
      set = await waitSettled(3, "3 ready pods");
      return set.status?.currentRevision === newRevision && set.status?.updatedReplicas === 3;
    },
    { what: "the update complete: the update revision current", timeoutMs: 45_000 },
  );
  t.equal(await revisionOf(0), newRevision);
  t.equal(set?.status?.currentReplicas, 3);
});
