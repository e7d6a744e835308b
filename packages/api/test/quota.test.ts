/** What objects count against a ResourceQuota (quota.ts: kube's pod and generic evaluators, scopes, CalculateUsage). */
import t from "tap";
import {
  calculateUsage,
  formatQuantity,
  type KindDef,
  type KubeObject,
  matchesScopes,
  Registry,
  usageOf,
} from "../src/index.js";

// biome-ignore lint/suspicious/noExplicitAny: fixtures written loosely
type Json = Record<string, any>;

t.test("quota scopes and usage as kube's pod evaluator", async (t) => {
  const registry = new Registry();
  const podKind = registry.resource("", "v1", "pods") as KindDef;
  const cmKind = registry.resource("", "v1", "configmaps") as KindDef;
  const pod = (spec: Json, status: Json = {}): KubeObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "n" },
    spec: { containers: [{ name: "c", image: "i" }], ...spec },
    status,
  });
  const quota = (spec: Json): KubeObject => ({
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { name: "q" },
    spec,
  });
  const sel = (operator: string, values?: string[]) =>
    quota({ scopeSelector: { matchExpressions: [{ scopeName: "PriorityClass", operator, values }] } });
  const high = pod({ priorityClassName: "high" });
  const none = pod({});
  t.ok(matchesScopes(sel("In", ["high"]), podKind, high));
  t.notOk(matchesScopes(sel("In", ["high"]), podKind, none));
  t.notOk(matchesScopes(sel("NotIn", ["high"]), podKind, high));
  t.ok(matchesScopes(sel("NotIn", ["high"]), podKind, none), "NotIn matches a pod with no class");
  t.ok(matchesScopes(sel("Exists"), podKind, high));
  t.ok(matchesScopes(sel("DoesNotExist"), podKind, none));
  const deadline = pod({ activeDeadlineSeconds: 10 });
  t.ok(matchesScopes(quota({ scopes: ["Terminating"] }), podKind, deadline));
  t.notOk(matchesScopes(quota({ scopes: ["NotTerminating"] }), podKind, deadline));
  const burstable = pod({
    containers: [{ name: "c", image: "i", resources: { limits: { memory: "1Gi" } } }],
  });
  t.ok(matchesScopes(quota({ scopes: ["BestEffort"] }), podKind, none));
  t.ok(matchesScopes(quota({ scopes: ["NotBestEffort"] }), podKind, burstable));
  t.notOk(
    matchesScopes(quota({ scopes: ["BestEffort"] }), cmKind, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {},
    }),
    "scoped quotas track pods only",
  );
  t.same(
    usageOf(podKind, burstable, 0),
    {
      "count/pods": 1,
      pods: 1,
      memory: 2 ** 30,
      "requests.memory": 2 ** 30,
      "limits.memory": 2 ** 30,
    },
    "requests default to limits",
  );
  t.same(
    usageOf(podKind, pod({}, { phase: "Failed" }), 0),
    { "count/pods": 1 },
    "a terminal pod counts only as an object",
  );
  const init = pod({
    containers: [{ name: "c", image: "i", resources: { requests: { cpu: "1" } } }],
    initContainers: [{ name: "i", image: "i", resources: { requests: { cpu: "3" } } }],
  });
  t.equal(usageOf(podKind, init, 0)["requests.cpu"], 3, "an init container's larger request wins");
  t.equal(formatQuantity(0.6, "requests.cpu"), "600m");
  t.equal(formatQuantity(2 ** 28, "limits.memory"), "256Mi");
  t.equal(formatQuantity(1500, "pods"), "1500");
});

t.test("calculateUsage: a namespace's usage of the names a quota limits", async (t) => {
  const registry = new Registry();
  const pod = (name: string, cpu: string, phase = "Running"): KubeObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "n" },
    spec: { containers: [{ name: "c", image: "i", resources: { requests: { cpu } } }] },
    status: { phase },
  });
  const objects: Record<string, KubeObject[]> = {
    pods: [pod("a", "500m"), pod("b", "1"), pod("done", "2", "Succeeded")],
    configmaps: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "n" } }],
  };
  const listed: string[] = [];
  const quota: KubeObject = {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { name: "q", namespace: "n" },
  };
  const hard = {
    "requests.cpu": "4",
    secrets: "10",
    "example.com/unknown": "1",
    "count/pods": "5",
    pods: "3",
  };
  const used = await calculateUsage(registry.kinds, quota, hard, 0, async (k) => {
    listed.push(k.resource);
    return objects[k.resource] ?? [];
  });
  t.same(
    Object.entries(used),
    [
      ["requests.cpu", "1500m"],
      ["secrets", "0"],
      ["count/pods", "3"],
      ["pods", "2"],
    ],
    "tracked names in the order of hard, 0 where nothing counts; a terminal pod only as an object",
  );
  t.same(listed.sort(), ["pods", "secrets"], "only the kinds that track a name are listed");
});
