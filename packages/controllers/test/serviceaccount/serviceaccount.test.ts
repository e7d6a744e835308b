/** The serviceaccount controller on the fake client (kube's serviceaccounts_controller_test). */
import type { KubeObject } from "@skiff/api";
import { ApiError, FakeClient } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { newControllerContext } from "../../src/context.js";
import { serviceAccountControllerDescriptor } from "../../src/serviceaccount/descriptor.js";
import { ServiceAccountsController } from "../../src/serviceaccount/serviceaccounts-controller.js";

const ns = (name: string, phase = "Active"): KubeObject => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name },
  status: { phase },
});
const sa = (namespace: string, name = "default"): KubeObject => ({
  apiVersion: "v1",
  kind: "ServiceAccount",
  metadata: { name, namespace },
});

function setup(objects: KubeObject[]) {
  const client = new FakeClient({ objects });
  const ctx = newControllerContext({ client });
  const c = new ServiceAccountsController(ctx);
  for (const o of objects)
    ctx.informers.informerFor("v1", o.kind === "Namespace" ? "namespaces" : "serviceaccounts").indexer.add(o);
  return { client, ctx, c };
}

t.test("an Active namespace without its default ServiceAccount gets one", async (t) => {
  const { client, c } = setup([ns("a"), ns("b"), sa("b"), ns("gone", "Terminating")]);
  await c.sync("a");
  await c.sync("b");
  await c.sync("gone");
  await c.sync("missing");
  t.same(
    client.writes().map((a) => [a.verb, a.resource, a.namespace, a.object?.metadata.name]),
    [["create", "serviceaccounts", "a", "default"]],
    "only where it is missing, only in an Active namespace",
  );
  t.equal(serviceAccountControllerDescriptor.name, "serviceaccount-controller");
  t.same(serviceAccountControllerDescriptor.aliases, ["serviceaccount"]);
});

t.test("already there or a terminating namespace is no error; anything else is retried", async (t) => {
  const { client, c } = setup([ns("a")]);
  const refuse = (e: ApiError) =>
    client.prependReactor("create", "serviceaccounts", () => ({ handled: true, error: e }));
  refuse(new ApiError(409, { kind: "Status", reason: "AlreadyExists", code: 409, message: "exists" }));
  await c.sync("a");
  refuse(
    new ApiError(403, {
      kind: "Status",
      reason: "Forbidden",
      code: 403,
      message: "unable to create new content in namespace a because it is being terminated",
      details: { causes: [{ reason: "NamespaceTerminating", field: "metadata.namespace" }] },
    }),
  );
  await c.sync("a");
  refuse(new ApiError(500, { kind: "Status", reason: "InternalError", code: 500, message: "etcd down" }));
  await t.rejects(c.sync("a"), /etcd down/);
});

t.test("a deleted default ServiceAccount queues its namespace; a new namespace is queued", async (t) => {
  const client = new FakeClient({ objects: [ns("a"), sa("a"), sa("a", "other")] });
  const ctx = newControllerContext({ client });
  const c = new ServiceAccountsController(ctx);
  ctx.informers.start();
  await ctx.informers.waitForCacheSync();
  while (c.queue.len() > 0) c.queue.done((await c.queue.get()) as string);
  await client.resource("v1", "serviceaccounts", "a").delete("other");
  await client.resource("v1", "serviceaccounts", "a").delete("default");
  await waitFor(() => c.queue.len() === 1, { what: "namespace a queued" });
  t.equal(await c.queue.get(), "a");
  c.queue.done("a");
  await client.resource("v1", "namespaces").create(ns("b"));
  await waitFor(() => c.queue.len() === 1, { what: "namespace b queued" });
  t.ok(await c.processNextWorkItem());
  t.ok(client.tracker.get("v1", "serviceaccounts", "b", "default"), "made through the API");
  c.queue.shutDown();
  await ctx.informers.shutdown();
  await ctx.broadcaster.shutdown();
});
