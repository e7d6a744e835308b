/**
 * An informer in client-go's shape (cache.SharedIndexInformer): list, then watch from the list's
 * resourceVersion, keeping an indexed cache (indexer.ts; objects deep-frozen) and calling the
 * handlers for each change. A watch the server ends normally (timeoutSeconds) is resumed from the
 * last resourceVersion seen, bookmarks included; a 410 Expired ERROR event, any other ERROR, or a
 * failed request re-lists, after a bounded exponential backoff (100 ms doubling to 5 s by default).
 * With resyncPeriodMs, every cached object is handed to onUpdate(obj, obj) once per period, as
 * client-go's resync. The timer functions are injectable for tests.
 *
 * Handlers run synchronously, in order, on the informer's own loop (client-go gives each a
 * goroutine and a buffer); a handler that throws is reported to onError and never stops the
 * informer or the other handlers.
 */
import type { KubeObject } from "@skiff/api";
import { ApiError } from "../errors.js";
import type { ResourceClient, Watch, WatchEvent } from "../resource.js";
import { Indexer, type Indexers } from "./indexer.js";
import { keyOf } from "./key.js";
import { Lister } from "./lister.js";
import { deepFreeze } from "./readonly.js";

/**
 * client-go's DeletedFinalStateUnknown: the delete was found by a re-list (the watch's DELETED
 * event was missed), so obj is the last state the cache saw, not the object as it was deleted.
 */
export interface DeletedFinalStateUnknown<T extends KubeObject = KubeObject> {
  key: string;
  obj: T;
}

/** client-go's ResourceEventHandler. Objects are the cache's own (frozen): clone to change them. */
export interface InformerHandlers<T extends KubeObject = KubeObject> {
  /** isInInitialList: the object was in the informer's first list (or, for a handler added late, in the cache then). */
  onAdd?(obj: T, isInInitialList: boolean): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /**
   * The deleted object's final state: the DELETED event's object; for a delete found only by a
   * re-list, the last cached state, and the tombstone says so.
   */
  onDelete?(obj: T, tombstone?: DeletedFinalStateUnknown<T>): void;
}

/** client-go's ResourceEventHandlerRegistration. */
export interface ResourceEventHandlerRegistration {
  /** Stops calling the handler (client-go's RemoveEventHandler). */
  remove(): void;
  hasSynced(): boolean;
}

export interface InformerOptions<T extends KubeObject = KubeObject> extends InformerHandlers<T> {
  labelSelector?: string;
  fieldSelector?: string;
  /** The list's page size; default 500. */
  pageSize?: number;
  /** Each watch's timeoutSeconds; default a random 300 to 600 (as client-go). */
  watchTimeoutSeconds?: number;
  /** Backoff between retries: initial and maximum delay, ms (default 100 and 5000). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Every this many ms, onUpdate(obj, obj) for every cached object; 0 or unset: never. */
  resyncPeriodMs?: number;
  /** Index functions of the cache, by index name (more with addIndexers). */
  indexers?: Indexers<T>;
  setTimeout?: (f: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
  /** Failed lists and watches, ERROR events, and handler exceptions (never fatal). */
  onError?(e: unknown): void;
}

class Resync extends Error {}

export class Informer<T extends KubeObject = KubeObject> {
  /** The cache (client-go's GetIndexer). Only the informer writes to it. */
  readonly indexer: Indexer<T>;
  /** Replaced, never changed in place: a notification goes to the handlers present when it began. */
  private handlers: readonly InformerHandlers<T>[];
  private synced = false;
  private stopped = false;
  private running: Promise<void> | undefined;
  private watch: Watch | undefined;
  private lastRv = "";
  private timer: { handle: unknown; wake: () => void } | undefined;
  private resyncTimer: { handle: unknown } | undefined;
  private readonly syncWaiters = new Set<(synced: boolean) => void>();
  private readonly setTimer: (f: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(
    private readonly resource: ResourceClient<T>,
    private readonly opts: InformerOptions<T> = {},
  ) {
    this.indexer = new Indexer<T>(opts.indexers ?? {});
    this.handlers = [opts];
    this.setTimer = opts.setTimeout ?? ((f, ms) => setTimeout(f, ms));
    this.clearTimer = opts.clearTimeout ?? ((h) => clearTimeout(h as NodeJS.Timeout));
  }

  /**
   * Adds a handler. Once the informer has synced, the handler is first given onAdd for every
   * cached object (client-go's AddEventHandler), so a late handler sees the same world.
   */
  addEventHandler(h: InformerHandlers<T>): ResourceEventHandlerRegistration {
    this.handlers = [...this.handlers, h];
    if (this.synced) for (const o of this.indexer.list()) this.call(() => h.onAdd?.(o, true));
    return {
      remove: () => {
        this.handlers = this.handlers.filter((x) => x !== h);
      },
      hasSynced: () => this.synced,
    };
  }

  /** More index functions (the objects already cached are indexed too). */
  addIndexers(indexers: Indexers<T>): void {
    this.indexer.addIndexers(indexers);
  }

  /** A lister over this informer's cache. */
  lister(): Lister<T> {
    return new Lister(this);
  }

  /** Starts listing and watching (once); returns at once. */
  start(): this {
    if (this.running === undefined && !this.stopped) this.running = this.run();
    return this;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  isStarted(): boolean {
    return this.running !== undefined;
  }

  /** The resourceVersion of the last list, event or bookmark seen (client-go's LastSyncResourceVersion). */
  lastSyncResourceVersion(): string {
    return this.lastRv;
  }

  /** Resolves true once the first list is in the cache; false if stopped (or aborted) before. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.stopped || signal?.aborted === true) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => done(false);
      const done = (synced: boolean) => {
        this.syncWaiters.delete(done);
        signal?.removeEventListener("abort", onAbort);
        resolve(synced);
      };
      this.syncWaiters.add(done);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** The cache: every object, or one by key (namespace/name). */
  list(): T[] {
    return this.indexer.list();
  }

  get(key: string): T | undefined {
    return this.indexer.get(key);
  }

  /** Stops the watch, the resync and any retry; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.stop();
    if (this.timer !== undefined) {
      this.clearTimer(this.timer.handle);
      this.timer.wake();
    }
    if (this.resyncTimer !== undefined) {
      this.clearTimer(this.resyncTimer.handle);
      this.resyncTimer = undefined;
    }
    for (const w of [...this.syncWaiters]) w(false);
    await this.running;
  }

  private report(e: unknown): void {
    try {
      this.opts.onError?.(e);
    } catch {
      // An error reporter that throws must not stop the informer.
    }
  }

  private call(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.report(e);
    }
  }

  private notify(f: (h: InformerHandlers<T>) => void): void {
    for (const h of this.handlers) this.call(() => f(h));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.timer = undefined;
        resolve();
      };
      this.timer = { handle: this.setTimer(wake, ms), wake };
    });
  }

  /** client-go's resync: every cached object to every handler's onUpdate, as an unchanged update. */
  private scheduleResync(): void {
    const period = this.opts.resyncPeriodMs ?? 0;
    if (period <= 0 || this.stopped) return;
    const handle = this.setTimer(() => {
      this.resyncTimer = undefined;
      if (this.stopped) return;
      const handlers = this.handlers;
      for (const o of this.indexer.list())
        for (const h of handlers) if (h.onUpdate !== undefined) this.call(() => h.onUpdate?.(o, o));
      this.scheduleResync();
    }, period);
    this.resyncTimer = { handle };
  }

  private async run(): Promise<void> {
    const initial = this.opts.backoff?.initialMs ?? 100;
    const max = this.opts.backoff?.maxMs ?? 5000;
    let delay = initial;
    let rv: string | undefined;
    while (!this.stopped) {
      try {
        if (rv === undefined) rv = await this.relist();
        const { events, last } = await this.watchFrom(rv);
        rv = last;
        // A watch that ended normally is resumed at once if it was useful, after a pause if not.
        if (events > 0) {
          delay = initial;
          continue;
        }
      } catch (e) {
        if (this.stopped) break;
        if (!(e instanceof Resync)) this.report(e);
        rv = undefined;
      }
      if (this.stopped) break;
      await this.sleep(delay);
      delay = Math.min(delay * 2, max);
    }
  }

  /**
   * Lists and makes the cache match the list: objects gone are deleted (their DELETED event was
   * missed: a tombstone), new ones added, changed ones (another resourceVersion) updated.
   */
  private async relist(): Promise<string> {
    const list = await this.resource.listAll({
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
      limit: this.opts.pageSize ?? 500,
    });
    const rv = list.metadata.resourceVersion;
    if (this.stopped) return rv;
    const initial = !this.synced;
    const fresh = new Map<string, T>();
    for (const o of list.items) fresh.set(keyOf(o), o);
    for (const key of this.indexer.listKeys())
      if (!fresh.has(key)) {
        const old = this.indexer.deleteByKey(key) as T;
        this.notify((h) => h.onDelete?.(old, { key, obj: old }));
      }
    for (const [key, obj] of fresh) {
      const old = this.indexer.get(key);
      if (old === undefined) {
        this.indexer.add(obj);
        this.notify((h) => h.onAdd?.(obj, initial));
      } else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) {
        this.indexer.update(obj);
        this.notify((h) => h.onUpdate?.(old, obj));
      }
    }
    this.lastRv = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of [...this.syncWaiters]) w(true);
      this.scheduleResync();
    }
    return rv;
  }

  /** One watch; resolves with the last resourceVersion when it ends, throws Resync on ERROR. */
  private async watchFrom(rv: string): Promise<{ events: number; last: string }> {
    let last = rv;
    let events = 0;
    let error: ApiError | undefined;
    const timeout = this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    let w: Watch | undefined;
    const stopWatch = () => w?.stop();
    w = this.resource.watch({
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
      resourceVersion: rv,
      timeoutSeconds: timeout,
      allowWatchBookmarks: true,
      onEvent: (e: WatchEvent<T>) => {
        if (this.stopped || error !== undefined) return;
        events++;
        if (e.type === "ERROR") {
          const st = e.object as unknown as { code?: number };
          error = new ApiError(typeof st.code === "number" ? st.code : 500, e.object, "watch ERROR event");
          stopWatch();
          return;
        }
        const objRv = e.object?.metadata?.resourceVersion;
        if (objRv !== undefined && objRv !== "") {
          last = objRv;
          this.lastRv = objRv;
        }
        if (e.type === "BOOKMARK") return;
        this.apply(e);
      },
    });
    this.watch = w;
    // Stopped, or an ERROR event, while the watch was being made.
    if (this.stopped || error !== undefined) w.stop();
    try {
      await w.done;
    } finally {
      this.watch = undefined;
    }
    if (error !== undefined) {
      // 410 Expired / Gone is the ordinary "re-list" signal; other errors are worth reporting.
      if (error.status !== 410) this.report(error);
      throw new Resync(error.message);
    }
    return { events, last };
  }

  private apply(e: WatchEvent<T>): void {
    const obj = e.object;
    const key = keyOf(obj);
    const old = this.indexer.get(key);
    if (e.type === "DELETED") {
      // A delete of an object the cache never had changes nothing (as DeltaFIFO.Delete).
      if (old === undefined) return;
      this.indexer.deleteByKey(key);
      deepFreeze(obj);
      this.notify((h) => h.onDelete?.(obj));
      return;
    }
    this.indexer.update(obj);
    if (old === undefined) this.notify((h) => h.onAdd?.(obj, false));
    else this.notify((h) => h.onUpdate?.(old, obj));
  }
}
