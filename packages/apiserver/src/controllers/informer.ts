/**
 * Change notifications for the in-process controllers, from the API server's watch cache (the
 * role client-go's shared informers play for kube-controller-manager): a handler gets every
 * event of a kind after the cache's current revision. If the cache drops the subscription (its
 * store watch broke), the handler is told to resync and the subscription is made again: the
 * controllers are level-triggered, so a missed event only delays them until that resync.
 */
import type { KindDef } from "@skiff/api";
import type { CacheEvent, Subscription, WatchCache } from "../storage/watch-cache.js";
import type { Clock } from "./loop.js";

export interface EventHandler {
  events(events: CacheEvent[]): void;
  /** Events may have been missed: look at everything again. */
  resync(): void;
}

export class Informers {
  private readonly subs = new Set<{ cancel(): void }>();
  private stopped = false;

  constructor(
    private readonly cache: WatchCache,
    private readonly clock: Clock,
  ) {}

  /** Calls `h` with every later event of `kind`, until stop(). */
  async watch(kind: KindDef, h: EventHandler): Promise<void> {
    let current: Subscription | undefined;
    let timer: unknown;
    let missed = false;
    const entry = {
      cancel: () => {
        current?.cancel();
        if (timer !== undefined) this.clock.clearTimeout(timer);
      },
    };
    this.subs.add(entry);
    const subscribe = async (): Promise<void> => {
      timer = undefined;
      if (this.stopped) return;
      try {
        const rc = await this.cache.for(kind);
        if (this.stopped) return;
        current = rc.subscribe(undefined, rc.revision, {
          deliver: (events) => {
            h.events(events);
            return true;
          },
          closed: () => {
            current = undefined;
            missed = true;
            if (this.stopped) return;
            timer = this.clock.setTimeout(() => void subscribe(), 200);
          },
        });
        if (current === undefined) throw new Error("the watch cache has no window for its own revision");
        if (missed) {
          missed = false;
          h.resync();
        }
      } catch {
        missed = true;
        if (this.stopped) return;
        timer = this.clock.setTimeout(() => void subscribe(), 1000);
      }
    };
    await subscribe();
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.subs) s.cancel();
    this.subs.clear();
  }
}
