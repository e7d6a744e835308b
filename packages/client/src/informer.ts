/**
 * An informer in client-go's shape: list, then watch from the list's resourceVersion, keeping an
 * in-memory store (keyed namespace/name) and calling the handlers for each change. A watch the
 * server ends normally (timeoutSeconds) is resumed from the last resourceVersion seen; a 410
 * Expired ERROR event, any other ERROR, or a failed request re-lists, after a bounded exponential
 * backoff (100 ms doubling to 5 s by default; the timer functions are injectable for tests).
 */
import type { KubeObject } from "@skiff/api";
import { ApiError } from "./errors.js";
import type { ResourceClient, Watch, WatchEvent } from "./resource.js";

export interface InformerHandlers<T extends KubeObject = KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** The object as deleted (or, when the delete was missed and found by a re-list, as last seen). */
  onDelete?(obj: T): void;
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
  setTimeout?: (f: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
  /** Failed lists and watches, ERROR events, and handler exceptions (never fatal). */
  onError?(e: unknown): void;
}

/** client-go's MetaNamespaceKeyFunc: namespace/name, or name for cluster-scoped objects. */
export function keyOf(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? "";
  return ns === undefined || ns === "" ? name : `${ns}/${name}`;
}

class Resync extends Error {}

export class Informer<T extends KubeObject = KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private synced = false;
  private stopped = false;
  private running: Promise<void> | undefined;
  private watch: Watch | undefined;
  private timer: { handle: unknown; wake: () => void } | undefined;
  private readonly syncWaiters: ((synced: boolean) => void)[] = [];
  private readonly setTimer: (f: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(
    private readonly resource: ResourceClient<T>,
    private readonly opts: InformerOptions<T> = {},
  ) {
    this.handlers.push(opts);
    this.setTimer = opts.setTimeout ?? ((f, ms) => setTimeout(f, ms));
    this.clearTimer = opts.clearTimeout ?? ((h) => clearTimeout(h as NodeJS.Timeout));
  }

  addEventHandler(h: InformerHandlers<T>): void {
    this.handlers.push(h);
  }

  /** Starts listing and watching (once); returns at once. */
  start(): this {
    if (this.running === undefined && !this.stopped) this.running = this.run();
    return this;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once the first list is in the store, false if stopped before that. */
  waitForSync(): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** The store: every object, or one by key (namespace/name). */
  list(): T[] {
    return [...this.store.values()];
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  /** Stops the watch and any retry; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.stop();
    if (this.timer !== undefined) {
      this.clearTimer(this.timer.handle);
      this.timer.wake();
    }
    for (const w of this.syncWaiters.splice(0)) w(false);
    await this.running;
  }

  private report(e: unknown): void {
    try {
      this.opts.onError?.(e);
    } catch {
      // An error reporter that throws must not stop the informer.
    }
  }

  private notify(f: (h: InformerHandlers<T>) => void): void {
    for (const h of this.handlers) {
      try {
        f(h);
      } catch (e) {
        this.report(e);
      }
    }
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

  private async relist(): Promise<string> {
    const list = await this.resource.listAll({
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
      limit: this.opts.pageSize ?? 500,
    });
    if (this.stopped) return list.metadata.resourceVersion;
    const fresh = new Map<string, T>();
    for (const o of list.items) fresh.set(keyOf(o), o);
    for (const [key, old] of this.store)
      if (!fresh.has(key)) {
        this.store.delete(key);
        this.notify((h) => h.onDelete?.(old));
      }
    for (const [key, obj] of fresh) {
      const old = this.store.get(key);
      this.store.set(key, obj);
      if (old === undefined) this.notify((h) => h.onAdd?.(obj));
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion)
        this.notify((h) => h.onUpdate?.(old, obj));
    }
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w(true);
    }
    return list.metadata.resourceVersion;
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
        if (objRv !== undefined && objRv !== "") last = objRv;
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
    const old = this.store.get(key);
    if (e.type === "DELETED") {
      this.store.delete(key);
      this.notify((h) => h.onDelete?.(obj));
      return;
    }
    this.store.set(key, obj);
    if (old === undefined) this.notify((h) => h.onAdd?.(obj));
    else this.notify((h) => h.onUpdate?.(old, obj));
  }
}
