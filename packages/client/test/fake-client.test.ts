/** The fake clientset: tracker semantics, recorded actions, reactors, and informers on it. */
import type { KubeObject } from "@skiff/api";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { ApiError, FakeClient, isConflict, isNotFound, SharedInformerFactory } from "../src/index.js";

const cm = (name: string, extra: Partial<KubeObject["metadata"]> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "ns", ...extra },
});

t.test("create, get, update and delete as the API server answers", async (t) => {
  const c = new FakeClient({ objects: [cm("seed")] });
  const cms = c.resource("v1", "configmaps", "ns");
  const made = await cms.create({ ...cm(""), metadata: { namespace: "ns", generateName: "x-" } });
  t.match(made.metadata.name, /^x-[0-9a-f]{5}$/);
  t.ok(made.metadata.uid);
  t.equal(made.metadata.generation, 1);
  await t.rejects(cms.create(cm("seed")), { status: 409, reason: "AlreadyExists" });
  const seed = await cms.get("seed");
  const stale = { ...seed, metadata: { ...seed.metadata, resourceVersion: "1" } };
  await cms.update({ ...seed, metadata: { ...seed.metadata, labels: { a: "b" } } });
  await cms.update(stale).then(
    () => t.fail("stale update accepted"),
    (e) => t.ok(isConflict(e)),
  );
  await cms.delete("seed");
  await cms.get("seed").then(
    () => t.fail("deleted object still there"),
    (e) => t.ok(isNotFound(e)),
  );
  t.same(
    c.writes().map((a) => a.verb),
    ["create", "create", "update", "update", "delete"],
  );
});

t.test("status is apart from the rest, and finalizers hold a delete", async (t) => {
  const c = new FakeClient();
  const deps = c.resource<KubeObject & { spec?: unknown; status?: unknown }>("apps/v1", "deployments", "ns");
  const d = await deps.create({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", namespace: "ns", finalizers: ["x/y"] },
    spec: { replicas: 1 },
    status: { replicas: 5 },
  });
  const s = await deps.updateStatus({ ...d, spec: { replicas: 9 }, status: { replicas: 2 } });
  t.same(s.spec, { replicas: 1 }, "a status update keeps the spec");
  t.same(s.status, { replicas: 2 });
  const u = await deps.update({ ...s, spec: { replicas: 3 }, status: { replicas: 7 } });
  t.same(u.status, { replicas: 2 }, "a main update keeps the status");
  t.equal(u.metadata.generation, 2, "a spec change bumps the generation");
  const held = await deps.delete("d", { propagationPolicy: "Foreground" });
  t.ok(held.metadata.deletionTimestamp);
  t.same(held.metadata.finalizers, ["x/y", "foregroundDeletion"]);
  await deps.patch("d", { metadata: { finalizers: null } }, "merge");
  await t.rejects(deps.get("d"), { status: 404 }, "removing the last finalizer deletes it");
});

t.test("strategic merge patches use the kind's merge keys and the uid precondition", async (t) => {
  const c = new FakeClient();
  const pods = c.resource("v1", "pods", "ns");
  const p = await pods.create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "p",
      namespace: "ns",
      ownerReferences: [{ apiVersion: "v1", kind: "X", name: "a", uid: "u1" }],
    },
  });
  const ref = { apiVersion: "v1", kind: "X", name: "b", uid: "u2" };
  const adopted = await pods.patch(
    "p",
    { metadata: { ownerReferences: [ref], uid: p.metadata.uid } },
    "strategic",
  );
  t.equal(adopted.metadata.ownerReferences?.length, 2, "merged by uid");
  const released = await pods.patch(
    "p",
    { metadata: { ownerReferences: [{ $patch: "delete", uid: "u1" }], uid: p.metadata.uid } },
    "strategic",
  );
  t.same(
    released.metadata.ownerReferences?.map((r) => r.uid),
    ["u2"],
  );
  await t.rejects(pods.patch("p", { metadata: { uid: "other" } }, "strategic"), { status: 422 });
});

t.test("reactors answer before the tracker", async (t) => {
  const c = new FakeClient();
  c.prependReactor("create", "pods", () => ({
    handled: true,
    error: new ApiError(403, { kind: "Status", reason: "Forbidden", message: "quota" }),
  }));
  await t.rejects(
    c.resource("v1", "pods", "ns").create({ apiVersion: "v1", kind: "Pod", metadata: { name: "p" } }),
    {
      status: 403,
    },
  );
  t.equal(c.actions.length, 1, "the refused action is still recorded");
  t.same(c.tracker.list("v1", "pods"), []);
});

t.test("informers list, watch and sync on the fake", async (t) => {
  const c = new FakeClient({ objects: [cm("a", { labels: { app: "x" } }), cm("b")] });
  const f = new SharedInformerFactory(c);
  const inf = f.informerFor("v1", "configmaps", { labelSelector: "app=x" });
  f.start();
  await f.waitForCacheSync();
  t.same(
    inf.list().map((o) => o.metadata.name),
    ["a"],
  );
  await c.resource("v1", "configmaps", "ns").create(cm("c", { labels: { app: "x" } }));
  await waitFor(() => inf.get("ns/c") !== undefined, { what: "the watch event", timeoutMs: 5000 });
  await c.resource("v1", "configmaps", "ns").delete("a");
  await waitFor(() => inf.get("ns/a") === undefined, { what: "the delete event", timeoutMs: 5000 });
  const meta = c.metadata("v1", "configmaps", "ns");
  const m = await meta.get("b");
  t.equal(m.kind, "PartialObjectMetadata");
  await f.shutdown();
});
