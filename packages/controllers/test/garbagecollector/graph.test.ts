/**
 * The dependency graph (kube's graph_builder_test.go in spirit): events in, nodes and queued
 * work out. The graph builder is fed events by hand; no API calls are made.
 */
import type { KubeObject, OwnerReference } from "@skiff/api";
import { EventBroadcaster, FakeClient, FakeClock, SharedInformerFactory } from "@skiff/client";
import { silentLogger } from "@skiff/component-base";
import { Registry } from "prom-client";
import t from "tap";
import type { GraphNode } from "../../src/garbagecollector/graph.js";
import { GraphBuilder } from "../../src/garbagecollector/graph-builder.js";
import type { GraphEvent } from "../../src/garbagecollector/graph-changes.js";
import {
  getAlternateOwnerIdentity,
  partitionDependents,
  referencesDiffs,
} from "../../src/garbagecollector/references.js";
import { configMap, ref } from "./fixtures.js";

function builder() {
  const client = new FakeClient();
  const broadcaster = new EventBroadcaster({ client });
  const gb = new GraphBuilder({
    informers: new SharedInformerFactory(client),
    recorder: broadcaster.newRecorder({ component: "garbage-collector-controller" }),
    log: silentLogger,
    metrics: new Registry(),
    // Rate-limited requeues wait for this clock, which the tests never move.
    clock: new FakeClock(),
  });
  return { gb, client, broadcaster };
}

const gvkOf = (o: KubeObject) => ({ apiVersion: o.apiVersion, kind: o.kind });

async function feed(gb: GraphBuilder, type: GraphEvent["type"], obj: KubeObject, oldObj?: KubeObject) {
  gb.graphChanges.add({ type, virtual: false, obj, gvk: gvkOf(obj), ...(oldObj ? { oldObj } : {}) });
  await gb.drainGraphChanges();
}

/** Takes everything queued now (each item done at once). */
async function drain(q: GraphBuilder["attemptToDeleteQueue"]): Promise<GraphNode[]> {
  const out: GraphNode[] = [];
  while (q.len() > 0) {
    const n = (await q.get()) as GraphNode;
    q.done(n);
    out.push(n);
  }
  return out;
}

const names = (ns: GraphNode[]) => ns.map((n) => n.identity.name).sort();

t.test("a dependent's unknown owner becomes a virtual node queued for verification", async (t) => {
  const { gb } = builder();
  const owner = configMap("owner");
  const dep = configMap("dep", { owners: [ref(owner)] });
  await feed(gb, "add", dep);
  const virtual = gb.uidToNode.read(owner.metadata.uid as string);
  t.ok(virtual, "a node for the owner");
  t.equal(virtual?.isObserved(), false, "virtual");
  t.equal(virtual?.identity.namespace, "ns", "in the dependent's namespace");
  t.same(names(virtual?.getDependents() ?? []), ["dep"]);
  t.same(names(await drain(gb.attemptToDeleteQueue)), ["owner"], "the virtual owner is queued");

  await feed(gb, "add", owner);
  t.equal(gb.uidToNode.read(owner.metadata.uid as string)?.isObserved(), true, "observed once seen");
  t.same(names(await drain(gb.attemptToDeleteQueue)), [], "a matching observation queues nothing");
});

t.test("deleting an owner caches it as absent and queues its dependents", async (t) => {
  const { gb } = builder();
  const owner = configMap("owner");
  const deps = [configMap("a", { owners: [ref(owner)] }), configMap("b", { owners: [ref(owner)] })];
  await feed(gb, "add", owner);
  for (const d of deps) await feed(gb, "add", d);
  await drain(gb.attemptToDeleteQueue);
  await feed(gb, "delete", owner);
  t.equal(gb.uidToNode.read(owner.metadata.uid as string), undefined, "removed from the graph");
  t.ok(gb.absentOwnerCache.has({ ...ref(owner), namespace: "ns" }), "remembered as absent");
  t.same(names(await drain(gb.attemptToDeleteQueue)), ["a", "b"]);
  await feed(gb, "delete", deps[0] as KubeObject);
  t.equal(gb.uidToNode.read(deps[0]?.metadata.uid as string), undefined);
});

t.test("deletion transitions: orphan and foreground", async (t) => {
  const { gb } = builder();
  const orphaning = configMap("orphaning");
  await feed(gb, "add", orphaning);
  const marked = configMap("orphaning", { finalizers: ["orphan"], deleting: true });
  marked.metadata.uid = orphaning.metadata.uid;
  await feed(gb, "update", marked, orphaning);
  t.same(names(await drain(gb.attemptToOrphanQueue)), ["orphaning"], "orphan finalizer: attemptToOrphan");
  await feed(gb, "update", marked, marked);
  t.equal(gb.attemptToOrphanQueue.len(), 0, "only when the deletion starts");

  const fg = configMap("fg");
  const dep = configMap("fg-dep", { owners: [ref(fg, true)] });
  await feed(gb, "add", fg);
  await feed(gb, "add", dep);
  await drain(gb.attemptToDeleteQueue);
  const deleting = configMap("fg", { finalizers: ["foregroundDeletion"], deleting: true });
  deleting.metadata.uid = fg.metadata.uid;
  await feed(gb, "update", deleting, fg);
  const node = gb.uidToNode.read(fg.metadata.uid as string);
  t.equal(node?.isDeletingDependents(), true);
  t.equal(node?.isBeingDeleted(), true);
  t.same(names(await drain(gb.attemptToDeleteQueue)), ["fg", "fg-dep"], "the owner and its dependents");
  t.same(names(node?.blockingDependents() ?? []), ["fg-dep"]);

  // An object first seen already deleting in the foreground (the collector restarted).
  const late = configMap("late", { finalizers: ["foregroundDeletion"], deleting: true });
  await feed(gb, "add", late);
  t.equal(gb.uidToNode.read(late.metadata.uid as string)?.isDeletingDependents(), true);
  t.same(names(await drain(gb.attemptToDeleteQueue)), ["late"]);
});

t.test("a reference that stops blocking queues the owner waiting on it", async (t) => {
  const { gb } = builder();
  const owner = configMap("owner");
  const dep = configMap("dep", { owners: [ref(owner, true)] });
  await feed(gb, "add", owner);
  await feed(gb, "add", dep);
  await drain(gb.attemptToDeleteQueue);
  const unblocked = structuredClone(dep);
  unblocked.metadata.ownerReferences = [{ ...ref(owner), blockOwnerDeletion: false }];
  await feed(gb, "update", unblocked, dep);
  t.same(names(await drain(gb.attemptToDeleteQueue)), ["owner"]);
  const dropped = structuredClone(dep);
  dropped.metadata.ownerReferences = [];
  await feed(gb, "update", dropped, unblocked);
  t.same(names(gb.uidToNode.read(owner.metadata.uid as string)?.getDependents() ?? []), []);
});

t.test("an owner reference into another namespace: event and verification", async (t) => {
  const { gb, client, broadcaster } = builder();
  const owner = configMap("owner", { namespace: "a" });
  const dep = configMap("dep", { namespace: "b", owners: [ref(owner)] });
  await feed(gb, "add", owner);
  await feed(gb, "add", dep);
  t.same(names(await drain(gb.attemptToDeleteQueue)), ["dep"], "the dependent is checked");
  await broadcaster.flush();
  const events = client.tracker.list("v1", "events", "b");
  t.equal(events.length, 1);
  t.equal(events[0]?.reason, "OwnerRefInvalidNamespace");
  t.match(
    events[0]?.message,
    /^ownerRef \[v1\/ConfigMap, namespace: b, name: owner, uid: .+\] does not exist in namespace "b"$/,
  );
  t.equal(
    (events[0]?.source as { component?: string } | undefined)?.component,
    "garbage-collector-controller",
  );
  await broadcaster.shutdown();
});

t.test("a virtual owner named with other coordinates by another dependent", async (t) => {
  const { gb } = builder();
  const ownerUid = "shared-uid";
  const asConfigMap: OwnerReference = { apiVersion: "v1", kind: "ConfigMap", name: "o", uid: ownerUid };
  const asSecret: OwnerReference = { apiVersion: "v1", kind: "Secret", name: "o", uid: ownerUid };
  await feed(gb, "add", configMap("d1", { owners: [asConfigMap] }));
  await feed(gb, "add", configMap("d2", { owners: [asSecret] }));
  t.same(names(await drain(gb.attemptToDeleteQueue)), ["d2", "o"], "the mismatching dependent is checked");
  // A GET found no ConfigMap "o": a virtual delete of that identity.
  gb.enqueueVirtualDeleteEvent({ ...asConfigMap, namespace: "ns" });
  await gb.drainGraphChanges();
  const n = gb.uidToNode.read(ownerUid);
  t.ok(n, "the node stays: another identity is still possible");
  t.equal(n?.identity.kind, "Secret", "and is given the next identity to verify");
  t.ok(gb.absentOwnerCache.has({ ...asConfigMap, namespace: "ns" }), "the verified identity is absent");
  t.same(names(await drain(gb.attemptToDeleteQueue)), ["d1"], "its dependents are queued");
  t.equal(gb.attemptToDeleteQueue.waitingLen(), 1, "the replacement comes back rate-limited");
  gb.shutDown();
});

t.test("referencesDiffs, partitionDependents, getAlternateOwnerIdentity", async (t) => {
  const a: OwnerReference = { apiVersion: "v1", kind: "ConfigMap", name: "a", uid: "1" };
  const b: OwnerReference = { apiVersion: "v1", kind: "ConfigMap", name: "b", uid: "2" };
  const c: OwnerReference = { apiVersion: "v1", kind: "ConfigMap", name: "c", uid: "3" };
  const d = referencesDiffs([a, b], [{ ...b, blockOwnerDeletion: true }, c]);
  t.same(d.added, [c]);
  t.same(d.removed, [a]);
  t.same(d.changed, [{ oldRef: b, newRef: { ...b, blockOwnerDeletion: true } }]);

  const { gb } = builder();
  await feed(gb, "add", configMap("x", { owners: [a] }));
  await feed(gb, "add", configMap("y", { owners: [{ ...a, name: "renamed" }] }));
  await feed(gb, "add", configMap("z", { owners: [a], namespace: "other" }));
  const deps = gb.uidToNode.read("1")?.getDependents() ?? [];
  const p = partitionDependents(deps, { ...a, namespace: "ns" });
  t.same(names(p.matching), ["x"]);
  t.same(names(p.nonmatching), ["y", "z"]);
  const alt = getAlternateOwnerIdentity(deps, { ...a, namespace: "ns" });
  t.same(alt, { ...a, namespace: "ns", name: "renamed" }, "the first identity after the absent one");
  gb.shutDown();
});
