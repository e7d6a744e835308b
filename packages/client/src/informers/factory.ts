/**
 * client-go's informers.SharedInformerFactory: one informer per (apiVersion, resource, namespace,
 * label selector, field selector, metadata-only) in a process, however many components ask for
 * it, so that the scheduler and the controllers running in one process share one list and one
 * watch per type. start() starts the informers asked for so far (a later start() starts those
 * asked for since); shutdown() stops them all. Every informer it makes has the NamespaceIndex,
 * as client-go's generated informers do.
 */
import type { KubeObject } from "@skiff/api";
import type { ClientInterface } from "../client.js";
import type { ResourceClient } from "../resource.js";
import { type Indexers, MetaNamespaceIndexFunc, NamespaceIndex } from "./indexer.js";
import { Informer } from "./informer.js";

export interface SharedInformerFactoryOptions {
  /** The default resync period of the informers (client-go's defaultResync); 0 or unset: none. */
  resyncPeriodMs?: number;
  /** Only this namespace (client-go's WithNamespace); unset: all namespaces. */
  namespace?: string;
  /** Failed lists and watches and handler exceptions of every informer. */
  onError?(e: unknown): void;
}

export interface InformerForOptions<T extends KubeObject = KubeObject> {
  /** Overrides the factory's namespace ("" for all namespaces). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** A metadata-only informer (client-go's metadatainformer): objects are PartialObjectMetadata. */
  metadataOnly?: boolean;
  /** Used when this call creates the informer; a shared informer keeps its first period. */
  resyncPeriodMs?: number;
  /** Added to the informer, shared or new (the same function under the same name is no conflict). */
  indexers?: Indexers<T>;
}

export class SharedInformerFactory {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private shuttingDown = false;

  constructor(
    private readonly client: ClientInterface,
    private readonly opts: SharedInformerFactoryOptions = {},
  ) {}

  /** The one informer for this type and these options; created (not started) on first request. */
  informerFor<T extends KubeObject = KubeObject>(
    apiVersion: string,
    resource: string,
    opts: InformerForOptions<T> = {},
  ): Informer<T> {
    const namespace = opts.namespace ?? this.opts.namespace ?? "";
    const key = informerKey(apiVersion, resource, { ...opts, namespace });
    let informer = this.informers.get(key) as Informer<T> | undefined;
    if (informer === undefined) {
      const ns = namespace === "" ? undefined : namespace;
      // A metadata-only informer's objects are PartialObjectMetadata: the caller's T says so.
      const rc =
        opts.metadataOnly === true
          ? (this.client.metadata(apiVersion, resource, ns) as unknown as ResourceClient<T>)
          : this.client.resource<T>(apiVersion, resource, ns);
      informer = new Informer<T>(rc, {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        resyncPeriodMs: opts.resyncPeriodMs ?? this.opts.resyncPeriodMs,
        indexers: { [NamespaceIndex]: MetaNamespaceIndexFunc },
        onError: (e) => this.opts.onError?.(e),
      });
      this.informers.set(key, informer as unknown as Informer<KubeObject>);
    }
    if (opts.indexers !== undefined) informer.addIndexers(opts.indexers);
    return informer;
  }

  /** Starts every informer not yet started (client-go's Start); nothing after shutdown(). */
  start(): void {
    if (this.shuttingDown) return;
    for (const informer of this.informers.values()) if (!informer.isStarted()) informer.start();
  }

  /**
   * Waits until every started informer has synced, or the signal aborts (client-go's
   * WaitForCacheSync): the synced flag of each, by informer key (see informerKey).
   */
  async waitForCacheSync(signal?: AbortSignal): Promise<Record<string, boolean>> {
    const started = [...this.informers].filter(([, i]) => i.isStarted());
    const synced = await Promise.all(started.map(([, i]) => i.waitForSync(signal)));
    return Object.fromEntries(started.map(([key], n) => [key, synced[n] === true]));
  }

  /** Stops every informer and waits for their loops to end (client-go's Shutdown). */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}

/**
 * The factory's key of an informer: `apiVersion/resource` (e.g. "v1/pods", "apps/v1/deployments"),
 * followed by what sets it apart, if anything: `?namespace=..&labelSelector=..&fieldSelector=..&metadataOnly=true`.
 */
export function informerKey(
  apiVersion: string,
  resource: string,
  opts: { namespace?: string; labelSelector?: string; fieldSelector?: string; metadataOnly?: boolean } = {},
): string {
  const q = new URLSearchParams();
  if (opts.namespace) q.set("namespace", opts.namespace);
  if (opts.labelSelector) q.set("labelSelector", opts.labelSelector);
  if (opts.fieldSelector) q.set("fieldSelector", opts.fieldSelector);
  if (opts.metadataOnly === true) q.set("metadataOnly", "true");
  const rest = q.toString();
  return `${apiVersion}/${resource}${rest === "" ? "" : `?${rest}`}`;
}
