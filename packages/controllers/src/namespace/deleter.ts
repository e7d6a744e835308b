/**
 * Emptying a terminating namespace (kube's namespacedResourcesDeleter,
 * pkg/controller/namespace/deletion/namespaced_resources_deleter.go). Delete(name): mark the
 * namespace Terminating, delete every namespaced resource that discovery says can be deleted
 * (DeleteCollection with background propagation, or each item, listed metadata-only, where the
 * resource has no DeleteCollection), list what remains, write the conditions, and once nothing
 * remains remove the `kubernetes` token through namespaces/finalize. Content still going away
 * (graceful pods, finalizers) ends the pass with a ResourcesRemainingError carrying kube's
 * estimate. Unlike kube, which walks the resources one after another, several resources are
 * emptied at once (pods first, their grace period being the longest wait).
 */
import { metav1Time } from "@skiff/api";
import {
  ApiError,
  type ClientInterface,
  type Clock,
  cloneObject,
  isConflict,
  isNotFound,
  type PartialObjectMetadata,
} from "@skiff/client";
import type { APIResourceList } from "../util/discovery.js";
import type { NamespaceDeleterApi } from "./api.js";
import { type ContentTotals, NamespaceConditionUpdater } from "./conditions.js";
import type { DiscoveryResult } from "./discovery.js";
import { apiVersionOf, FINALIZER_KUBERNETES, type GroupVersionResource, type Namespace } from "./types.js";

/** kube's finalizerEstimateSeconds: how long objects held by finalizers are assumed to take. */
export const FINALIZER_ESTIMATE_SECONDS = 15;
/** Resources emptied at once by one pass (kube: one at a time). */
export const DEFAULT_DELETE_PARALLELISM = 8;

/** Content remains that should go by itself within `estimate` seconds (kube's ResourcesRemainingError). */
export class ResourcesRemainingError extends Error {
  constructor(readonly estimate: number) {
    super(`some content remains in the namespace, estimate ${estimate} seconds before it is removed`);
    this.name = "ResourcesRemainingError";
  }
}

/** What one resource left behind (kube's gvrDeletionMetadata). */
interface GvrDeletionMetadata {
  finalizerEstimateSeconds: number;
  numRemaining: number;
  finalizersToNumRemaining: Map<string, number>;
}

export interface NamespacedResourcesDeleterOptions {
  client: ClientInterface;
  api: NamespaceDeleterApi;
  clock: Clock;
  /** The spec.finalizers token this deleter removes (default "kubernetes"). */
  finalizerToken?: string;
  parallelism?: number;
}

const isMethodNotSupported = (e: unknown) => e instanceof ApiError && e.status === 405;
const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));
const gvrString = (g: GroupVersionResource) =>
  `${g.group === "" ? "" : `${g.group}/`}${g.version}, Resource=${g.resource}`;

/** Runs fn on every item, at most `limit` at once. */
async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
}

export class NamespacedResourcesDeleter {
  /** kube's operationNotSupportedCache: "<operation> <gvr>" that answered 405 or 404. */
  private readonly notSupported = new Set<string>();
  private readonly token: string;

  constructor(private readonly o: NamespacedResourcesDeleterOptions) {
    this.token = o.finalizerToken ?? FINALIZER_KUBERNETES;
  }

  private get namespaces() {
    return this.o.client.resource<Namespace>("v1", "namespaces");
  }

  /**
   * kube's Delete: nothing for a namespace that is gone or not being deleted; throws
   * ResourcesRemainingError while content is still going away, any other error to retry.
   */
  async delete(nsName: string): Promise<void> {
    let ns: Namespace;
    try {
      ns = await this.namespaces.get(nsName);
      if (ns.metadata.deletionTimestamp === undefined) return;
      ns = await this.retryOnConflictError(ns, (n) => this.updateNamespaceStatus(n));
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (ns.metadata.deletionTimestamp === undefined) return;
    if ((ns.spec?.finalizers ?? []).length === 0) return;
    const estimate = await this.deleteAllContent(ns);
    if (estimate > 0) throw new ResourcesRemainingError(estimate);
    try {
      await this.retryOnConflictError(ns, (n) => this.finalizeNamespace(n));
    } catch (e) {
      // Another controller sharing the token may have finished the namespace.
      if (!isNotFound(e)) throw e;
    }
  }

  /** kube's retryOnConflictError: fn again on the latest namespace while it conflicts. */
  private async retryOnConflictError(
    ns: Namespace,
    fn: (ns: Namespace) => Promise<Namespace>,
  ): Promise<Namespace> {
    let latest = ns;
    for (;;) {
      try {
        return await fn(latest);
      } catch (e) {
        if (!isConflict(e)) throw e;
      }
      const prev = latest;
      latest = await this.namespaces.get(prev.metadata.name as string);
      if (prev.metadata.uid !== latest.metadata.uid)
        throw new Error("namespace uid has changed across retries");
    }
  }

  /** kube's updateNamespaceStatusFunc: status.phase Terminating. */
  private async updateNamespaceStatus(ns: Namespace): Promise<Namespace> {
    if (ns.metadata.deletionTimestamp === undefined || ns.status?.phase === "Terminating") return ns;
    const next = cloneObject(ns);
    next.status = { ...next.status, phase: "Terminating" };
    return this.namespaces.updateStatus(next);
  }

  /** kube's finalizeNamespace: spec.finalizers without our token (sorted, as kube's set). */
  private finalizeNamespace(ns: Namespace): Promise<Namespace> {
    const finalizers = [...new Set(ns.spec?.finalizers ?? [])].filter((f) => f !== this.token).sort();
    return this.o.api.finalize({ ...cloneObject(ns), spec: { ...ns.spec, finalizers } });
  }

  private supported(op: string, gvr: GroupVersionResource, verbs: readonly string[]): boolean {
    return verbs.includes(op) && !this.notSupported.has(`${op} ${gvrString(gvr)}`);
  }

  /** kube's deleteCollection: whether DeleteCollection is served; throws what else went wrong. */
  private async deleteCollection(gvr: GroupVersionResource, ns: string, verbs: string[]): Promise<boolean> {
    if (!this.supported("deletecollection", gvr, verbs)) return false;
    try {
      // Background: the namespace controller purges everything itself, no orphan finalizer wanted.
      await this.o.api.deleteCollection(gvr, ns, { propagationPolicy: "Background" });
      return true;
    } catch (e) {
      // kube: a resource in discovery without the verb may answer 404 rather than 405.
      if (!isMethodNotSupported(e) && !isNotFound(e)) throw e;
      this.notSupported.add(`deletecollection ${gvrString(gvr)}`);
      return false;
    }
  }

  /** kube's listCollection, metadata only: undefined when the resource cannot be listed. */
  private async listCollection(
    gvr: GroupVersionResource,
    ns: string,
    verbs: string[],
  ): Promise<PartialObjectMetadata[] | undefined> {
    if (!this.supported("list", gvr, verbs)) return undefined;
    try {
      return (await this.o.client.metadata(apiVersionOf(gvr), gvr.resource, ns).list()).items;
    } catch (e) {
      if (!isMethodNotSupported(e) && !isNotFound(e)) throw e;
      this.notSupported.add(`list ${gvrString(gvr)}`);
      return undefined;
    }
  }

  /** kube's deleteEachItem (the deletes of one resource go out together). */
  private async deleteEachItem(gvr: GroupVersionResource, ns: string, verbs: string[]): Promise<void> {
    const items = await this.listCollection(gvr, ns, verbs);
    if (items === undefined) return;
    const rc = this.o.client.metadata(apiVersionOf(gvr), gvr.resource, ns);
    await forEachLimit(items, 16, async (item) => {
      try {
        await rc.delete(item.metadata.name as string, { propagationPolicy: "Background" });
      } catch (e) {
        if (!isNotFound(e) && !isMethodNotSupported(e)) throw e;
      }
    });
  }

  /**
   * kube's estimateGracefulTermination: for pods, the longest terminationGracePeriodSeconds of
   * those not terminal, unless that long has passed since the namespace was deleted.
   */
  private async estimateGracefulTermination(
    gvr: GroupVersionResource,
    ns: string,
    deletedAt: string,
  ): Promise<number> {
    if (gvr.group !== "" || gvr.resource !== "pods") return 0;
    let estimate = 0;
    const pods = await this.o.client.resource("v1", "pods", ns).list();
    for (const pod of pods.items) {
      const phase = (pod.status as { phase?: string } | undefined)?.phase;
      if (phase === "Succeeded" || phase === "Failed") continue;
      const grace = (pod.spec as { terminationGracePeriodSeconds?: number } | undefined)
        ?.terminationGracePeriodSeconds;
      if (grace !== undefined && grace > estimate) estimate = grace;
    }
    return this.o.clock.now() - Date.parse(deletedAt) >= estimate * 1000 ? 0 : estimate;
  }

  /** kube's deleteAllContentForGroupVersionResource. */
  private async deleteAllContentFor(
    gvr: GroupVersionResource,
    verbs: string[],
    ns: string,
    deletedAt: string,
  ): Promise<{ meta: GvrDeletionMetadata; err?: Error }> {
    const meta: GvrDeletionMetadata = {
      finalizerEstimateSeconds: 0,
      numRemaining: 0,
      finalizersToNumRemaining: new Map(),
    };
    try {
      meta.finalizerEstimateSeconds = await this.estimateGracefulTermination(gvr, ns, deletedAt);
    } catch (e) {
      return { meta, err: asError(e) };
    }
    let remaining: PartialObjectMetadata[] | undefined;
    try {
      if (!(await this.deleteCollection(gvr, ns, verbs))) await this.deleteEachItem(gvr, ns, verbs);
      // What is left is no error while the estimate says it is still going away.
      remaining = await this.listCollection(gvr, ns, verbs);
    } catch (e) {
      return { meta, err: asError(e) };
    }
    if (remaining === undefined) return { meta };
    if (remaining.length === 0) return { meta: { ...meta, finalizerEstimateSeconds: 0 } };
    meta.numRemaining = remaining.length;
    for (const item of remaining)
      for (const f of item.metadata.finalizers ?? [])
        meta.finalizersToNumRemaining.set(f, (meta.finalizersToNumRemaining.get(f) ?? 0) + 1);
    if (meta.finalizerEstimateSeconds !== 0) return { meta };
    // Finalizers are a normal wait: give their controllers (garbage collection...) some time.
    if (meta.finalizersToNumRemaining.size > 0)
      return { meta: { ...meta, finalizerEstimateSeconds: FINALIZER_ESTIMATE_SECONDS } };
    return {
      meta,
      err: new Error(`unexpected items still remain in namespace: ${ns} for gvr: ${gvrString(gvr)}`),
    };
  }

  /** kube's deleteAllContent: returns the estimate in seconds (0: nothing remains); throws the errors. */
  private async deleteAllContent(ns: Namespace): Promise<number> {
    const name = ns.metadata.name as string;
    const deletedAt = ns.metadata.deletionTimestamp as string;
    const errs: Error[] = [];
    const updater = new NamespaceConditionUpdater(() => metav1Time(new Date(this.o.clock.now())));
    let discovered: DiscoveryResult;
    try {
      discovered = await this.o.api.discoverResources();
    } catch (e) {
      discovered = { resources: [], error: asError(e) };
    }
    // Discovery errors are not fatal: empty what was found.
    if (discovered.error !== undefined) {
      errs.push(discovered.error);
      updater.processDiscoverResourcesErr(discovered.error);
    }
    const { gvrs, parseErr } = deletableGroupVersionResources(discovered.resources);
    if (parseErr !== undefined) {
      errs.push(parseErr);
      updater.processGroupVersionErr(parseErr);
    }
    // Pods first: their grace period is the longest wait.
    gvrs.sort(
      (a, b) =>
        Number(b.gvr.group === "" && b.gvr.resource === "pods") -
        Number(a.gvr.group === "" && a.gvr.resource === "pods"),
    );
    const totals: ContentTotals = { gvrToNumRemaining: new Map(), finalizersToNumRemaining: new Map() };
    let estimate = 0;
    await forEachLimit(gvrs, this.o.parallelism ?? DEFAULT_DELETE_PARALLELISM, async ({ gvr, verbs }) => {
      const { meta, err } = await this.deleteAllContentFor(gvr, verbs, name, deletedAt);
      if (err !== undefined) {
        errs.push(err);
        updater.processDeleteContentErr(err);
      }
      if (meta.finalizerEstimateSeconds > estimate) estimate = meta.finalizerEstimateSeconds;
      if (meta.numRemaining > 0) {
        totals.gvrToNumRemaining.set(`${gvr.resource}.${gvr.group}`, meta.numRemaining);
        for (const [f, n] of meta.finalizersToNumRemaining)
          totals.finalizersToNumRemaining.set(f, (totals.finalizersToNumRemaining.get(f) ?? 0) + n);
      }
    });
    updater.processContentTotals(totals);
    // Always written when changed: a condition that failed before may be fine now.
    const status = { ...ns.status, conditions: (ns.status?.conditions ?? []).map((c) => ({ ...c })) };
    if (updater.update(status.conditions)) {
      try {
        await this.namespaces.updateStatus({ ...ns, status });
      } catch {
        // kube logs and goes on: the conditions are written by a later pass.
      }
    }
    if (errs.length > 0) throw new AggregateError(errs, errs.map((e) => e.message).join(", "));
    return estimate;
  }
}

/**
 * kube's discovery.FilteredBy(SupportsAllVerbs{"delete"}) then GroupVersionResources: the
 * resources that can be deleted, with their verbs; a group version that does not parse is an error.
 */
function deletableGroupVersionResources(lists: APIResourceList[]): {
  gvrs: { gvr: GroupVersionResource; verbs: string[] }[];
  parseErr?: Error;
} {
  const gvrs: { gvr: GroupVersionResource; verbs: string[] }[] = [];
  for (const list of lists) {
    const parts = list.groupVersion.split("/");
    if (parts.length > 2 || parts.some((p) => p === "")) {
      // As kube's GroupVersionResources: nothing is deleted on this pass.
      return { gvrs: [], parseErr: new Error(`unexpected GroupVersion string: ${list.groupVersion}`) };
    }
    const [group, version] = parts.length === 1 ? ["", parts[0] as string] : (parts as [string, string]);
    for (const r of list.resources)
      if (r.verbs.includes("delete"))
        gvrs.push({ gvr: { group, version, resource: r.name }, verbs: r.verbs });
  }
  return { gvrs };
}
