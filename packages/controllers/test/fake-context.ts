/**
 * What the controllers' unit tests start from (client-go's fake clientset style): a FakeClock, a
 * FakeClient that stamps its times from it, an event broadcaster whose sink keeps the Events the
 * controllers record in a list, and a controller context on them.
 */
import type { KubeObject } from "@skiff/api";
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
