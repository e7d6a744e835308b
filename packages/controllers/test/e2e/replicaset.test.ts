/**
 * The ReplicaSet controller against a real API server, the scheduler and hollow nodes: a RS of 5
 * reaches 5 ready replicas, scales down to 2, replaces a deleted pod, and adopts a matching orphan
 * instead of creating a pod.
 */
import type { Pod } from "@skiff/api";
import type { CoreEvent } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { replicaSetControllerDescriptor } from "../../src/replicaset/descriptor.js";
import type { ReplicaSetController } from "../../src/replicaset/replica-set.js";
import type { ReplicaSet } from "../../src/replicaset/types.js";
import { resourceQuotaControllerDescriptor } from "../../src/resourcequota/descriptor.js";
import { startCluster } from "./cluster.js";

// The resource quota controller: a quota's raised spec.hard reaches status.hard, which admission reads.
const c = await startCluster({
  nodes: 2,
  controllers: [replicaSetControllerDescriptor, resourceQuotaControllerDescriptor],
});
t.teardown(() => c.stop());
const NS = "rs-e2e";
await c.namespace(NS);
const rss = c.client.resource<ReplicaSet>("apps/v1", "replicasets", NS);
const pods = c.client.resource<Pod>("v1", "pods", NS);

const template = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: "c", image: "busybox" }] } as Pod["spec"],
});

const newRS = (name: string, replicas: number): ReplicaSet => ({
  apiVersion: "apps/v1",
  kind: "ReplicaSet",
  metadata: { name, namespace: NS },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: template(name) },
});

/** The RS's live pods (not being deleted). */
async function livePods(app: string): Promise<Pod[]> {
  const list = await pods.list({ labelSelector: `app=${app}` });
  return list.items.filter((p) => p.metadata.deletionTimestamp === undefined);
}

async function waitForStatus(name: string, want: { replicas: number; ready: number }, what: string) {
  await waitFor(
    async () => {
      const rs = await rss.get(name);
      const live = await livePods(name);
      return (
        live.length === want.replicas &&
        rs.status?.replicas === want.replicas &&
        rs.status?.readyReplicas === want.ready &&
        rs.status?.observedGeneration === rs.metadata.generation
      );
    },
    { what, timeoutMs: 30_000 },
  );
}

t.test("an RS of 5 gets 5 ready replicas, scales to 2, and replaces a deleted pod", async (t) => {
  const started = Date.now();
  await rss.create(newRS("web", 5));
  await waitForStatus("web", { replicas: 5, ready: 5 }, "5 ready replicas");
  t.comment(`5 ready in ${Date.now() - started} ms`);
  const rs = await rss.get("web");
  t.equal(rs.status?.availableReplicas, 5);
  t.equal(rs.status?.fullyLabeledReplicas, 5);
  for (const p of await livePods("web"))
    t.match(p.metadata.ownerReferences, [{ kind: "ReplicaSet", uid: rs.metadata.uid, controller: true }]);

  await rss.patch("web", { spec: { replicas: 2 } }, "merge");
  await waitForStatus("web", { replicas: 2, ready: 2 }, "scaled down to 2");

  const [victim] = await livePods("web");
  await pods.delete(victim?.metadata.name as string);
  await waitFor(
    async () => {
      const live = await livePods("web");
      return live.length === 2 && !live.some((p) => p.metadata.name === victim?.metadata.name);
    },
    { what: "a replacement for the deleted pod", timeoutMs: 30_000 },
  );
  await waitForStatus("web", { replicas: 2, ready: 2 }, "2 ready again");
});

t.test("a matching orphan is adopted instead of a new pod being created", async (t) => {
  await pods.create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "orphan", namespace: NS, labels: { app: "adopter" } },
    spec: template("adopter").spec,
  } as Pod);
  // Running first: by then the controller's pod cache has surely seen it.
  await waitFor(async () => (await pods.get("orphan")).status?.phase === "Running", {
    what: "the orphan running",
    timeoutMs: 30_000,
  });
  const rs = await rss.create(newRS("adopter", 1));
  await waitFor(
    async () => (await pods.get("orphan")).metadata.ownerReferences?.some((r) => r.uid === rs.metadata.uid),
    { what: "the orphan adopted", timeoutMs: 30_000 },
  );
  await waitForStatus("adopter", { replicas: 1, ready: 1 }, "the adopted pod counted and ready");
  t.same(
    (await livePods("adopter")).map((p) => p.metadata.name),
    ["orphan"],
    "no pod created besides the orphan",
  );
});

t.test("pods the quota refuses: ReplicaFailure, FailedCreate events, retries with backoff", async (t) => {
  const ns = "rs-quota";
  await c.namespace(ns);
  const quotas = c.client.resource("v1", "resourcequotas", ns);
  await quotas.create({
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { name: "pods", namespace: ns },
    spec: { hard: { pods: "1" } },
  });
  const capped = c.client.resource<ReplicaSet>("apps/v1", "replicasets", ns);
  const rs = await capped.create({ ...newRS("capped", 3), metadata: { name: "capped", namespace: ns } });
  await waitFor(
    async () =>
      (await capped.get("capped")).status?.conditions?.some(
        (cond) => cond.type === "ReplicaFailure" && cond.reason === "FailedCreate",
      ) === true,
    { what: "the ReplicaFailure condition", timeoutMs: 30_000 },
  );
  const cond = (await capped.get("capped")).status?.conditions?.[0];
  t.match(cond?.message, /exceeded quota/);
  const controller = c.controllers.get("replicaset-controller") as ReplicaSetController;
  await waitFor(() => controller.queue.numRequeues(`${ns}/capped`) >= 2, {
    what: "the RS retried with backoff",
    timeoutMs: 30_000,
  });
  const events = c.client.resource<CoreEvent>("v1", "events", ns);
  await waitFor(
    async () =>
      (await events.list()).items.some(
        (e) =>
          e.reason === "FailedCreate" && e.type === "Warning" && e.involvedObject.uid === rs.metadata.uid,
      ),
    { what: "a FailedCreate event on the RS", timeoutMs: 30_000 },
  );
  const admitted = await c.client.resource<Pod>("v1", "pods", ns).list({ labelSelector: "app=capped" });
  t.equal(admitted.items.length, 1, "the one pod the quota has room for");

  // Room at last: the next sync (here forced by a change to the RS) fills it and clears the condition.
  const q = await quotas.get("pods");
  await quotas.update({ ...q, spec: { hard: { pods: "3" } } });
  await capped.patch("capped", { metadata: { annotations: { poke: "1" } } }, "merge");
  await waitFor(
    async () => {
      const cur = await capped.get("capped");
      return cur.status?.replicas === 3 && (cur.status.conditions ?? []).length === 0;
    },
    { what: "3 replicas and no ReplicaFailure", timeoutMs: 30_000 },
  );
});
