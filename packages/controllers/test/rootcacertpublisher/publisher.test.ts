/** The root CA certificate publisher on the fake client (kube's rootcacertpublisher publisher_test). */
import type { KubeObject } from "@skiff/api";
import { ApiError, FakeClient } from "@skiff/client";
import { silentLogger } from "@skiff/component-base";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { newControllerContext } from "../../src/context.js";
import { rootCACertPublisherDescriptor } from "../../src/rootcacertpublisher/descriptor.js";
import {
  DESCRIPTION,
  DESCRIPTION_ANNOTATION,
  ROOT_CA_CERT_CONFIGMAP_NAME,
  RootCACertPublisher,
} from "../../src/rootcacertpublisher/publisher.js";

const CA = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n";
const ns = (name: string, phase = "Active"): KubeObject => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name },
  status: { phase },
});
const cm = (
  namespace: string,
  data: Record<string, string>,
  annotations?: Record<string, string>,
): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: ROOT_CA_CERT_CONFIGMAP_NAME, namespace, ...(annotations ? { annotations } : {}) },
  data,
});

function setup(objects: KubeObject[]) {
  const client = new FakeClient({ objects });
  const ctx = newControllerContext({ client });
  const c = new RootCACertPublisher(ctx, CA);
  const cms = ctx.informers.informerFor("v1", "configmaps", {
    fieldSelector: `metadata.name=${ROOT_CA_CERT_CONFIGMAP_NAME}`,
  });
  for (const o of objects) if (o.kind === "ConfigMap") cms.indexer.add(o);
  return { client, ctx, c };
}

t.test("created where missing, put back where changed, left alone where right", async (t) => {
  const good = cm("good", { "ca.crt": CA }, { [DESCRIPTION_ANNOTATION]: DESCRIPTION });
  const { client, ctx, c } = setup([
    good,
    cm("stale", { "ca.crt": "old", extra: "x" }, { other: "kept" }),
    cm("bare", { "ca.crt": CA }),
  ]);
  for (const n of ["new", "good", "stale", "bare"]) await c.sync(n);
  const writes = client.writes();
  t.same(
    writes.map((a) => [a.verb, a.namespace]),
    [
      ["create", "new"],
      ["update", "stale"],
      ["update", "bare"],
    ],
  );
  t.same(writes[0]?.object, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "kube-root-ca.crt",
      namespace: "new",
      annotations: { "kubernetes.io/description": DESCRIPTION },
    },
    data: { "ca.crt": CA },
  });
  t.same(writes[1]?.object?.data, { "ca.crt": CA }, "only ca.crt");
  t.same(writes[1]?.object?.metadata.annotations, { other: "kept", [DESCRIPTION_ANNOTATION]: DESCRIPTION });
  t.same(
    writes[2]?.object?.metadata.annotations,
    { [DESCRIPTION_ANNOTATION]: DESCRIPTION },
    "the annotation added",
  );
  const metrics = await ctx.metrics.getSingleMetricAsString("root_ca_cert_publisher_sync_total");
  t.match(metrics, /root_ca_cert_publisher_sync_total\{code="200"\} 4/);
});

t.test("a namespace gone or terminating is no error", async (t) => {
  const { client, c } = setup([]);
  client.prependReactor("create", "configmaps", (a) => ({
    handled: true,
    error:
      a.namespace === "gone"
        ? new ApiError(404, {
            kind: "Status",
            reason: "NotFound",
            code: 404,
            message: 'namespaces "gone" not found',
          })
        : a.namespace === "ending"
          ? new ApiError(403, {
              kind: "Status",
              reason: "Forbidden",
              code: 403,
              message: "being terminated",
              details: { causes: [{ reason: "NamespaceTerminating" }] },
            })
          : new ApiError(500, { kind: "Status", reason: "InternalError", code: 500, message: "boom" }),
  }));
  await c.sync("gone");
  await c.sync("ending");
  await t.rejects(c.sync("other"), /boom/);
});

t.test("events: namespaces added or Active, and changes to kube-root-ca.crt", async (t) => {
  const client = new FakeClient({ objects: [ns("a")] });
  const ctx = newControllerContext({ client });
  const c = new RootCACertPublisher(ctx, CA);
  ctx.informers.start();
  await ctx.informers.waitForCacheSync();
  t.equal(await c.queue.get(), "a", "an existing namespace is queued");
  c.queue.done("a");
  await c.sync("a");
  t.equal(client.tracker.list("v1", "configmaps", "a").length, 1, "kube-root-ca.crt in a");
  const cms = client.resource("v1", "configmaps", "a");
  await cms.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "unrelated" } });
  await cms.delete(ROOT_CA_CERT_CONFIGMAP_NAME);
  await waitFor(() => c.queue.len() === 1, { what: "a queued again after the delete" });
  t.equal(await c.queue.get(), "a");
  c.queue.done("a");
  const terminating = {
    ...(await client.resource("v1", "namespaces").get("a")),
    status: { phase: "Terminating" },
  };
  await client.resource("v1", "namespaces").updateStatus(terminating);
  await cms.delete("unrelated");
  // Neither an update to a namespace that is not Active nor another ConfigMap queues anything;
  // a namespace made afterwards shows the informers delivered everything before it.
  await client.resource("v1", "namespaces").create(ns("b"));
  await waitFor(() => c.queue.len() === 1, { what: "b queued" });
  t.equal(await c.queue.get(), "b");
  c.queue.done("b");
  c.queue.shutDown();
  await ctx.informers.shutdown();
  await ctx.broadcaster.shutdown();
});

t.test("the descriptor: not started without a CA", async (t) => {
  const ctx = newControllerContext({ client: new FakeClient(), log: silentLogger });
  t.equal(rootCACertPublisherDescriptor.init(ctx), undefined);
  const withCa = newControllerContext({ client: new FakeClient(), config: { rootCaPem: CA } });
  t.ok(rootCACertPublisherDescriptor.init(withCa) instanceof RootCACertPublisher);
  t.equal(rootCACertPublisherDescriptor.name, "root-ca-certificate-publisher-controller");
  t.same(rootCACertPublisherDescriptor.aliases, ["root-ca-cert-publisher"]);
});
