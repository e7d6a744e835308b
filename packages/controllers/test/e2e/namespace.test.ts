/**
 * The namespace lifecycle's controllers against a real API server with hollow nodes: a new
 * namespace gets its default ServiceAccount and kube-root-ca.crt (both put back when deleted),
 * quota usage follows what the namespace holds, and a namespace of 1,000 objects of several
 * kinds (graceful pods that the hollow nodes finish, one object held by a finalizer the test
 * removes later) is emptied through the API, with its conditions visible while it waits.
 */
import type { KubeObject } from "@skiff/api";
import { isNotFound } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { namespaceControllerDescriptor } from "../../src/namespace/descriptor.js";
import type { Namespace } from "../../src/namespace/types.js";
import { resourceQuotaControllerDescriptor } from "../../src/resourcequota/descriptor.js";
import type { ResourceQuota } from "../../src/resourcequota/types.js";
import { rootCACertPublisherDescriptor } from "../../src/rootcacertpublisher/descriptor.js";
import { serviceAccountControllerDescriptor } from "../../src/serviceaccount/descriptor.js";
import { startCluster } from "./cluster.js";

const CA = "-----BEGIN CERTIFICATE-----\nZml4dHVyZQ==\n-----END CERTIFICATE-----\n";

const c = await startCluster({
  nodes: 3,
  controllers: [
    resourceQuotaControllerDescriptor,
    namespaceControllerDescriptor,
    serviceAccountControllerDescriptor,
    rootCACertPublisherDescriptor,
  ],
  config: { rootCaPem: CA },
});
t.teardown(() => c.stop());

const exists = async (get: () => Promise<unknown>) => {
  try {
    await get();
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
};

/** Runs fn on every item, `limit` at once. */
async function eachLimit<T>(items: T[], limit: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

const pod = (name: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: { containers: [{ name: "c", image: "busybox:1" }] },
});

t.test(
  "a namespace gets its default ServiceAccount and kube-root-ca.crt, put back when deleted",
  async (t) => {
    await c.namespace("defaults");
    const sas = c.client.resource("v1", "serviceaccounts", "defaults");
    const cms = c.client.resource("v1", "configmaps", "defaults");
    const cm = await waitFor(
      async () => (await exists(() => cms.get("kube-root-ca.crt"))) && cms.get("kube-root-ca.crt"),
      {
        what: "kube-root-ca.crt in defaults",
      },
    );
    t.same(cm.data, { "ca.crt": CA });
    t.ok(cm.metadata.annotations?.["kubernetes.io/description"]?.startsWith("Contains a CA bundle"));
    await sas.delete("default");
    await cms.delete("kube-root-ca.crt");
    await waitFor(
      async () =>
        (await exists(() => sas.get("default"))) && (await exists(() => cms.get("kube-root-ca.crt"))),
      {
        what: "the default ServiceAccount and kube-root-ca.crt made again",
      },
    );
    const changed = await cms.get("kube-root-ca.crt");
    await cms.update({ ...changed, data: { "ca.crt": "tampered", extra: "x" } });
    await waitFor(
      async () =>
        JSON.stringify((await cms.get("kube-root-ca.crt")).data) === JSON.stringify({ "ca.crt": CA }),
      {
        what: "kube-root-ca.crt's data put back",
      },
    );
  },
);

t.test("quota: status.hard follows spec.hard, usage follows the namespace", async (t) => {
  await c.namespace("quota");
  const quotas = c.client.resource<ResourceQuota>("v1", "resourcequotas", "quota");
  const pods = c.client.resource("v1", "pods", "quota");
  await pods.create(pod("p1"));
  await pods.create(pod("p2"));
  const q = await quotas.create({
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { name: "q" },
    spec: { hard: { pods: "10", configmaps: "5" } },
  });
  await quotas.update({
    ...(await quotas.get("q")),
    spec: { hard: { pods: "10", "count/pods": "10", secrets: "3" } },
  });
  const status = await waitFor(
    async () => {
      const s = (await quotas.get("q")).status;
      return (
        s?.hard?.secrets === "3" && s.used?.["count/pods"] === "2" && s.used?.configmaps === undefined && s
      );
    },
    { what: "status.hard and status.used following spec.hard" },
  );
  t.same(status.hard, { pods: "10", "count/pods": "10", secrets: "3" });
  t.equal(status.used?.pods, "2");
  t.equal(status.used?.secrets, "0");
  t.ok(q.metadata.uid);
  // A pod turning Succeeded gives its `pods` back (kube's replenishment), not its count/pods.
  const p1 = await pods.get("p1");
  await pods.updateStatus({ ...p1, status: { ...(p1.status as object), phase: "Succeeded" } });
  await waitFor(async () => (await quotas.get("q")).status?.used?.pods === "1", {
    what: "pods=1 once p1 is Succeeded",
  });
  t.equal((await quotas.get("q")).status?.used?.["count/pods"], "2");
});

t.test("a namespace of 1,000 objects is deleted through the API", async (t) => {
  const ns = "doomed";
  await c.namespace(ns);
  const counts = { configmaps: 400, secrets: 300, services: 100, pods: 199 };
  const objects: [string, KubeObject][] = [];
  for (let i = 0; i < counts.configmaps; i++)
    objects.push([
      "configmaps",
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${i}` }, data: { i: String(i) } },
    ]);
  for (let i = 0; i < counts.secrets; i++)
    objects.push([
      "secrets",
      { apiVersion: "v1", kind: "Secret", metadata: { name: `s-${i}` }, stringData: { i: String(i) } },
    ]);
  for (let i = 0; i < counts.services; i++)
    objects.push([
      "services",
      { apiVersion: "v1", kind: "Service", metadata: { name: `svc-${i}` }, spec: { ports: [{ port: 80 }] } },
    ]);
  for (let i = 0; i < counts.pods; i++) objects.push(["pods", pod(`p-${i}`)]);
  objects.push([
    "configmaps",
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "held", finalizers: ["example.com/hold"] } },
  ]);
  // Plus the default ServiceAccount and kube-root-ca.crt the controllers made.
  const created = Date.now();
  await eachLimit(objects, 16, ([resource, obj]) => c.client.resource("v1", resource, ns).create(obj));
  t.comment(`created ${objects.length} objects in ${((Date.now() - created) / 1000).toFixed(1)} s`);
  const pods = c.client.resource("v1", "pods", ns);
  await waitFor(
    async () =>
      (await pods.list()).items.filter(
        (p) => (p.status as { phase?: string } | undefined)?.phase === "Running",
      ).length === counts.pods,
    { what: "every pod Running on a hollow node", timeoutMs: 60_000 },
  );

  const namespaces = c.client.resource<Namespace>("v1", "namespaces");
  const start = Date.now();
  const deleted = await namespaces.delete(ns);
  t.ok(deleted.metadata.deletionTimestamp, "marked for deletion");
  const seen = new Set<string>();
  const waiting = await waitFor(
    async () => {
      const cur = await namespaces.get(ns);
      for (const cond of cur.status?.conditions ?? []) if (cond.status === "True") seen.add(cond.type);
      const fin = cur.status?.conditions?.find((x) => x.type === "NamespaceFinalizersRemaining");
      const rest = cur.status?.conditions?.find((x) => x.type === "NamespaceContentRemaining");
      return (
        fin?.status === "True" &&
        rest?.message === "Some resources are remaining: configmaps. has 1 resource instances" &&
        cur
      );
    },
    { what: "only the held ConfigMap left, said by the conditions", intervalMs: 100 },
  );
  const emptied = Date.now() - start;
  t.comment(`${objects.length} objects: all but the held one gone in ${(emptied / 1000).toFixed(1)} s`);
  t.equal(waiting.status?.phase, "Terminating");
  const cond = (type: string) => waiting.status?.conditions?.find((x) => x.type === type);
  t.match(cond("NamespaceFinalizersRemaining"), {
    status: "True",
    reason: "SomeFinalizerRemain",
    message: "Some finalizers are remaining: example.com/hold in 1 resource instances",
  });
  t.match(cond("NamespaceContentRemaining"), { status: "True", reason: "SomeResourcesRemain" });
  t.match(cond("NamespaceDeletionDiscoveryFailure"), { status: "False", reason: "ResourcesDiscovered" });
  t.match(cond("NamespaceDeletionContentFailure"), { status: "False", reason: "ContentDeleted" });
  t.same(waiting.spec?.finalizers, ["kubernetes"], "still finalized by kubernetes");
  t.ok(seen.has("NamespaceContentRemaining"), "content remaining was visible while waiting");
  for (const resource of ["secrets", "services", "pods"])
    t.equal((await c.client.resource("v1", resource, ns).list()).items.length, 0, `no ${resource} left`);
  const refused = await c.client
    .resource("v1", "configmaps", ns)
    .create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "late" } })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  t.match(refused, { status: 403 }, "nothing new in a terminating namespace");

  const cms = c.client.resource("v1", "configmaps", ns);
  const held = await cms.get("held");
  t.ok(held.metadata.deletionTimestamp, "the held ConfigMap is marked");
  const released = Date.now();
  await cms.update({ ...held, metadata: { ...held.metadata, finalizers: [] } });
  await waitFor(async () => !(await exists(() => namespaces.get(ns))), {
    what: "the namespace gone once the finalizer is removed",
    timeoutMs: 60_000,
  });
  t.comment(
    `namespace gone ${((Date.now() - released) / 1000).toFixed(1)} s after the finalizer was removed ` +
      `(the controller looks again at the latest after half kube's 15 s finalizer estimate), ${((Date.now() - start) / 1000).toFixed(1)} s in all`,
  );
});
