/**
 * The collector on a FakeClient (client-go's style): monitors from discovery, then the workers'
 * API calls for each propagation case, asserted on the recorded actions and the tracker's state.
 */
import type { KubeObject } from "@skiff/api";
import { ApiError, type FakeAction, isNotFound } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { configMap, type Harness, harness, ref, StaticDiscovery } from "./fixtures.js";

const deletes = (h: Harness) => h.client.actions.filter((a) => a.verb === "delete");
const patches = (h: Harness) => h.client.actions.filter((a) => a.verb === "patch");
const exists = (h: Harness, res: string, name: string, ns = "ns", apiVersion = "v1") => {
  try {
    return h.client.tracker.get(apiVersion, res, ns, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
};
const status = (code: number, reason: string) =>
  new ApiError(code, { kind: "Status", apiVersion: "v1", status: "Failure", reason, code, message: reason });

t.test("monitors: every preferred deletable resource but events", async (t) => {
  const h = await harness();
  t.teardown(() => h.stop());
  t.same(h.gc.graphBuilder.monitoredResources().sort(), [
    "apps/v1/deployments",
    "apps/v1/replicasets",
    "v1/configmaps",
    "v1/namespaces",
    "v1/persistentvolumes",
    "v1/pods",
    "v1/secrets",
  ]);
  t.equal(h.gc.isSynced(), true);
  const informerKeys = await h.ctx.informers.waitForCacheSync();
  t.ok(informerKeys["v1/configmaps?metadataOnly=true"], "metadata-only informers");
  t.ok(
    h.client.actions.every((a) => a.verb === "list" || a.verb === "watch"),
    "a sync only lists and watches",
  );
});

t.test("rediscovery adds monitors for new resources (a custom resource)", async (t) => {
  const discovery = new StaticDiscovery();
  const h = await harness([], discovery);
  t.teardown(() => h.stop());
  const crontab: KubeObject = {
    apiVersion: "stable.example.com/v1",
    kind: "CronTab",
    metadata: {
      name: "orphaned-crontab",
      namespace: "ns",
      uid: "ct-1",
      ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "gone", uid: "never-existed" }],
    },
  };
  h.client.tracker.add(crontab, "crontabs");
  await h.settle();
  t.ok(exists(h, "crontabs", "orphaned-crontab", "ns", "stable.example.com/v1"), "unknown until discovered");

  discovery.lists.push({
    groupVersion: "stable.example.com/v1",
    resources: [
      { name: "crontabs", kind: "CronTab", namespaced: true, verbs: ["delete", "get", "list", "watch"] },
    ],
  });
  await h.gc.sync();
  t.ok(h.gc.graphBuilder.monitoredResources().includes("stable.example.com/v1/crontabs"));
  await h.settle();
  t.equal(exists(h, "crontabs", "orphaned-crontab", "ns", "stable.example.com/v1"), undefined, "collected");
  const d = deletes(h).find((a) => a.resource === "crontabs");
  t.equal(d?.deleteOptions?.propagationPolicy, "Background");

  // A group that fails discovery keeps its synced monitors; one that goes away loses them.
  discovery.failed.set("stable.example.com/v1", new Error("unavailable"));
  discovery.lists = discovery.lists.filter((l) => l.groupVersion !== "stable.example.com/v1");
  await h.gc.sync();
  t.ok(h.gc.graphBuilder.monitoredResources().includes("stable.example.com/v1/crontabs"), "kept on failure");
  discovery.failed.clear();
  await h.gc.sync();
  t.notOk(h.gc.graphBuilder.monitoredResources().includes("stable.example.com/v1/crontabs"), "dropped");
});

t.test("a failed discovery counts a sync error and keeps the monitors", async (t) => {
  const discovery = new StaticDiscovery();
  const h = await harness([], discovery);
  t.teardown(() => h.stop());
  discovery.error = new Error("connection refused");
  await h.gc.sync();
  const metric = await h.ctx.metrics.getSingleMetricAsString(
    "garbagecollector_controller_resources_sync_error_total",
  );
  t.match(metric, /garbagecollector_controller_resources_sync_error_total 1/);
  t.equal(h.gc.graphBuilder.monitoredResources().length, 7);
});

t.test("background: dependents of an absent owner are deleted, with preconditions", async (t) => {
  const owner = configMap("owner");
  const dep = configMap("dep", { owners: [ref(owner)] });
  const h = await harness([dep]);
  t.teardown(() => h.stop());
  await h.settle();
  t.equal(exists(h, "configmaps", "dep"), undefined);
  const d = deletes(h);
  t.equal(d.length, 1);
  t.same(d[0]?.deleteOptions, {
    preconditions: { uid: dep.metadata.uid, resourceVersion: dep.metadata.resourceVersion ?? "1" },
    propagationPolicy: "Background",
  });
  t.equal(h.gc.graphHasUID(owner.metadata.uid as string), false, "the virtual owner is gone");
  t.equal(h.gc.graphHasUID(dep.metadata.uid as string), false, "and so is the dependent");
});

t.test("a chain of three collapses once its head is deleted", async (t) => {
  const a = configMap("a");
  const b = configMap("b", { owners: [ref(a)] });
  const c = configMap("c", { owners: [ref(b)] });
  const h = await harness([a, b, c]);
  t.teardown(() => h.stop());
  await h.settle();
  t.equal(deletes(h).length, 0, "nothing to collect while the head exists");
  await h.client.resource("v1", "configmaps", "ns").delete("a");
  await h.settle();
  t.equal(exists(h, "configmaps", "b"), undefined);
  t.equal(exists(h, "configmaps", "c"), undefined);
  t.same(
    deletes(h).map((x) => x.name),
    ["a", "b", "c"],
  );
});

t.test("a solid owner keeps the dependent: dangling references are patched out", async (t) => {
  const owner = configMap("owner");
  const dep = configMap("dep", {
    owners: [ref(owner), { apiVersion: "v1", kind: "ConfigMap", name: "ghost", uid: "ghost-uid" }],
  });
  const h = await harness([owner, dep]);
  t.teardown(() => h.stop());
  await h.settle();
  const p = patches(h);
  t.equal(p.length, 1);
  t.equal(p[0]?.patchType, "strategic");
  t.same(p[0]?.patch, {
    metadata: { ownerReferences: [{ $patch: "delete", uid: "ghost-uid" }], uid: dep.metadata.uid },
  });
  t.same(
    exists(h, "configmaps", "dep")?.metadata.ownerReferences?.map((r) => r.uid),
    [owner.metadata.uid],
  );
  t.equal(deletes(h).length, 0);
});

t.test("a server refusing strategic merge patch gets a JSON merge patch", async (t) => {
  const owner = configMap("owner");
  const dep = configMap("dep", {
    owners: [ref(owner), { apiVersion: "v1", kind: "ConfigMap", name: "ghost", uid: "ghost-uid" }],
  });
  const h = await harness([owner, dep]);
  t.teardown(() => h.stop());
  h.client.prependReactor("patch", "configmaps", (a: FakeAction) =>
    a.patchType === "strategic" ? { handled: true, error: status(415, "UnsupportedMediaType") } : undefined,
  );
  await h.settle();
  const merge = patches(h).find((a) => a.patchType === "merge");
  const body = merge?.patch as
    | { metadata?: { ownerReferences?: unknown; resourceVersion?: unknown } }
    | undefined;
  t.same(body?.metadata?.ownerReferences, [ref(owner)], "the live references less the dangling one");
  t.type(body?.metadata?.resourceVersion, "string", "conditional on the version read");
  t.same(
    exists(h, "configmaps", "dep")?.metadata.ownerReferences?.map((r) => r.uid),
    [owner.metadata.uid],
  );
});

t.test("foreground: dependents go first, then the owner's finalizer", async (t) => {
  const owner = configMap("owner");
  const dep = configMap("dep", { owners: [ref(owner, true)] });
  const held = configMap("held", { owners: [ref(owner, true)], finalizers: ["example.com/hold"] });
  const loose = configMap("loose", { owners: [ref(owner)] });
  const h = await harness([owner, dep, held, loose]);
  t.teardown(() => h.stop());
  await h.settle();
  h.client.clearActions();
  await h.client.resource("v1", "configmaps", "ns").delete("owner", { propagationPolicy: "Foreground" });
  await h.settle();
  t.equal(exists(h, "configmaps", "dep"), undefined, "a blocking dependent is deleted");
  t.equal(exists(h, "configmaps", "loose"), undefined, "a non-blocking one too");
  t.ok(exists(h, "configmaps", "held")?.metadata.deletionTimestamp, "a held one is marked");
  t.same(exists(h, "configmaps", "owner")?.metadata.finalizers, ["foregroundDeletion"], "the owner waits");
  t.same(
    deletes(h)
      .map((a) => [a.name, a.deleteOptions?.propagationPolicy])
      .sort(),
    [
      ["dep", "Background"],
      ["held", "Background"],
      ["loose", "Background"],
      ["owner", "Foreground"],
    ],
  );
  const released = exists(h, "configmaps", "held") as KubeObject;
  released.metadata.finalizers = [];
  h.client.tracker.update("v1", "configmaps", "ns", released);
  await h.settle();
  t.equal(exists(h, "configmaps", "owner"), undefined, "the owner goes once no blocking dependent is left");
  const fin = patches(h).find((a) => a.name === "owner");
  t.equal(fin?.patchType, "merge");
  t.same((fin?.patch as { metadata?: { finalizers?: string[] } } | undefined)?.metadata?.finalizers, []);
});

t.test("foreground through a chain: a dependent with dependents is deleted in the foreground", async (t) => {
  const a = configMap("a");
  const b = configMap("b", { owners: [ref(a, true)] });
  const c = configMap("c", { owners: [ref(b, true)] });
  const h = await harness([a, b, c]);
  t.teardown(() => h.stop());
  await h.settle();
  await h.client.resource("v1", "configmaps", "ns").delete("a", { propagationPolicy: "Foreground" });
  await h.settle();
  t.same(
    deletes(h).map((x) => [x.name, x.deleteOptions?.propagationPolicy]),
    [
      ["a", "Foreground"],
      ["b", "Foreground"],
      ["c", "Background"],
    ],
  );
  for (const n of ["a", "b", "c"]) t.equal(exists(h, "configmaps", n), undefined, `${n} is gone`);
});

t.test("orphan: references removed from every dependent, then the finalizer", async (t) => {
  const owner = configMap("owner");
  const other = configMap("other");
  const d1 = configMap("d1", { owners: [ref(owner, true), ref(other)] });
  const d2 = configMap("d2", { owners: [ref(owner)] });
  const h = await harness([owner, other, d1, d2]);
  t.teardown(() => h.stop());
  await h.settle();
  await h.client.resource("v1", "configmaps", "ns").delete("owner", { propagationPolicy: "Orphan" });
  await h.settle();
  t.equal(exists(h, "configmaps", "owner"), undefined, "the owner is gone");
  t.same(exists(h, "configmaps", "d1")?.metadata.ownerReferences, [ref(other)]);
  t.same(exists(h, "configmaps", "d2")?.metadata.ownerReferences ?? [], []);
  const p = patches(h);
  t.same(
    p
      .filter((a) => a.patchType === "strategic")
      .map((a) => a.name)
      .sort(),
    ["d1", "d2"],
  );
  t.equal(deletes(h).length, 1, "only the owner's own delete");
});

t.test("an orphaning failure is retried with backoff before the finalizer goes", async (t) => {
  const owner = configMap("owner");
  const dep = configMap("dep", { owners: [ref(owner)] });
  const h = await harness([owner, dep]);
  t.teardown(() => h.stop());
  await h.settle();
  let failures = 1;
  h.client.prependReactor("patch", "configmaps", (a) =>
    a.name === "dep" && failures-- > 0 ? { handled: true, error: status(500, "InternalError") } : undefined,
  );
  await h.client.resource("v1", "configmaps", "ns").delete("owner", { propagationPolicy: "Orphan" });
  await h.settle();
  t.same(exists(h, "configmaps", "owner")?.metadata.finalizers, ["orphan"], "kept until orphaning succeeds");
  t.equal(h.gc.graphBuilder.attemptToOrphanQueue.waitingLen(), 1, "requeued with backoff");
  h.clock.step(1_000);
  await h.settle();
  t.equal(exists(h, "configmaps", "owner"), undefined);
  t.same(exists(h, "configmaps", "dep")?.metadata.ownerReferences ?? [], []);
});

t.test("a collectable dependent's own finalizers choose its propagation", async (t) => {
  const ghost = { apiVersion: "v1", kind: "ConfigMap", name: "ghost", uid: "ghost-uid" };
  const orphaning = configMap("orphaning", { owners: [ghost], finalizers: ["orphan"] });
  const fg = configMap("fg", { owners: [ghost], finalizers: ["foregroundDeletion"] });
  const h = await harness([orphaning, fg]);
  t.teardown(() => h.stop());
  await h.settle();
  t.same(Object.fromEntries(deletes(h).map((a) => [a.name, a.deleteOptions?.propagationPolicy])), {
    orphaning: "Orphan",
    fg: "Foreground",
  });
});

t.test("a cluster-scoped dependent of a namespaced owner is left alone", async (t) => {
  const pv: KubeObject = {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: {
      name: "pv",
      uid: "pv-uid",
      ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "cm", uid: "cm-uid" }],
    },
  };
  const h = await harness([pv]);
  t.teardown(() => h.stop());
  await h.settle();
  t.ok(exists(h, "persistentvolumes", "pv", ""), "not deleted");
  t.equal(deletes(h).length, 0);
  t.equal(h.gc.graphBuilder.attemptToDeleteQueue.waitingLen(), 0, "and not retried");
});

t.test("a namespaced dependent of a cluster-scoped owner is collected when it goes", async (t) => {
  const ns: KubeObject = {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "owner-ns", uid: "ns-uid" },
  };
  const dep = configMap("dep", { owners: [ref(ns)] });
  const h = await harness([ns, dep]);
  t.teardown(() => h.stop());
  await h.settle();
  t.equal(deletes(h).length, 0);
  await h.client.resource("v1", "namespaces").delete("owner-ns");
  await h.settle();
  t.equal(exists(h, "configmaps", "dep"), undefined);
  const gets = h.client.actions.filter((a) => a.verb === "get" && a.resource === "namespaces");
  t.ok(
    gets.every((a) => a.namespace === undefined),
    "the owner is read without a namespace",
  );
});

t.test(
  "API errors requeue with backoff; a stale delete is retried if the owners did not change",
  async (t) => {
    const dep = configMap("dep", {
      owners: [{ apiVersion: "v1", kind: "ConfigMap", name: "ghost", uid: "ghost-uid" }],
    });
    const h = await harness([dep]);
    t.teardown(() => h.stop());
    let calls = 0;
    h.client.prependReactor("delete", "configmaps", () => {
      calls++;
      if (calls === 1) return { handled: true, error: status(500, "InternalError") };
      if (calls === 2) return { handled: true, error: status(409, "Conflict") };
      return undefined;
    });
    await h.settle();
    t.ok(exists(h, "configmaps", "dep"), "still there after a server error");
    t.equal(h.gc.graphBuilder.attemptToDeleteQueue.waitingLen(), 1, "waiting for its backoff");
    h.clock.step(1_000);
    await h.settle();
    t.equal(exists(h, "configmaps", "dep"), undefined, "deleted on the retry");
    const d = deletes(h);
    t.equal(d.length, 3);
    t.ok(d[1]?.deleteOptions?.preconditions?.resourceVersion, "the second try had a resourceVersion");
    t.same(d[2]?.deleteOptions?.preconditions, { uid: dep.metadata.uid }, "the third only the uid");
  },
);

t.test("run: workers collect until the signal aborts", async (t) => {
  const owner = configMap("owner");
  const h = await harness([owner, configMap("dep", { owners: [ref(owner)] })]);
  const ac = new AbortController();
  const running = h.gc.run(2, ac.signal);
  await h.client.resource("v1", "configmaps", "ns").delete("owner");
  await waitFor(() => exists(h, "configmaps", "dep") === undefined, { what: "the dependent collected" });
  t.equal(exists(h, "configmaps", "dep"), undefined);
  ac.abort();
  await running;
  await h.stop();
});
