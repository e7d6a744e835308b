/**
 * The watch cache of one resource type (kube-apiserver's cacher and watchCache): one store watch
 * feeds an in-memory copy of every object plus a bounded window of recent events. It serves every
 * watcher of the type, and lists that accept any recent state. A watcher asking for a revision
 * older than the window gets 410 Expired and re-lists; one asking for a revision the cache has not
 * reached waits for it (with the store's progress notifications, as kube's cacher asks etcd for
 * them), a bounded time. A watcher that cannot keep up is cut off (its queue is bounded).
 *
 * If the store watch breaks, the cache resumes it from its own revision, so nothing is lost and no
 * watcher notices; only a compaction (the revision is gone) makes it re-list, and then every
 * watcher is closed (clients resume from their last revision, or re-list on 410).
 */
import type { KindDef, KubeObject } from "@skiff/api";
import type { Kv, WatchEvent as StoreEvent, WatchHandle } from "./etcd.js";
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
  /** The subscription ended (cache re-listed, or cut off as too slow). */
  closed(reason: "reset" | "slow"): void;
}

export interface Subscription {
  cancel(): void;
}

interface Entry {
  sub: Subscriber;
  namespace: string | undefined;
  /** Only events after this revision reach the subscriber. */
  from: number;
  slow: number;
}

export const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
const sortByKey = (a: KubeObject, b: KubeObject) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0);

export class ResourceWatchCache {
  protected readonly objects = new Map<string, KubeObject>();
  private readonly window: CacheEvent[] = [];
  private readonly subscribers = new Set<Entry>();
  private readonly waiters = new Set<() => void>();
  private handle: WatchHandle | undefined;
  private ready: Promise<void> | undefined;
  private stopped = false;
  private retryMs = 100;
  /** The revision the cache reflects: the initial list's, then each event's or progress notification's. */
  revision = 0;
  /** Events before this revision are no longer in the window. */
  private oldest = 0;
  /** Store watches opened over the cache's life (the first, resumptions and re-lists). */
  storeWatches = 0;
  /** Re-lists after a compaction (each closes every watcher). */
  relists = 0;

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
    this.watchFrom(page.revision + 1);
  }

  private watchFrom(revision: number): void {
    if (this.stopped) return;
    this.storeWatches++;
    this.handle = this.store.kv.watch(listPrefix(this.kind, undefined), revision, {
      events: (events) => {
        this.retryMs = 100;
        this.apply(events);
      },
      failed: (reason) => this.storeWatchFailed(reason.compacted !== undefined),
      progress: (rev) => this.progress(rev),
    });
  }

  /** Resumes from the cache's own revision; after a compaction, re-lists and closes every watcher. */
  private storeWatchFailed(compacted: boolean): void {
    this.handle = undefined;
    if (this.stopped) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 2000);
    if (!compacted) {
      setTimeout(() => this.watchFrom(this.revision + 1), delay).unref();
      return;
    }
    this.relists++;
    this.ready = undefined;
    for (const s of [...this.subscribers]) {
      this.subscribers.delete(s);
      s.sub.closed("reset");
    }
    const again = () => void this.start().catch(() => setTimeout(again, this.retryMs).unref());
    setTimeout(again, delay).unref();
  }

  /** A store key as the cache's key: `namespace/name`, or `/name` for cluster-scoped objects. */
  private cacheKey(kv: Kv): string {
    const rest = kv.key.toString("latin1").slice(listPrefix(this.kind, undefined).length);
    return this.kind.namespaced ? rest : `/${rest}`;
  }

  private apply(events: StoreEvent[]): void {
    const out: CacheEvent[] = [];
    // One transaction may write several keys at one revision: compare with the batch's start.
    const applied = this.revision;
    for (const e of events) {
      const revision = versioner.modRevision(e.kv);
      if (revision <= applied) continue; // already applied (a resumed watch)
      this.revision = revision;
      if (e.type === "delete") {
        const key = this.cacheKey(e.kv);
        // The store's previous value, or else the cache's own copy.
        const prev = e.prevKv !== undefined ? decodeObject(e.prevKv, this.kind) : this.objects.get(key);
        this.objects.delete(key);
        if (prev === undefined) continue;
        const object = versioner.withRevision(prev, revision);
        out.push({ type: "DELETED", revision, object, prev });
      } else {
        const obj = decodeObject(e.kv, this.kind);
        const prev = this.objects.get(keyOf(obj));
        this.objects.set(keyOf(obj), obj);
        out.push({ type: prev === undefined ? "ADDED" : "MODIFIED", revision, object: obj, prev });
      }
    }
    for (const ev of out) this.window.push(ev);
    if (this.window.length > this.windowSize) {
      const dropped = this.window.splice(0, this.window.length - this.windowSize);
      this.oldest = (dropped.at(-1)?.revision ?? this.oldest) + 1;
    }
    for (const s of [...this.subscribers]) {
      const mine = out.filter(
        (e) =>
          e.revision > s.from && (s.namespace === undefined || e.object.metadata.namespace === s.namespace),
      );
      if (mine.length === 0) continue;
      if (s.sub.deliver(mine)) s.slow = 0;
      else if (++s.slow > this.maxSlow) {
        this.subscribers.delete(s);
        s.sub.closed("slow");
      }
    }
    this.wake();
  }

  private progress(revision: number): void {
    if (revision > this.revision) this.revision = revision;
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Resolves true once the cache has reached `revision` (kube: waitUntilFreshAndBlock), false
   * after `timeoutMs`. Meanwhile it asks the store for progress, since a quiet resource type gets
   * no events to move it forward.
   */
  waitFresh(revision: number, timeoutMs = 3000): Promise<boolean> {
    if (this.revision >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        this.waiters.delete(check);
        clearTimeout(timer);
        clearInterval(ask);
        resolve(ok);
      };
      const check = () => {
        if (this.revision >= revision) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      const ask = setInterval(() => this.handle?.requestProgress?.(), 100);
      this.waiters.add(check);
      this.handle?.requestProgress?.();
    });
  }

  /** Asks the store for a progress notification (a quiet type's revision then moves forward). */
  requestProgress(): void {
    this.handle?.requestProgress?.();
  }

  /** Every object (of one namespace) at `revision`, sorted by key: what clients get. */
  snapshot(namespace: string | undefined): { items: KubeObject[]; revision: number } {
    const items = [...this.objects.values()].filter(
      (o) => namespace === undefined || o.metadata.namespace === namespace,
    );
    return { items: items.sort(sortByKey), revision: this.revision };
  }

  /**
   * Subscribes to changes after `fromRevision`. Returns undefined when that revision is older
   * than the window (the caller answers 410 Expired).
   */
  subscribe(namespace: string | undefined, fromRevision: number, sub: Subscriber): Subscription | undefined {
    if (fromRevision + 1 < this.oldest) return undefined;
    const entry: Entry = { sub, namespace, from: fromRevision, slow: 0 };
    const backlog = this.window.filter(
      (e) =>
        e.revision > fromRevision && (namespace === undefined || e.object.metadata.namespace === namespace),
    );
    if (backlog.length > 0) sub.deliver(backlog);
    this.subscribers.add(entry);
    return { cancel: () => this.subscribers.delete(entry) };
  }

  /** The newest revision a watch can no longer start from (kube's "too old resource version: N (this)"). */
  get windowStart(): number {
    return this.oldest - 1;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  stop(): void {
    this.stopped = true;
    this.handle?.cancel();
    this.handle = undefined;
    for (const s of [...this.subscribers]) s.sub.closed("reset");
    this.subscribers.clear();
    this.wake();
  }
}
