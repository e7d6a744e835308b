/** What objects count against a ResourceQuota (quota.ts: kube's pod and generic evaluators, scopes). */
import t from "tap";
import {
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
