/**
 * The resource quota controller on the fake client (kube's resource_quota_controller_test):
 * status.hard from spec.hard, status.used recalculated from what the namespace holds (with kube's
 * pod evaluator: terminal pods count as objects only, requests and limits; scopes), written only
 * when changed; which queue a quota goes to; replenishment of the quotas tracking a kind.
 */
import { type KindDef, type KubeObject, Registry } from "@skiff/api";
import { FakeClient, FakeClock } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { newControllerContext } from "../../src/context.js";
import { resourceQuotaControllerDescriptor } from "../../src/resourcequota/descriptor.js";
import { ResourceQuotaController } from "../../src/resourcequota/resource-quota-controller.js";
import type { ResourceQuota } from "../../src/resourcequota/types.js";

const NOW = Date.parse("2026-01-01T00:00:00Z");
const registry = new Registry();

const pod = (
  name: string,
  extra: Record<string, unknown> = {},
  status: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "ns" },
  spec: { containers: [{ name: "c", image: "i" }], ...extra },
  status: { phase: "Running", ...status },
});
const resources = (requests: Record<string, string>, limits?: Record<string, string>) => ({
  containers: [{ name: "c", image: "i", resources: { requests, ...(limits ? { limits } : {}) } }],
});
const quota = (
  name: string,
  spec: ResourceQuota["spec"],
  status?: ResourceQuota["status"],
): ResourceQuota => ({
  apiVersion: "v1",
  kind: "ResourceQuota",
  metadata: { name, namespace: "ns", resourceVersion: "1" },
  spec,
  ...(status ? { status } : {}),
});

function setup(objects: KubeObject[]) {
  const client = new FakeClient({ objects, now: () => new Date(NOW) });
  const clock = new FakeClock(NOW);
  const ctx = newControllerContext({ client, clock });
  const c = new ResourceQuotaController(ctx);
  const quotas = ctx.informers.informerFor<ResourceQuota>("v1", "resourcequotas");
  for (const o of objects) if (o.kind === "ResourceQuota") quotas.indexer.add(o as ResourceQuota);
  return { client, ctx, c, quotas };
}

t.test("status.hard is spec.hard; status.used what the namespace holds", async (t) => {
  const { client, c } = setup([
    quota("q", {
      hard: {
        pods: "10",
        "count/pods": "10",
        "requests.cpu": "4",
        "limits.memory": "8Gi",
        configmaps: "5",
        "services.nodeports": "4",
        resourcequotas: "2",
        "count/deployments.apps": "3",
      },
    }),
    pod("a", resources({ cpu: "500m" }, { memory: "1Gi" })),
    pod("b", resources({ cpu: "250m" })),
    pod("done", resources({ cpu: "2" }), { phase: "Succeeded" }),
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c1", namespace: "ns" } },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c2", namespace: "other" } },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "np", namespace: "ns" },
      spec: { type: "NodePort", ports: [{ port: 80 }, { port: 81 }] },
    },
  ]);
  await c.sync("ns/q");
  const writes = client.writes();
  t.equal(writes.length, 1);
  t.match(writes[0], { verb: "update", resource: "resourcequotas", subresource: "status", name: "q" });
  const status = (writes[0]?.object as ResourceQuota | undefined)?.status;
  t.same(status?.hard, (client.tracker.get("v1", "resourcequotas", "ns", "q") as ResourceQuota).spec?.hard);
  t.same(status?.used, {
    pods: "2",
    "count/pods": "3",
    "requests.cpu": "750m",
    "limits.memory": "1Gi",
    configmaps: "1",
    "services.nodeports": "2",
    resourcequotas: "1",
    "count/deployments.apps": "0",
  });
});

t.test("no write when nothing changed; previous usage kept for names no evaluator tracks", async (t) => {
  const hard = { pods: "5", "example.com/widgets": "3" };
  const { client, c } = setup([
    quota("q", { hard }, { hard, used: { pods: "1", "example.com/widgets": "2" } }),
    pod("a"),
  ]);
  await c.sync("ns/q");
  t.same(client.writes(), [], "the same usage: nothing written");
  const { client: c2, c: ctl2 } = setup([quota("q", { hard }, { hard, used: { pods: "0" } }), pod("a")]);
  await ctl2.sync("ns/q");
  t.same((c2.writes()[0]?.object as ResourceQuota | undefined)?.status?.used, { pods: "1" });
  await ctl2.sync("ns/missing");
});

t.test("scopes: a scoped quota counts the pods it selects", async (t) => {
  const { client, c } = setup([
    quota("be", { hard: { pods: "9" }, scopes: ["BestEffort"] }),
    quota("high", {
      hard: { pods: "9", configmaps: "9" },
      scopeSelector: { matchExpressions: [{ scopeName: "PriorityClass", operator: "In", values: ["high"] }] },
    }),
    pod("besteffort"),
    pod("burstable", resources({ cpu: "1" })),
    pod("high", { priorityClassName: "high" }),
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c1", namespace: "ns" } },
  ]);
  await c.sync("ns/be");
  await c.sync("ns/high");
  const used = client.writes().map((a) => (a.object as ResourceQuota).status?.used);
  t.same(used, [{ pods: "2" }, { pods: "1", configmaps: "0" }], "a scoped quota tracks pods only");
});

t.test("queues: missing status first, spec changes and replenishment in the primary queue", async (t) => {
  const hard = { pods: "5", configmaps: "2" };
  const { c, quotas } = setup([
    quota("fresh", { hard }),
    quota("changed", { hard }, { hard: { pods: "4" }, used: { pods: "0" } }),
    quota("nousage", { hard }, { hard, used: { pods: "0" } }),
    quota("synced", { hard }, { hard, used: { pods: "0", configmaps: "0" } }),
    quota("pods-only", { hard: { pods: "1" } }, { hard: { pods: "1" }, used: { pods: "0" } }),
  ]);
  for (const name of ["fresh", "changed", "nousage", "synced"])
    c.addQuota(quotas.get(`ns/${name}`) as ResourceQuota);
  const drain = async (q: { len(): number; get(): Promise<string | undefined>; done(k: string): void }) => {
    const out: string[] = [];
    while (q.len() > 0) {
      const k = (await q.get()) as string;
      q.done(k);
      out.push(k);
    }
    return out.sort();
  };
  t.same(await drain(c.missingUsageQueue), ["ns/changed", "ns/fresh", "ns/nousage"]);
  t.same(await drain(c.queue), ["ns/synced"]);
  c.replenishQuota(registry.resource("", "v1", "configmaps") as KindDef, "ns");
  t.same(
    await drain(c.queue),
    ["ns/nousage", "ns/synced"],
    "the quotas whose status.hard tracks configmaps (not yet the changed one)",
  );
  c.replenishQuota(registry.resource("", "v1", "configmaps") as KindDef, "other");
  t.equal(c.queue.len(), 0);
  t.equal(resourceQuotaControllerDescriptor.name, "resourcequota-controller");
  t.equal(resourceQuotaControllerDescriptor.concurrencyKey, "resource-quota");
});

t.test(
  "replenishment: a deleted object or a pod turning terminal queues the namespace's quotas",
  async (t) => {
    const hard = { pods: "5" };
    const { client, ctx, c } = setup([
      quota("q", { hard }, { hard, used: { pods: "2" } }),
      pod("a"),
      pod("b"),
    ]);
    ctx.informers.start();
    await ctx.informers.waitForCacheSync();
    const drain = async () => {
      while (c.queue.len() > 0) c.queue.done((await c.queue.get()) as string);
      while (c.missingUsageQueue.len() > 0)
        c.missingUsageQueue.done((await c.missingUsageQueue.get()) as string);
    };
    await drain();
    const pods = client.resource("v1", "pods", "ns");
    const a = await pods.get("a");
    await pods.updateStatus({ ...a, status: { phase: "Succeeded" } });
    await waitFor(() => c.queue.len() === 1, { what: "the quota queued for a terminal pod" });
    await drain();
    await pods.delete("b");
    await waitFor(() => c.queue.len() === 1, { what: "the quota queued for a deleted pod" });
    await drain();
    const b2 = await pods.create(pod("c"));
    await pods.update({ ...b2, metadata: { ...b2.metadata, labels: { x: "y" } } });
    await client
      .resource("v1", "configmaps", "ns")
      .create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } });
    await client.resource("v1", "configmaps", "ns").delete("x");
    // The quota tracks no configmaps, and other pod updates leave usage as it is.
    await waitFor(async () => (await ctx.informers.informerFor("v1", "pods").get("ns/c")) !== undefined, {
      what: "the pod seen",
    });
    t.equal(c.queue.len(), 0);
    c.queue.shutDown();
    c.missingUsageQueue.shutDown();
    await ctx.informers.shutdown();
    await ctx.broadcaster.shutdown();
  },
);

t.test("resync: every quota again each --resource-quota-sync-period", async (t) => {
  const hard = { pods: "5" };
  const { ctx, c } = setup([quota("q", { hard }, { hard, used: { pods: "0" } })]);
  const clock = ctx.clock as FakeClock;
  const synced: string[] = [];
  const sync = c.sync.bind(c);
  c.sync = (key) => {
    synced.push(key);
    return sync(key);
  };
  const ac = new AbortController();
  const running = c.run(1, ac.signal);
  // Through the rate limiter: the first retry delay (5 ms) before each pass.
  clock.step(5);
  await waitFor(() => synced.length === 1, { what: "the resync at start" });
  clock.step(ctx.config.resourceQuotaSyncPeriodMs - 5);
  await new Promise((r) => setImmediate(r));
  t.equal(synced.length, 1, "not before the period");
  clock.step(10);
  await waitFor(() => synced.length === 2, { what: "the resync after one period" });
  t.same(synced, ["ns/q", "ns/q"]);
  ac.abort();
  await running;
  await ctx.broadcaster.shutdown();
});
