/**
 * The garbage collector against a real API server: background, foreground and orphan propagation,
 * an owner that never existed, a three-level chain, a cluster-scoped owner, an owner reference
 * across namespaces, and `kubectl delete --cascade=foreground`.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeObject, OwnerReference } from "@skiff/api";
import { isNotFound, type KubeClient } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { garbageCollectorControllerDescriptor } from "../../src/garbagecollector/descriptor.js";
import { startCluster } from "./cluster.js";

const c = await startCluster({
  nodes: 0,
  scheduler: false,
  controllers: [garbageCollectorControllerDescriptor],
});
t.teardown(() => c.stop());
const NS = "gc-e2e";
await c.namespace(NS);

type Res = "configmaps" | "secrets";

const refTo = (o: KubeObject, block = false): OwnerReference => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  name: o.metadata.name as string,
  uid: o.metadata.uid as string,
  ...(block ? { blockOwnerDeletion: true } : {}),
});

function create(
  client: KubeClient,
  res: Res,
  name: string,
  o: { owners?: OwnerReference[]; finalizers?: string[]; namespace?: string } = {},
): Promise<KubeObject> {
  const kind = res === "configmaps" ? "ConfigMap" : "Secret";
  const ns = o.namespace ?? NS;
  return client.resource("v1", res, ns).create({
    apiVersion: "v1",
    kind,
    metadata: {
      name,
      namespace: ns,
      ...(o.owners === undefined ? {} : { ownerReferences: o.owners }),
      ...(o.finalizers === undefined ? {} : { finalizers: o.finalizers }),
    },
    data: { k: "v" },
  });
}

async function get(res: Res, name: string, ns = NS): Promise<KubeObject | undefined> {
  try {
    return await c.client.resource("v1", res, ns).get(name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

const gone = (res: Res, name: string, ns = NS) =>
  waitFor(async () => (await get(res, name, ns)) === undefined, { what: `${res} ${ns}/${name} deleted` });

t.test("background: deleting the owner deletes its dependents", async (t) => {
  const owner = await create(c.client, "configmaps", "bg-owner");
  await create(c.client, "configmaps", "bg-dep-cm", { owners: [refTo(owner)] });
  await create(c.client, "secrets", "bg-dep-secret", { owners: [refTo(owner)] });
  await c.client.resource("v1", "configmaps", NS).delete("bg-owner", { propagationPolicy: "Background" });
  t.equal(await get("configmaps", "bg-owner"), undefined, "the owner goes at once");
  await gone("configmaps", "bg-dep-cm");
  await gone("secrets", "bg-dep-secret");
});

t.test("foreground: the owner waits for its blocking dependents", async (t) => {
  const owner = await create(c.client, "configmaps", "fg-owner");
  await create(c.client, "configmaps", "fg-dep", { owners: [refTo(owner, true)] });
  await create(c.client, "secrets", "fg-held", {
    owners: [refTo(owner, true)],
    finalizers: ["example.com/hold"],
  });
  await c.client.resource("v1", "configmaps", NS).delete("fg-owner", { propagationPolicy: "Foreground" });
  await gone("configmaps", "fg-dep");
  await waitFor(async () => (await get("secrets", "fg-held"))?.metadata.deletionTimestamp !== undefined, {
    what: "the held dependent marked for deletion",
  });
  const waiting = await get("configmaps", "fg-owner");
  t.ok(waiting?.metadata.deletionTimestamp, "the owner is being deleted");
  t.same(waiting?.metadata.finalizers, ["foregroundDeletion"], "and waits with foregroundDeletion");
  await c.client.resource("v1", "secrets", NS).patch("fg-held", { metadata: { finalizers: null } }, "merge");
  await gone("secrets", "fg-held");
  await gone("configmaps", "fg-owner");
});

t.test("orphan: dependents stay, without the owner's reference", async (t) => {
  const owner = await create(c.client, "configmaps", "or-owner");
  const other = await create(c.client, "configmaps", "or-other-owner");
  await create(c.client, "configmaps", "or-dep", { owners: [refTo(owner), refTo(other)] });
  await create(c.client, "secrets", "or-dep-secret", { owners: [refTo(owner)] });
  await c.client.resource("v1", "configmaps", NS).delete("or-owner", { propagationPolicy: "Orphan" });
  await gone("configmaps", "or-owner");
  const dep = await get("configmaps", "or-dep");
  t.same(
    dep?.metadata.ownerReferences?.map((r) => r.name),
    ["or-other-owner"],
    "only the deleted owner's reference is removed",
  );
  const secret = await get("secrets", "or-dep-secret");
  t.ok(secret, "the dependent stays");
  // kube omits an empty list; Skiff's server may keep `ownerReferences: []`.
  t.equal(secret?.metadata.ownerReferences?.length ?? 0, 0, "with no owner references left");
});

t.test("a dependent whose owner never existed is deleted", async (t) => {
  await create(c.client, "configmaps", "ghost-dep", {
    owners: [
      { apiVersion: "v1", kind: "ConfigMap", name: "ghost", uid: "3c5a9a8e-0000-4000-8000-000000000001" },
    ],
  });
  await gone("configmaps", "ghost-dep");
  t.pass("deleted");
});

t.test("a dependent with one owner left loses only the dangling reference", async (t) => {
  const owner = await create(c.client, "configmaps", "half-owner");
  await create(c.client, "configmaps", "half-dep", {
    owners: [
      refTo(owner),
      { apiVersion: "v1", kind: "ConfigMap", name: "ghost2", uid: "3c5a9a8e-0000-4000-8000-000000000002" },
    ],
  });
  await waitFor(async () => (await get("configmaps", "half-dep"))?.metadata.ownerReferences?.length === 1, {
    what: "the dangling reference patched out",
  });
  const dep = await get("configmaps", "half-dep");
  t.equal(dep?.metadata.ownerReferences?.[0]?.uid, owner.metadata.uid);
});

t.test("a chain of three levels goes in background", async (t) => {
  const a = await create(c.client, "configmaps", "chain-a");
  const b = await create(c.client, "configmaps", "chain-b", { owners: [refTo(a)] });
  await create(c.client, "secrets", "chain-c", { owners: [refTo(b)] });
  await c.client.resource("v1", "configmaps", NS).delete("chain-a");
  await gone("configmaps", "chain-b");
  await gone("secrets", "chain-c");
  t.pass("all gone");
});

t.test("a cluster-scoped owner of namespaced dependents", async (t) => {
  const pcs = c.client.resource("scheduling.k8s.io/v1", "priorityclasses");
  const owner = await pcs.create({
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name: "gc-e2e-owner" },
    value: 1000,
  });
  await create(c.client, "configmaps", "cluster-owned", { owners: [refTo(owner)] });
  await pcs.delete("gc-e2e-owner");
  await gone("configmaps", "cluster-owned");
  t.pass("deleted");
});

t.test("an owner reference across namespaces is invalid: event, and the dependent goes", async (t) => {
  await c.namespace("gc-e2e-other");
  const owner = await create(c.client, "configmaps", "x-owner");
  const dep = await create(c.client, "configmaps", "x-dep", {
    owners: [refTo(owner)],
    namespace: "gc-e2e-other",
  });
  await gone("configmaps", "x-dep", "gc-e2e-other");
  t.ok(await get("configmaps", "x-owner"), "the owner is left alone");
  await waitFor(
    async () => {
      const evs = await c.client.resource("v1", "events", "gc-e2e-other").list();
      return evs.items.some(
        (e) =>
          e.reason === "OwnerRefInvalidNamespace" &&
          (e.involvedObject as { uid?: string }).uid === dep.metadata.uid,
      );
    },
    { what: "an OwnerRefInvalidNamespace event on the dependent" },
  );
});

const KUBECTL = "/usr/bin/kubectl";
// Off CI a missing kubectl skips this test with the reason; under CI it must run.
const kubectlSkip =
  existsSync(KUBECTL) || process.env.CI === "true" || process.env.CI === "1"
    ? false
    : `${KUBECTL} is not installed (node scripts/setup.mjs installs it)`;

t.test("kubectl delete --cascade=foreground waits for a chain", { skip: kubectlSkip }, async (t) => {
  const a = await create(c.client, "configmaps", "kf-a");
  const b = await create(c.client, "configmaps", "kf-b", { owners: [refTo(a, true)] });
  await create(c.client, "secrets", "kf-c", { owners: [refTo(b, true)] });
  const home = mkdtempSync(join(tmpdir(), "skiff-gc-kubectl-"));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(
      KUBECTL,
      ["--cache-dir", join(home, "cache"), "-n", NS, "delete", "configmap", "kf-a", "--cascade=foreground"],
      { env: { ...process.env, KUBECONFIG: c.kubeconfig, HOME: home }, timeout: 60_000, encoding: "utf8" },
      (err, _stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stderr }),
    ),
  );
  t.equal(r.code, 0, "kubectl delete", { stderr: r.stderr });
  // kubectl waits for the owner to go, which in the foreground is after its dependents.
  t.equal(await get("configmaps", "kf-a"), undefined, "the owner is gone");
  t.equal(await get("configmaps", "kf-b"), undefined, "so is its dependent");
  t.equal(await get("secrets", "kf-c"), undefined, "and the dependent's dependent");
});
