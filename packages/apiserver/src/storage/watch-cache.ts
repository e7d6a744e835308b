/**
 * The watch cache (kube-apiserver's cacher): one store watch per resource type feeds an in-memory
 * copy of every object plus a bounded window of recent events. It serves every watcher of that
 * type, so 1,000 watchers cost one store watch, and lists at resourceVersion=0. A watcher asking
 * for a revision older than the window gets 410 Expired and re-lists, as against kube-apiserver.
 * A watcher that cannot keep up is cut off (its queue is bounded), never allowed to grow memory.
 */
import type { KindDef, KubeObject } from "@skiff/api";
import type { WatchEvent as StoreEvent, WatchHandle } from "./etcd.js";
import { decodeObject, listPrefix, type RegistryStore } from "./registry-store.js";
import { versioner } from "./versioner.js";

export interface CacheEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  revision: number;
  object: KubeObject;
  /** The object before this event (undefined for ADDED). */
  prev: KubeObject | undefined;
}

export interface Subscriber {
  /** Delivers events in revision order; returning false means "slow": the cache counts it. */
  deliver(events: CacheEvent[]): boolean;
  /** The subscription ended (cache reset, or cut off as too slow). */
  closed(reason: "reset" | "slow"): void;
}

export interface Subscription {
  cancel(): void;
}

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;

export class ResourceCache {
  private readonly objects = new Map<string, KubeObject>();
  private readonly window: CacheEvent[] = [];
  private readonly subscribers = new Set<{ sub: Subscriber; namespace: string | undefined; slow: number }>();
  private handle: WatchHandle | undefined;
  private ready: Promise<void> | undefined;
  /** The revision the cache reflects: the initial list's, then each event's. */
  revision = 0;
  /** Events before this revision are no longer in the window. */
  private oldest = 0;
  /** Store watches opened over the cache's life (one per (re)initialization). */
  storeWatches = 0;

  constructor(
    private readonly store: RegistryStore,
    readonly kind: KindDef,
    private readonly windowSize = 1000,
    private readonly maxSlow = 256,
  ) {}

  /** Lists and starts the store watch, once. */
  start(): Promise<void> {
    this.ready ??= this.init().catch((e: unknown) => {
      this.ready = undefined; // the next caller tries again
      throw e;
    });
    return this.ready;
  }

  private async init(): Promise<void> {
    const page = await this.store.list(this.kind, undefined);
    this.objects.clear();
    for (const o of page.items) this.objects.set(keyOf(o), o);
    this.revision = page.revision;
    this.oldest = page.revision + 1;
    this.window.length = 0;
    this.storeWatches++;
    this.handle = this.store.kv.watch(listPrefix(this.kind, undefined), page.revision + 1, {
      events: (events) => this.apply(events),
      failed: () => this.reset(),
    });
  }

  /** The store watch broke (compaction, store restart): every subscriber re-lists; the cache restarts. */
  private reset(): void {
    this.handle = undefined;
    this.ready = undefined;
    for (const s of [...this.subscribers]) {
      this.subscribers.delete(s);
      s.sub.closed("reset");
    }
    setTimeout(() => void this.start().catch(() => undefined), 100).unref();
  }

  private apply(events: StoreEvent[]): void {
    const out: CacheEvent[] = [];
    for (const e of events) {
      const revision = versioner.modRevision(e.kv);
      if (e.type === "delete") {
        const prev = e.prevKv === undefined ? undefined : decodeObject(e.prevKv, this.kind);
        if (prev === undefined) continue;
        versioner.updateObject(prev, revision);
        this.objects.delete(keyOf(prev));
        out.push({ type: "DELETED", revision, object: prev, prev });
      } else {
        const obj = decodeObject(e.kv, this.kind);
        const prev = this.objects.get(keyOf(obj));
        this.objects.set(keyOf(obj), obj);
        out.push({ type: prev === undefined ? "ADDED" : "MODIFIED", revision, object: obj, prev });
      }
      this.revision = revision;
    }
    for (const ev of out) this.window.push(ev);
    if (this.window.length > this.windowSize) {
      const dropped = this.window.splice(0, this.window.length - this.windowSize);
      this.oldest = (dropped.at(-1)?.revision ?? this.oldest) + 1;
    }
    for (const s of [...this.subscribers]) {
      const mine = out.filter(
        (e) => s.namespace === undefined || e.object.metadata.namespace === s.namespace,
      );
      if (mine.length === 0) continue;
      if (s.sub.deliver(mine)) s.slow = 0;
      else if (++s.slow > this.maxSlow) {
        this.subscribers.delete(s);
        s.sub.closed("slow");
      }
    }
  }

  /**
   * Writes this server made that the store watch has not delivered yet, so that reads right
   * after a write see it (read your writes): an admission check just after a LimitRange or a
   * quota was created here must see it. Dropped once the cache has caught up.
   */
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

  /** One object, as of `revision` plus this server's own later writes. */
  get(namespace: string | undefined, name: string): KubeObject | undefined {
    const k = `${namespace ?? ""}/${name}`;
    const r = this.recent.get(k);
    if (r !== undefined && r.revision > this.revision) return r.object;
    return this.objects.get(k);
  }

  /** Every object (of one namespace), as of `revision` plus this server's own later writes. */
  list(namespace: string | undefined): { items: KubeObject[]; revision: number } {
    const items = [...this.current().values()].filter(
      (o) => namespace === undefined || o.metadata.namespace === namespace,
    );
    items.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
    return { items, revision: this.revision };
  }

  /**
   * Subscribes to changes after `fromRevision`. Returns undefined when that revision is older
   * than the window (the caller answers 410 Expired).
   */
  subscribe(namespace: string | undefined, fromRevision: number, sub: Subscriber): Subscription | undefined {
    if (fromRevision + 1 < this.oldest) return undefined;
    const entry = { sub, namespace, slow: 0 };
    const backlog = this.window.filter(
      (e) =>
        e.revision > fromRevision && (namespace === undefined || e.object.metadata.namespace === namespace),
    );
    if (backlog.length > 0) sub.deliver(backlog);
    this.subscribers.add(entry);
    return { cancel: () => this.subscribers.delete(entry) };
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  stop(): void {
    this.handle?.cancel();
    this.handle = undefined;
    for (const s of [...this.subscribers]) s.sub.closed("reset");
    this.subscribers.clear();
  }
}

/** One cache per resource type, made on first use. */
/** One cache per served group-version-resource: versions sharing a store prefix convert differently. */
const cacheKey = (k: KindDef) => `${k.group}/${k.version}/${k.resource}`;

export class WatchCache {
  private readonly caches = new Map<string, ResourceCache>();

  constructor(
    private readonly store: RegistryStore,
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

  /** A write this server made: visible to reads from the cache at once (read your writes). */
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
