/**
 * The namespace controller and its deleter on the fake client (kube's namespace_controller_test
 * and namespaced_resources_deleter_test): what a pass deletes and how (DeleteCollection, or each
 * item where the resource has none), the conditions it writes with kube's reasons and messages,
 * the estimate while graceful pods or finalizers hold content, the finalize call once empty, and
 * discovery over the aggregated and the legacy documents.
 */
import type { KubeObject } from "@skiff/api";
import {
  type ClientInterface,
  type DeleteOptions,
  FakeClient,
  FakeClock,
  type RawResponse,
} from "@skiff/client";
import t from "tap";
import { newControllerContext } from "../../src/context.js";
import type { NamespaceDeleterApi } from "../../src/namespace/api.js";
import { NamespacedResourcesDeleter, ResourcesRemainingError } from "../../src/namespace/deleter.js";
import { type DiscoveryResult, serverPreferredNamespacedResources } from "../../src/namespace/discovery.js";
import { NamespaceController } from "../../src/namespace/namespace-controller.js";
import {
  apiVersionOf,
  type GroupVersionResource,
  type Namespace,
  type NamespaceCondition,
} from "../../src/namespace/types.js";
import { type APIResourceList, ErrGroupDiscoveryFailed } from "../../src/util/discovery.js";

const NOW = Date.parse("2026-01-01T00:00:10Z");
const ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

const resources: APIResourceList[] = [
  {
    groupVersion: "v1",
    resources: [
      { name: "configmaps", namespaced: true, kind: "ConfigMap", verbs: ALL },
      // No DeleteCollection: deleted item by item.
      {
        name: "secrets",
        namespaced: true,
        kind: "Secret",
        verbs: ALL.filter((v) => v !== "deletecollection"),
      },
      { name: "pods", namespaced: true, kind: "Pod", verbs: ALL },
      // No delete verb: left alone.
      { name: "bindings", namespaced: true, kind: "Binding", verbs: ["create"] },
    ],
  },
  {
    groupVersion: "apps/v1",
    resources: [{ name: "deployments", namespaced: true, kind: "Deployment", verbs: ALL }],
  },
];

/** The deleter's API on the fake client: DeleteCollection as list and delete, finalize as an update. */
class FakeApi implements NamespaceDeleterApi {
  readonly collections: { gvr: string; namespace: string; opts: DeleteOptions }[] = [];
  discovery: DiscoveryResult = { resources };

  constructor(private readonly c: FakeClient) {}

  discoverResources = async () => this.discovery;

  async deleteCollection(gvr: GroupVersionResource, namespace: string, opts: DeleteOptions): Promise<void> {
    this.collections.push({ gvr: `${apiVersionOf(gvr)}/${gvr.resource}`, namespace, opts });
    const rc = this.c.metadata(apiVersionOf(gvr), gvr.resource, namespace);
    for (const o of (await rc.list()).items) await rc.delete(o.metadata.name as string, opts);
  }

  async finalize(ns: Namespace): Promise<Namespace> {
    return this.c.invoke(
      {
        verb: "update",
        apiVersion: "v1",
        resource: "namespaces",
        name: ns.metadata.name,
        subresource: "finalize",
        object: ns,
      },
      () => this.c.tracker.update("v1", "namespaces", undefined, ns) as Namespace,
    );
  }
}

/**
 * A namespace; one being deleted also holds a metadata finalizer, because the fake tracker
 * removes an object being deleted at its first update without one (the API server keeps a
 * namespace until its spec.finalizers are empty).
 */
const namespace = (name: string, deleting = true): Namespace => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: {
    name,
    uid: `uid-${name}`,
    ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z", finalizers: ["test/keep"] } : {}),
  },
  spec: { finalizers: ["kubernetes"] },
  status: { phase: "Active" },
});
const obj = (
  apiVersion: string,
  kind: string,
  name: string,
  extra: Partial<KubeObject> = {},
): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, namespace: "ns" },
  ...extra,
});

function setup(objects: KubeObject[]) {
  const client = new FakeClient({ objects, now: () => new Date(NOW) });
  const clock = new FakeClock(NOW);
  const api = new FakeApi(client);
  const deleter = new NamespacedResourcesDeleter({ client, api, clock });
  return { client, clock, api, deleter };
}

const conditions = async (c: ClientInterface) =>
  ((await c.resource<Namespace>("v1", "namespaces").get("ns")).status?.conditions ??
    []) as NamespaceCondition[];
const byType = (list: NamespaceCondition[], type: string) => list.find((x) => x.type === type);

t.test("a pass empties the namespace and removes the kubernetes finalizer", async (t) => {
  const { client, api, deleter } = setup([
    namespace("ns"),
    obj("v1", "ConfigMap", "a"),
    obj("v1", "ConfigMap", "b"),
    obj("v1", "Secret", "s"),
    obj("apps/v1", "Deployment", "d"),
    obj("v1", "ConfigMap", "elsewhere", { metadata: { name: "elsewhere", namespace: "other" } }),
  ]);
  await deleter.delete("ns");
  t.same(
    api.collections.map((c) => c.gvr).sort(),
    ["apps/v1/deployments", "v1/configmaps", "v1/pods"],
    "DeleteCollection where served",
  );
  t.ok(api.collections.every((c) => c.opts.propagationPolicy === "Background" && c.namespace === "ns"));
  const writes = client.writes();
  t.match(writes[0], {
    verb: "update",
    resource: "namespaces",
    subresource: "status",
    object: { status: { phase: "Terminating" } },
  });
  t.ok(
    writes.some((a) => a.verb === "delete" && a.resource === "secrets" && a.name === "s"),
    "secrets, without DeleteCollection, item by item",
  );
  const fin = writes.find((a) => a.subresource === "finalize");
  t.same(fin?.object?.spec, { finalizers: [] }, "finalize without the kubernetes token");
  t.equal(client.tracker.list("v1", "configmaps", "ns").length, 0);
  t.equal(client.tracker.list("v1", "configmaps", "other").length, 1, "other namespaces untouched");
  const conds = await conditions(client);
  t.same(
    conds.map((c) => [c.type, c.status, c.reason, c.message]),
    [
      [
        "NamespaceDeletionDiscoveryFailure",
        "False",
        "ResourcesDiscovered",
        "All resources successfully discovered",
      ],
      [
        "NamespaceDeletionGroupVersionParsingFailure",
        "False",
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
      ],
      [
        "NamespaceDeletionContentFailure",
        "False",
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
      ],
      ["NamespaceContentRemaining", "False", "ContentRemoved", "All content successfully removed"],
      ["NamespaceFinalizersRemaining", "False", "ContentRemoved", "All content successfully removed"],
    ],
  );
  t.ok(conds.every((c) => c.lastTransitionTime === "2026-01-01T00:00:10Z"));
});

t.test("nothing for a namespace that is not being deleted, is gone, or is finalized", async (t) => {
  const { client, deleter } = setup([
    namespace("live", false),
    { ...namespace("done"), spec: { finalizers: [] } },
    obj("v1", "ConfigMap", "a", { metadata: { name: "a", namespace: "live" } }),
  ]);
  await deleter.delete("live");
  await deleter.delete("missing");
  t.same(client.writes(), [], "no write for a live or missing namespace");
  await deleter.delete("done");
  t.same(
    client.writes().map((a) => [a.verb, a.subresource]),
    [["update", "status"]],
    "a finalized namespace is only marked Terminating",
  );
});

t.test("graceful pods and finalizers: content remains, with kube's estimate and conditions", async (t) => {
  const held = { metadata: { name: "held", namespace: "ns", finalizers: ["example.com/hold"] } };
  const pod = (name: string, grace: number, phase = "Running"): KubeObject =>
    obj("v1", "Pod", name, {
      metadata: { name, namespace: "ns", finalizers: ["test/graceful"] },
      spec: { terminationGracePeriodSeconds: grace, containers: [] },
      status: { phase },
    });
  const { client, clock, deleter } = setup([
    namespace("ns"),
    obj("v1", "ConfigMap", "held", held),
    pod("p30", 30),
    pod("p60", 60),
    pod("done", 600, "Succeeded"),
  ]);
  const err = await deleter.delete("ns").then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof ResourcesRemainingError);
  t.equal((err as ResourcesRemainingError).estimate, 60, "the longest grace period of a pod not terminal");
  t.equal(
    (err as Error).message,
    "some content remains in the namespace, estimate 60 seconds before it is removed",
  );
  const conds = await conditions(client);
  t.match(byType(conds, "NamespaceContentRemaining"), {
    status: "True",
    reason: "SomeResourcesRemain",
    message:
      "Some resources are remaining: configmaps. has 1 resource instances, pods. has 3 resource instances",
  });
  t.match(byType(conds, "NamespaceFinalizersRemaining"), {
    status: "True",
    reason: "SomeFinalizerRemain",
    message:
      "Some finalizers are remaining: example.com/hold in 1 resource instances, test/graceful in 3 resource instances",
  });
  t.notOk(
    client.writes().some((a) => a.subresource === "finalize"),
    "not finalized while content remains",
  );
  // Past the pods' grace period, the finalizers still hold: kube's 15 s finalizer estimate.
  clock.setTime(NOW + 120_000);
  const again = await deleter.delete("ns").then(
    () => undefined,
    (e: unknown) => e,
  );
  t.equal((again as ResourcesRemainingError).estimate, 15);
});

t.test("errors: discovery, a failing delete, and items left without any finalizer", async (t) => {
  const { client, api, deleter } = setup([
    namespace("ns"),
    obj("v1", "ConfigMap", "a"),
    obj("v1", "Secret", "s"),
  ]);
  api.discovery = {
    resources,
    error: new ErrGroupDiscoveryFailed(
      new Map([
        ["metrics.k8s.io/v1beta1", new Error("the server is currently unable to handle the request")],
      ]),
    ),
  };
  client.prependReactor("delete", "secrets", () => ({ handled: true, error: new Error("boom") }));
  // The ConfigMap "survives" its DeleteCollection.
  client.prependReactor("delete", "configmaps", () => ({ handled: true, result: {} }));
  const err = await deleter.delete("ns").then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof Error && !(err instanceof ResourcesRemainingError), "an error to retry with backoff");
  const conds = await conditions(client);
  t.match(byType(conds, "NamespaceDeletionDiscoveryFailure"), {
    status: "True",
    reason: "DiscoveryFailed",
    message:
      "Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: the server is currently unable to handle the request",
  });
  t.match(byType(conds, "NamespaceDeletionContentFailure"), {
    status: "True",
    reason: "ContentDeletionFailed",
    message:
      "Failed to delete all resource types, 2 remaining: boom, unexpected items still remain in namespace: ns for gvr: v1, Resource=configmaps",
  });
  t.notOk(client.writes().some((a) => a.subresource === "finalize"));
});

t.test(
  "the controller: only deleting namespaces, after the grace period; content remaining comes back",
  async (t) => {
    const client = new FakeClient({ objects: [namespace("ns")], now: () => new Date(NOW) });
    const clock = new FakeClock(NOW);
    const ctx = newControllerContext({ client, clock });
    const api = new FakeApi(client);
    const c = new NamespaceController(ctx, { api, deletionGracePeriodMs: 1000 });
    const nsInformer = ctx.informers.informerFor<Namespace>("v1", "namespaces");
    c.enqueueNamespace(namespace("live", false));
    t.equal(c.queue.len(), 0, "a live namespace is not queued");
    c.enqueueNamespace(namespace("ns"));
    t.equal(c.queue.len(), 0, "not at once");
    clock.step(1000);
    t.equal(c.queue.len(), 1, "after the grace period");
    // Not in the cache: nothing to do.
    t.ok(await c.processNextWorkItem());
    t.same(client.writes(), []);
    nsInformer.indexer.add(namespace("ns"));
    client.tracker.add(
      obj("v1", "Pod", "p", {
        metadata: { name: "p", namespace: "ns", finalizers: ["test/graceful"] },
        spec: { terminationGracePeriodSeconds: 30, containers: [] },
      }),
    );
    c.queue.add("ns");
    t.ok(await c.processNextWorkItem());
    t.equal(c.queue.len(), 0);
    clock.step(15_999);
    t.equal(c.queue.len(), 0, "back after estimate/2 + 1 s, not before");
    clock.step(1);
    t.equal(c.queue.len(), 1);
    c.queue.shutDown();
    await ctx.broadcaster.shutdown();
  },
);

/** A raw client answering discovery from a table of paths. */
function rawClient(docs: Record<string, unknown>): {
  raw(method: string, path: string): Promise<RawResponse>;
} {
  return {
    raw: async (_method, path) =>
      path in docs
        ? { status: 200, headers: {}, body: docs[path] }
        : {
            status: 503,
            headers: {},
            body: {
              kind: "Status",
              message: "the server is currently unable to handle the request",
              code: 503,
            },
          },
  };
}

t.test("discovery: aggregated documents, preferred versions, stale groups", async (t) => {
  const res = (resource: string, scope = "Namespaced", verbs = ALL) => ({
    resource,
    scope,
    verbs,
    responseKind: { kind: resource },
  });
  const discover = serverPreferredNamespacedResources(
    rawClient({
      "/api": {
        kind: "APIGroupDiscoveryList",
        items: [
          {
            metadata: { name: "" },
            versions: [{ version: "v1", resources: [res("pods"), res("nodes", "Cluster")] }],
          },
        ],
      },
      "/apis": {
        kind: "APIGroupDiscoveryList",
        items: [
          {
            metadata: { name: "autoscaling" },
            versions: [
              { version: "v2", resources: [res("horizontalpodautoscalers")] },
              { version: "v1", resources: [res("horizontalpodautoscalers"), res("olderonly")] },
            ],
          },
          { metadata: { name: "metrics.k8s.io" }, versions: [{ version: "v1beta1", freshness: "Stale" }] },
        ],
      },
    }),
  );
  const r = await discover();
  t.same(
    r.resources.map((l) => [l.groupVersion, l.resources.map((x) => x.name)]),
    [
      ["v1", ["pods"]],
      ["autoscaling/v2", ["horizontalpodautoscalers"]],
      ["autoscaling/v1", ["olderonly"]],
    ],
    "namespaced only, each resource at its most preferred version",
  );
  t.ok(r.error instanceof ErrGroupDiscoveryFailed);
  t.equal(
    r.error?.message,
    "unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: stale GroupVersion discovery",
  );
});

t.test("discovery: the legacy documents when the server has no aggregated ones", async (t) => {
  const discover = serverPreferredNamespacedResources(
    rawClient({
      "/api": { kind: "APIVersions", versions: ["v1"] },
      "/api/v1": {
        resources: [
          { name: "pods", namespaced: true, kind: "Pod", verbs: ALL },
          { name: "pods/status", namespaced: true, kind: "Pod", verbs: ["get"] },
        ],
      },
      "/apis": {
        kind: "APIGroupList",
        groups: [
          {
            name: "apps",
            versions: [{ groupVersion: "apps/v1", version: "v1" }],
            preferredVersion: { groupVersion: "apps/v1" },
          },
          {
            name: "broken",
            versions: [{ groupVersion: "broken/v1", version: "v1" }],
            preferredVersion: { groupVersion: "broken/v1" },
          },
        ],
      },
      "/apis/apps/v1": {
        resources: [{ name: "deployments", namespaced: true, kind: "Deployment", verbs: ALL }],
      },
    }),
  );
  const r = await discover();
  t.same(
    r.resources.map((l) => [l.groupVersion, l.resources.map((x) => x.name)]),
    [
      ["v1", ["pods"]],
      ["apps/v1", ["deployments"]],
    ],
  );
  t.match(r.error?.message, /broken\/v1: the server is currently unable to handle the request/);
});
