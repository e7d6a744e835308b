/**
 * What the controllers' unit tests start from (client-go's fake clientset style): a FakeClock, a
 * FakeClient that stamps its times from it, an event broadcaster whose sink keeps the Events the
 * controllers record in a list, and a controller context on them.
 */
import { type KubeObject, metav1Time, type Pod } from "@skiff/api";
import { type CoreEvent, EventBroadcaster, FakeClient, FakeClock } from "@skiff/client";
import type { ControllerManagerConfig } from "../src/config.js";
import { type ControllerContext, newControllerContext } from "../src/context.js";

export interface FakeContextOptions {
  /** The fake clock's start (ms since the epoch). */
  start: number;
  /** Objects the tracker holds from the start. */
  objects?: KubeObject[];
  config?: Partial<ControllerManagerConfig>;
  /** Whether the patches of a repeated Event (its count raised) are kept too (default true). */
  recordPatches?: boolean;
}

export interface FakeContext {
  clock: FakeClock;
  client: FakeClient;
  broadcaster: EventBroadcaster;
  ctx: ControllerContext;
  /** The Events written so far (the broadcaster writes asynchronously: flush first). */
  events: CoreEvent[];
}

export function newFakeContext(o: FakeContextOptions): FakeContext {
  const clock = new FakeClock(o.start);
  const client = new FakeClient({
    ...(o.objects === undefined ? {} : { objects: o.objects }),
    now: () => new Date(clock.now()),
  });
  const events: CoreEvent[] = [];
  const record = async (e: CoreEvent) => {
    events.push(e);
    return e;
  };
  const broadcaster = new EventBroadcaster({
    clock,
    coreSink: { create: record, patch: o.recordPatches === false ? async (e) => e : record },
  });
  const ctx = newControllerContext({ client, clock, broadcaster, config: o.config ?? {} });
  return { clock, client, broadcaster, ctx, events };
}

/** A time in ms as the API serializes it (metav1.Time: RFC 3339, whole seconds). */
export const iso = (ms: number): string => metav1Time(new Date(ms));

/** What the workload controllers' fixtures give their tests, whatever the controller `C`. */
export interface ControllerFixture<C> {
  client: FakeClient;
  clock: FakeClock;
  c: C;
  events: CoreEvent[];
  /** Waits for the recorded events to reach `events`. */
  flushEvents(): Promise<void>;
  /** Puts objects into the tracker and the informer caches (no event handlers run). */
  seed(...objs: KubeObject[]): void;
  /** The pods in the tracker. */
  pods(): Pod[];
  /** The actions of one verb on one resource. */
  acts(verb: string, resource: string): FakeClient["actions"];
}

/** The fixture parts every controller's fixture builds the same way from a FakeContext. */
export function fixtureBase<C>(
  f: FakeContext,
  c: C,
  cacheFor: (obj: KubeObject) => { add(obj: KubeObject): void },
  namespace = "ns",
): ControllerFixture<C> {
  const { client, clock, broadcaster, events } = f;
  return {
    client,
    clock,
    c,
    events,
    flushEvents: () => broadcaster.flush(),
    seed(...objs) {
      for (const o of objs) cacheFor(o).add(client.tracker.add(o));
    },
    pods: () => client.tracker.list("v1", "pods", namespace) as Pod[],
    acts: (verb, resource) => client.actions.filter((a) => a.verb === verb && a.resource === resource),
  };
}
