/**
 * kube's root-ca-cert-publisher controller (pkg/controller/certificates/rootcacertpublisher): every
 * namespace that is not terminating holds a ConfigMap `kube-root-ca.crt` whose `ca.crt` is the
 * cluster CA, put back when deleted or changed. A level-triggered loop over the watch cache:
 * a pass over every namespace whenever a namespace or a kube-root-ca.crt ConfigMap changes (the
 * cache's events, as kube's informers), and every `intervalMs` besides. It writes through the
 * ConfigMap storage (so the cache sees its own writes at once). It runs in the API server until
 * the controller manager exists.
 */
import type { KindDef, KubeObject, Registry } from "@skiff/api";
import type { Logger } from "@skiff/component-base";
import { ROOT_CA_CONFIGMAP } from "../admission/service-account.js";
import { prepareCreate, prepareUpdate } from "../handlers/prepare.js";
import type { ResourceStorage } from "../registry/store.js";
import { versioner } from "../storage/versioner.js";
import type { CacheEvent, Subscription, WatchCache } from "../storage/watch-cache.js";

const DESCRIPTION =
  "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

export interface RootCaPublisherDeps {
  registry: Registry;
  cache: WatchCache;
  configMaps: ResourceStorage;
  caPem: string;
  now: () => Date;
  log?: Logger;
  /** How often every namespace is checked without an event (default 10 s). */
  intervalMs?: number;
}

const noValidation = { dryRun: false, validate: async () => [] };

/** Starts the loop; returns its stop. */
export function startRootCaPublisher(d: RootCaPublisherDeps): () => void {
  const nsKind = d.registry.resource("", "v1", "namespaces") as KindDef;
  const cmKind = d.registry.resource("", "v1", "configmaps") as KindDef;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  const subscriptions = new Map<KindDef, Subscription>();

  /** Passes are triggered by the caches' events: one at a time, one more if asked meanwhile. */
  function kick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    clearTimeout(timer);
    void pass()
      .catch((e: unknown) => d.log?.debug({ err: String(e) }, "root-ca-cert-publisher: pass failed"))
      .finally(() => {
        running = false;
        if (stopped) return;
        if (again) {
          again = false;
          kick();
        } else timer = setTimeout(kick, d.intervalMs ?? 10_000);
      });
  }

  /** (Re)subscribes to the namespaces and the ConfigMaps, after a cache reset too. */
  async function watch(kind: KindDef, relevant: (e: CacheEvent) => boolean): Promise<void> {
    if (subscriptions.has(kind)) return;
    const cache = await d.cache.for(kind);
    const sub = cache.subscribe(undefined, cache.revision, {
      deliver: (events) => {
        if (events.some(relevant)) kick();
        return true;
      },
      closed: () => {
        subscriptions.delete(kind);
      },
    });
    if (sub !== undefined) subscriptions.set(kind, sub);
  }

  async function sync(ns: KubeObject): Promise<void> {
    const name = ns.metadata.name as string;
    const phase = (ns.status as { phase?: string } | undefined)?.phase;
    if (ns.metadata.deletionTimestamp !== undefined || phase === "Terminating") return;
    const cm = (await d.cache.for(cmKind)).get(name, ROOT_CA_CONFIGMAP);
    const data = (cm?.data ?? {}) as Record<string, string>;
    if (cm !== undefined && data["ca.crt"] === d.caPem && Object.keys(data).length === 1) return;
    const want: KubeObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        ...(cm?.metadata ?? { name: ROOT_CA_CONFIGMAP, namespace: name }),
        annotations: { ...(cm?.metadata.annotations ?? {}), "kubernetes.io/description": DESCRIPTION },
      },
      data: { "ca.crt": d.caPem },
    };
    if (cm === undefined) await d.configMaps.create(prepareCreate(cmKind, want, name, d.now()), noValidation);
    else
      await d.configMaps.update(
        prepareUpdate(cmKind, want, cm, undefined),
        cm,
        versioner.objectResourceVersion(cm),
        noValidation,
      );
  }

  async function pass(): Promise<void> {
    await watch(nsKind, () => true);
    await watch(cmKind, (e) => e.object.metadata.name === ROOT_CA_CONFIGMAP);
    const namespaces = (await d.cache.for(nsKind)).list(undefined).items;
    for (const ns of namespaces) {
      if (stopped) return;
      // A namespace going away, or a race with another writer: the next pass tries again.
      await sync(ns).catch((e: unknown) =>
        d.log?.debug({ namespace: ns.metadata.name, err: String(e) }, "root-ca-cert-publisher: retrying"),
      );
    }
  }

  kick();
  return () => {
    stopped = true;
    clearTimeout(timer);
    for (const s of subscriptions.values()) s.cancel();
    subscriptions.clear();
  };
}
