/**
 * The SharedInformerFactory against the real API server (in process, embedded store): one informer
 * and one watch per type however many components ask, informers asked for after start() started by
 * the next start(), listers through the NamespaceIndex, and a metadata-only informer whose objects
 * are meta.k8s.io/v1 PartialObjectMetadata, in its list and in its watch events.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeObject } from "@skiff/api";
// Tests only: the client does not depend on the API server; its tests run against a real one.
import { startServer } from "@skiff/apiserver";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import {
  configFromKubeconfig,
  KubeClient,
  type PartialObjectMetadata,
  type ResourceClient,
  SharedInformerFactory,
} from "../src/index.js";

const NS = "factory-test";
type ConfigMap = KubeObject & { data?: Record<string, string> };

/** A client that counts the watches it opens, by resource. */
class CountingClient extends KubeClient {
  readonly opened: string[] = []; // not `watches`: KubeClient has a private field of that name

  override resource<T extends KubeObject = KubeObject>(
    apiVersion: string,
    resource: string,
    namespace?: string,
  ) {
    return this.counted(super.resource<T>(apiVersion, resource, namespace), resource);
  }

  override metadata(apiVersion: string, resource: string, namespace?: string) {
    return this.counted(super.metadata(apiVersion, resource, namespace), `${resource} (metadata)`);
  }

  private counted<T extends KubeObject>(rc: ResourceClient<T>, what: string): ResourceClient<T> {
    const watch = rc.watch.bind(rc);
    rc.watch = (o) => {
      this.opened.push(what);
      return watch(o);
    };
    return rc;
  }
}

const dir = mkdtempSync(join(tmpdir(), "skiff-factory-"));
const kubeconfig = join(dir, "admin.kubeconfig");
const server = await startServer(
  [
    ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
    ...["--write-kubeconfig", kubeconfig],
  ],
  () => {},
);
const client = new CountingClient(configFromKubeconfig(kubeconfig));
t.teardown(async () => {
  await client.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cm = (name: string, labels: Record<string, string>): ConfigMap => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: NS, labels },
  data: { secret: "value" },
});

t.test("one informer and one watch per type; metadata-only informers", async (t) => {
  await client
    .resource("v1", "namespaces")
    .create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  const cms = client.resource<ConfigMap>("v1", "configmaps", NS);
  await cms.create(cm("web", { app: "web" }));
  await cms.create(cm("db", { app: "db" }));

  const errors: unknown[] = [];
  const factory = new SharedInformerFactory(client, { namespace: NS, onError: (e) => errors.push(e) });
  t.teardown(() => factory.shutdown());
  // Two components ask for config maps; a third with a selector; a fourth for metadata only.
  const scheduler = factory.informerFor<ConfigMap>("v1", "configmaps");
  const controller = factory.informerFor<ConfigMap>("v1", "configmaps");
  const selected = factory.informerFor<ConfigMap>("v1", "configmaps", { labelSelector: "app=web" });
  const meta = factory.informerFor<PartialObjectMetadata>("v1", "configmaps", { metadataOnly: true });
  t.equal(scheduler, controller, "the same informer for the same type");
  t.not(selected, scheduler, "another for another selector");
  t.not(meta, scheduler, "another for metadata only");

  const seen = { scheduler: [] as string[], controller: [] as string[], meta: [] as string[] };
  scheduler.addEventHandler({ onAdd: (o) => seen.scheduler.push(`add ${o.metadata.name}`) });
  controller.addEventHandler({ onAdd: (o) => seen.controller.push(`add ${o.metadata.name}`) });
  const metaDeletes: PartialObjectMetadata[] = [];
  meta.addEventHandler({
    onAdd: (o) => seen.meta.push(`add ${o.kind} ${o.metadata.name}`),
    onDelete: (o) => metaDeletes.push(o),
  });

  factory.start();
  const synced = await factory.waitForCacheSync();
  t.same(synced, {
    "v1/configmaps?namespace=factory-test": true,
    "v1/configmaps?namespace=factory-test&labelSelector=app%3Dweb": true,
    "v1/configmaps?namespace=factory-test&metadataOnly=true": true,
  });
  await waitFor(() => client.opened.length === 3, { what: "one watch per informer" });
  t.same(client.opened.sort(), ["configmaps", "configmaps", "configmaps (metadata)"]);

  // Every object in the cache, one notification per handler, from the one shared watch.
  const names = (l: string[]) => [...l].sort();
  t.same(names(seen.scheduler), ["add db", "add web"]);
  t.same(names(seen.controller), names(seen.scheduler));
  t.same(
    selected.list().map((o) => o.metadata.name),
    ["web"],
  );
  t.same(
    scheduler
      .lister()
      .namespace(NS)
      .list("app in (web,db)")
      .map((o) => o.metadata.name)
      .sort(),
    ["db", "web"],
  );

  // Metadata only: the list's objects and then the watch's.
  const web = meta.get(`${NS}/web`);
  t.equal(web?.apiVersion, "meta.k8s.io/v1");
  t.equal(web?.kind, "PartialObjectMetadata");
  t.same(web?.metadata.labels, { app: "web" });
  t.notOk("data" in (web ?? {}), "no data");
  await cms.create(cm("late", { app: "late" }));
  await waitFor(() => seen.meta.includes("add PartialObjectMetadata late"), {
    what: "the metadata watch's ADDED",
  });
  await waitFor(() => seen.scheduler.includes("add late"), { what: "the shared watch's ADDED" });
  t.same(seen.controller, seen.scheduler);
  await cms.delete("late");
  await waitFor(() => metaDeletes.length === 1, { what: "the metadata watch's DELETED" });
  t.equal(metaDeletes[0]?.kind, "PartialObjectMetadata");
  t.equal(metaDeletes[0]?.metadata.name, "late");

  // An informer asked for after start() waits for the next start().
  const namespaces = factory.informerFor("v1", "namespaces", { namespace: "" });
  t.notOk(namespaces.isStarted());
  factory.start();
  t.ok(namespaces.isStarted());
  t.ok((await factory.waitForCacheSync())["v1/namespaces"]);
  t.ok(namespaces.get(NS), "a cluster-scoped informer across the factory's namespace");
  t.equal(client.opened.length, 4, "no informer watched twice");

  await factory.shutdown();
  const secrets = factory.informerFor("v1", "secrets");
  factory.start();
  t.notOk(secrets.isStarted(), "nothing starts after shutdown");
  t.same(errors, []);
});
