/**
 * The watch cache (kube-apiserver's cacher): one ResourceWatchCache per resource type
 * (storage/resource-cache.ts), made on first use. Clients' lists and watches read its snapshots
 * and events only. Admission reads through `list` and `get`, which add this server's own writes
 * the store watch has not delivered yet (read your writes): a quota or a LimitRange created here
 * must bind the next request at once. Those never reach a client.
 */
import type { KindDef, KubeObject } from "@skiff/api";
import { keyOf, ResourceWatchCache } from "./resource-cache.js";
import { versioner } from "./versioner.js";

export type { CacheEvent, Subscriber, Subscription } from "./resource-cache.js";

export class ResourceCache extends ResourceWatchCache {
  /** Writes made here and not yet delivered by the store watch, by cache key. */
  private readonly recent = new Map<string, { revision: number; object: KubeObject | undefined }>();

  /** Records a write made through this server (`object` undefined: deleted at `revision`). */
  observe(key: { namespace?: string; name: string }, revision: number, object: KubeObject | undefined): void {
    if (revision > this.revision) this.recent.set(`${key.namespace ?? ""}/${key.name}`, { revision, object });
  }

  private current(): Map<string, KubeObject> {
    if (this.recent.size === 0) return this.objects;
    const merged = new Map(this.objects);
    for (const [k, r] of this.recent) {
      if (r.revision <= this.revision) {
        this.recent.delete(k); // the watch has delivered it
        continue;
      }
      if (r.object === undefined) merged.delete(k);
      else merged.set(k, r.object);
    }
    return merged;
  }

  /** For admission: one object, as cached plus this server's own later writes. */
  get(namespace: string | undefined, name: string): KubeObject | undefined {
    const k = `${namespace ?? ""}/${name}`;
    const r = this.recent.get(k);
    if (r !== undefined && r.revision > this.revision) return r.object;
    return this.objects.get(k);
  }

  /** For admission: every object (of one namespace), as cached plus this server's own later writes. */
  list(namespace: string | undefined): { items: KubeObject[]; revision: number } {
    const items = [...this.current().values()].filter(
      (o) => namespace === undefined || o.metadata.namespace === namespace,
    );
    items.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
    return { items, revision: this.revision };
  }
}

/** One cache per resource type, made on first use. */
/** One cache per served group-version-resource: versions sharing a store prefix convert differently. */
const cacheKey = (k: KindDef) => `${k.group}/${k.version}/${k.resource}`;

export class WatchCache {
  private readonly caches = new Map<string, ResourceCache>();

  constructor(
    private readonly store: ConstructorParameters<typeof ResourceWatchCache>[0],
    private readonly windowSize = 100,
  ) {}

  async for(kind: KindDef): Promise<ResourceCache> {
    const key = cacheKey(kind);
    let c = this.caches.get(key);
    if (c === undefined) {
      c = new ResourceCache(this.store, kind, this.windowSize);
      this.caches.set(key, c);
    }
    await c.start();
    return c;
  }

  /** A write this server made: visible to admission's reads at once (read your writes). */
  observe(kind: KindDef, obj: KubeObject, deletedAt?: number): void {
    const c = this.caches.get(cacheKey(kind));
    const key = { namespace: obj.metadata.namespace, name: obj.metadata.name as string };
    if (deletedAt !== undefined) c?.observe(key, deletedAt, undefined);
    else c?.observe(key, versioner.objectResourceVersion(obj), obj);
  }

  stop(): void {
    for (const c of this.caches.values()) c.stop();
    this.caches.clear();
  }
}
