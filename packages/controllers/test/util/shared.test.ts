/**
 * The helpers the controllers share (src/util, and the work-queue steps of src/controller.ts):
 * each one's rules on small inputs, as the controllers' own tests only reach them through a sync.
 */
import type { KubeObject, OwnerReference, Pod } from "@skiff/api";
import { ApiError, FakeClient, FakeClock, isConflict, RateLimitingQueue } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { processNextWorkItem, runWorkers } from "../../src/controller.js";
import { getCondition, removeCondition, setCondition } from "../../src/util/conditions.js";
import { resolveControllerRef } from "../../src/util/controller-ref.js";
import { HttpDiscovery } from "../../src/util/discovery.js";
import { hasStatusCause, isNamespaceTerminating } from "../../src/util/errors.js";
import { getScaledValueFromIntOrPercent } from "../../src/util/intstr.js";
import { dependentUpdate, labelsEqual } from "../../src/util/owner-events.js";
import { isEmptySelector, nonEmptySelectorMatches } from "../../src/util/selector.js";
import { updateStatusWithRetries } from "../../src/util/status-update.js";
import { parseTime } from "../../src/util/time.js";

const ref = (name: string, uid: string, kind = "ReplicaSet"): OwnerReference => ({
  apiVersion: "apps/v1",
  kind,
  name,
  uid,
  controller: true,
});

const obj = (
  name: string,
  o: { uid?: string; labels?: Record<string, string>; owner?: OwnerReference } = {},
) =>
  ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "ns",
      uid: o.uid ?? `uid-${name}`,
      ...(o.labels === undefined ? {} : { labels: o.labels }),
      ...(o.owner === undefined ? {} : { ownerReferences: [o.owner] }),
    },
  }) as KubeObject;

t.test("resolveControllerRef: the kind, the name in the namespace, and the same uid", async (t) => {
  const owners = new Map([["ns/web", obj("web", { uid: "u1" })]]);
  t.equal(resolveControllerRef(owners, "ReplicaSet", "ns", ref("web", "u1"))?.metadata.uid, "u1");
  t.equal(resolveControllerRef(owners, "ReplicaSet", "ns", ref("web", "u0")), undefined, "a reused name");
  t.equal(resolveControllerRef(owners, "DaemonSet", "ns", ref("web", "u1")), undefined, "another kind");
  t.equal(resolveControllerRef(owners, "ReplicaSet", "other", ref("web", "u1")), undefined);
});

t.test("owner selectors: nil or empty select nothing", async (t) => {
  t.ok(isEmptySelector(undefined));
  t.ok(isEmptySelector({}));
  t.notOk(isEmptySelector({ matchLabels: { app: "a" } }));
  t.notOk(nonEmptySelectorMatches(undefined, { app: "a" }));
  t.notOk(nonEmptySelectorMatches({ matchLabels: {} }, { app: "a" }));
  t.ok(nonEmptySelectorMatches({ matchLabels: { app: "a" } }, { app: "a", x: "y" }));
  t.notOk(nonEmptySelectorMatches({ matchLabels: { app: "a" } }, { app: "b" }));
});

t.test("dependentUpdate: old controller, current controller, or adopters of an orphan", async (t) => {
  const owners = new Map([
    ["ns/a", obj("a", { uid: "ua" })],
    ["ns/b", obj("b", { uid: "ub" })],
  ]);
  const resolve = (ns: string, r: OwnerReference) => resolveControllerRef(owners, "ReplicaSet", ns, r);
  let asked = 0;
  const adopters = () => {
    asked++;
    return [obj("candidate")];
  };
  const names = (u: ReturnType<typeof dependentUpdate<KubeObject, KubeObject>>) => ({
    old: u.oldController?.metadata.name,
    controlled: u.controlled,
    controller: u.controller?.metadata.name,
    adopters: u.adopters.map((o) => o.metadata.name),
  });

  const moved = dependentUpdate(
    obj("p", { owner: ref("a", "ua") }),
    obj("p", { owner: ref("b", "ub") }),
    resolve,
    adopters,
  );
  t.same(names(moved), { old: "a", controlled: true, controller: "b", adopters: [] }, "reference changed");

  const same = dependentUpdate(
    obj("p", { owner: ref("a", "ua") }),
    obj("p", { owner: ref("a", "ua") }),
    resolve,
    adopters,
  );
  t.same(names(same), { old: undefined, controlled: true, controller: "a", adopters: [] });

  const released = dependentUpdate(obj("p", { owner: ref("a", "ua") }), obj("p"), resolve, adopters);
  t.same(names(released), { old: "a", controlled: false, controller: undefined, adopters: ["candidate"] });

  const stale = dependentUpdate(obj("p"), obj("p", { owner: ref("a", "gone") }), resolve, adopters);
  t.same(
    names(stale),
    { old: undefined, controlled: true, controller: undefined, adopters: [] },
    "no orphan",
  );

  asked = 0;
  const quiet = dependentUpdate(
    obj("p", { labels: { x: "1" } }),
    obj("p", { labels: { x: "1" } }),
    resolve,
    adopters,
  );
  t.same(quiet.adopters, [], "an orphan that did not change wakes nobody");
  t.equal(asked, 0, "and the owners are not even listed");
  const relabelled = dependentUpdate(
    obj("p", { labels: { x: "1" } }),
    obj("p", { labels: { x: "2" } }),
    resolve,
    adopters,
  );
  t.same(relabelled.adopters.length, 1);

  t.ok(labelsEqual(undefined, {}), "absent and empty alike");
  t.ok(labelsEqual({ a: "1", b: "2" }, { b: "2", a: "1" }), "order does not matter");
  t.notOk(labelsEqual({ a: "1" }, { a: "1", b: "2" }));
});

t.test("hasStatusCause reads the cause's type from `reason`, as it is on the wire", async (t) => {
  const refused = new ApiError(403, {
    kind: "Status",
    reason: "Forbidden",
    message: "forbidden",
    details: { causes: [{ reason: "NamespaceTerminating", message: "namespace ns is being terminated" }] },
  });
  t.ok(isNamespaceTerminating(refused));
  t.ok(hasStatusCause(refused, "NamespaceTerminating"));
  t.notOk(hasStatusCause(refused, "FieldValueInvalid"));
  t.notOk(isNamespaceTerminating(new ApiError(403, { kind: "Status", reason: "Forbidden", message: "x" })));
  t.notOk(isNamespaceTerminating(new Error("NamespaceTerminating")), "only API errors");
});

t.test("getScaledValueFromIntOrPercent: ints as they are, percentages rounded, kube's errors", async (t) => {
  t.equal(getScaledValueFromIntOrPercent(3, 10, true), 3);
  t.equal(getScaledValueFromIntOrPercent("25%", 10, true), 3);
  t.equal(getScaledValueFromIntOrPercent("25%", 10, false), 2);
  t.equal(getScaledValueFromIntOrPercent("+50%", 3, false), 1);
  t.throws(() => getScaledValueFromIntOrPercent(undefined, 10, true), /nil value for IntOrString/);
  t.throws(() => getScaledValueFromIntOrPercent("5", 10, true), /string is not a percentage/);
  t.throws(() => getScaledValueFromIntOrPercent("1.5%", 10, true), /strconv.Atoi: parsing "1.5"/);
});

t.test("parseTime: metav1.Time in ms, undefined when unset or not a time", async (t) => {
  t.equal(parseTime("2025-01-01T00:00:00Z"), Date.UTC(2025, 0, 1));
  for (const v of [undefined, null, "", "yesterday"]) t.equal(parseTime(v), undefined, String(v));
});

t.test("conditions: one per type; the same status and reason is no change", async (t) => {
  type C = { type: string; status: string; reason?: string; message?: string };
  const status: { conditions?: C[] } = {};
  setCondition(status, { type: "A", status: "True", reason: "r", message: "first" });
  setCondition(status, { type: "A", status: "True", reason: "r", message: "second" });
  t.equal(getCondition(status.conditions, "A")?.message, "first", "same status and reason: kept");
  setCondition(status, { type: "B", status: "False" });
  setCondition(status, { type: "A", status: "False", reason: "r" });
  t.same(
    status.conditions?.map((c) => `${c.type}=${c.status}`),
    ["B=False", "A=False"],
    "replaced, appended last",
  );
  removeCondition(status, "A");
  removeCondition(status, "B");
  t.equal(status.conditions, undefined, "an emptied list goes");
});

t.test("updateStatusWithRetries: a fresh read between writes, at most `attempts` writes", async (t) => {
  const pod = { ...obj("p"), spec: { containers: [] } } as unknown as Pod;
  const client = new FakeClient({ objects: [pod] });
  const pods = client.resource<Pod>("v1", "pods", "ns");
  let conflicts = 2;
  client.prependReactor("update", "pods", () => {
    if (conflicts-- > 0)
      return {
        handled: true,
        error: new ApiError(409, { kind: "Status", reason: "Conflict", message: "c" }),
      };
    return undefined;
  });
  const withPhase = (p: Pod): Pod => ({ ...p, status: { phase: "Running" } });
  await t.rejects(
    updateStatusWithRetries(pods, pod, withPhase, { attempts: 2, retryIf: isConflict }),
    /c/,
    "two conflicts, two writes: the error goes to the caller",
  );
  conflicts = 2;
  client.clearActions();
  const written = await updateStatusWithRetries(pods, pod, withPhase, { attempts: 3, retryIf: isConflict });
  t.equal(written.status?.phase, "Running");
  t.equal(client.actions.filter((a) => a.verb === "get").length, 2, "one fresh read before each retry");
  conflicts = 1;
  await t.rejects(
    updateStatusWithRetries(pods, pod, withPhase, { attempts: 5, retryIf: () => false }),
    /c/,
    "a failure retryIf refuses is not retried",
  );
  t.equal(pod.status, undefined, "the object passed in is left as it was");
});

/** A raw client answering GETs from a table of paths; any other path is a 503 Status. */
const rawClient = (docs: Record<string, unknown>) => ({
  raw: async (_method: string, path: string) =>
    path in docs
      ? { status: 200, headers: {}, body: docs[path] }
      : { status: 503, headers: {}, body: { kind: "Status", message: "unavailable", code: 503 } },
});

t.test("HttpDiscovery: the aggregated and the legacy documents read alike", async (t) => {
  const verbs = ["delete", "list", "watch"];
  const legacy = rawClient({
    "/api": { kind: "APIVersions", versions: ["v1"] },
    "/api/v1": {
      resources: [
        { name: "pods", namespaced: true, kind: "Pod", verbs },
        { name: "nodes", namespaced: false, kind: "Node" },
      ],
    },
    "/apis": {
      kind: "APIGroupList",
      groups: [
        {
          name: "autoscaling",
          versions: [
            { groupVersion: "autoscaling/v1", version: "v1" },
            { groupVersion: "autoscaling/v2", version: "v2" },
          ],
          preferredVersion: { groupVersion: "autoscaling/v2" },
        },
        {
          name: "metrics.k8s.io",
          versions: [{ groupVersion: "metrics.k8s.io/v1beta1", version: "v1beta1" }],
        },
      ],
    },
    "/apis/autoscaling/v1": { resources: [{ name: "hpas", namespaced: true, kind: "HPA", verbs }] },
    "/apis/autoscaling/v2": { resources: [{ name: "hpas", namespaced: true, kind: "HPA", verbs }] },
  });
  const aggregatedResource = (resource: string, kind: string, scope = "Namespaced") => ({
    resource,
    scope,
    verbs: resource === "nodes" ? undefined : verbs,
    responseKind: { kind },
  });
  const aggregated = rawClient({
    "/api": {
      kind: "APIGroupDiscoveryList",
      items: [
        {
          metadata: { name: "" },
          versions: [
            {
              version: "v1",
              resources: [aggregatedResource("pods", "Pod"), aggregatedResource("nodes", "Node", "Cluster")],
            },
          ],
        },
      ],
    },
    "/apis": {
      kind: "APIGroupDiscoveryList",
      items: [
        {
          metadata: { name: "autoscaling" },
          versions: [
            { version: "v2", resources: [aggregatedResource("hpas", "HPA")] },
            { version: "v1", resources: [aggregatedResource("hpas", "HPA")] },
          ],
        },
        { metadata: { name: "metrics.k8s.io" }, versions: [{ version: "v1beta1", freshness: "Stale" }] },
      ],
    },
  });
  for (const [name, client] of [
    ["legacy", legacy],
    ["aggregated", aggregated],
  ] as const) {
    const sr = await new HttpDiscovery(client).serverResources();
    t.same(
      sr.lists,
      [
        {
          groupVersion: "v1",
          resources: [
            { name: "pods", namespaced: true, kind: "Pod", verbs },
            { name: "nodes", namespaced: false, kind: "Node", verbs: [] },
          ],
        },
        {
          groupVersion: "autoscaling/v2",
          resources: [{ name: "hpas", namespaced: true, kind: "HPA", verbs }],
        },
        {
          groupVersion: "autoscaling/v1",
          resources: [{ name: "hpas", namespaced: true, kind: "HPA", verbs }],
        },
      ],
      `${name}: each group's versions most preferred first`,
    );
    t.same([...sr.preferred], ["v1", "autoscaling/v2", "metrics.k8s.io/v1beta1"], `${name}: preferred`);
    t.same([...sr.failed.keys()], ["metrics.k8s.io/v1beta1"], `${name}: the group that failed`);
  }
  await t.rejects(new HttpDiscovery(rawClient({})).serverResources(), /unavailable/, "no /api: no discovery");
});

t.test("processNextWorkItem: forget on success, backoff on failure, dropped past maxRetries", async (t) => {
  const clock = new FakeClock(0);
  const queue = new RateLimitingQueue<string>({ clock });
  const failing = new Set(["bad"]);
  const synced: string[] = [];
  const errors: [string, boolean][] = [];
  const step = () =>
    processNextWorkItem(
      queue,
      async (key) => {
        synced.push(key);
        if (failing.has(key)) throw new Error("boom");
      },
      (key, _e, dropped) => errors.push([key, dropped]),
      2,
    );
  queue.add("bad");
  t.ok(await step());
  t.equal(queue.numRequeues("bad"), 1, "requeued with backoff");
  clock.step(1000);
  t.ok(await step());
  t.equal(queue.numRequeues("bad"), 2);
  clock.step(1000);
  t.ok(await step());
  t.equal(queue.numRequeues("bad"), 0, "the third failure is past maxRetries: forgotten");
  t.same(errors, [
    ["bad", false],
    ["bad", false],
    ["bad", true],
  ]);
  clock.step(1000);
  t.equal(queue.len(), 0, "and not requeued");
  failing.clear();
  queue.add("bad");
  t.ok(await step());
  t.equal(errors.length, 3, "a sync that returns is no error");
  t.same(synced, ["bad", "bad", "bad", "bad"]);

  // runWorkers: the loops end once the signal aborts (the queue is shut down).
  const ac = new AbortController();
  queue.add("a");
  queue.add("b");
  const running = runWorkers(queue, 2, ac.signal, step);
  await waitFor(() => synced.length === 6, { what: "both keys synced" });
  ac.abort();
  await running;
  t.same(synced.slice(4).sort(), ["a", "b"]);
});
