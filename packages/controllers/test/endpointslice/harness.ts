/**
 * A controller on a FakeClient whose informer caches the test fills by hand (client-go's unit test
 * style): objects go straight into the indexers, `catchUp` copies what the controller wrote from
 * the fake's tracker into the caches (as the informers would, later).
 */
import type { KubeObject } from "@skiff/api";
import { type FakeAction, FakeClient, FakeClock } from "@skiff/client";
import type { ControllerManagerConfig } from "../../src/config.js";
import { type ControllerContext, newControllerContext } from "../../src/context.js";

const RESOURCES: Record<string, [string, string]> = {
  Pod: ["v1", "pods"],
  Service: ["v1", "services"],
  Node: ["v1", "nodes"],
  Endpoints: ["v1", "endpoints"],
  EndpointSlice: ["discovery.k8s.io/v1", "endpointslices"],
  PodDisruptionBudget: ["policy/v1", "poddisruptionbudgets"],
  ReplicaSet: ["apps/v1", "replicasets"],
  Deployment: ["apps/v1", "deployments"],
  StatefulSet: ["apps/v1", "statefulsets"],
};

export interface Harness {
  client: FakeClient;
  clock: FakeClock;
  ctx: ControllerContext & { broadcaster: { shutdown(): Promise<void> } };
  /** Puts objects in the informer caches (not in the fake's tracker). */
  cache(...objs: KubeObject[]): void;
  uncache(obj: KubeObject): void;
  /** Makes the cache of a resource hold exactly what the fake's tracker holds. */
  catchUp(kind: string): void;
  /** The recorded writes to one resource. */
  writes(resource: string): FakeAction[];
  stored<T extends KubeObject>(kind: string): T[];
  close(): Promise<void>;
}

export function harness(config: Partial<ControllerManagerConfig> = {}): Harness {
  const clock = new FakeClock(Date.parse("2024-01-01T00:05:00Z"));
  const client = new FakeClient({ now: () => new Date(clock.now()) });
  const ctx = newControllerContext({ client, config, clock });
  const informer = (kind: string) => {
    const r = RESOURCES[kind];
    if (r === undefined) throw new Error(`no resource for ${kind}`);
    return ctx.informers.informerFor(r[0], r[1]);
  };
  return {
    client,
    clock,
    ctx,
    cache: (...objs) => {
      for (const o of objs) informer(o.kind).indexer.add(o);
    },
    uncache: (o) => {
      informer(o.kind).indexer.delete(o);
    },
    catchUp: (kind) => {
      const r = RESOURCES[kind] as [string, string];
      informer(kind).indexer.replace(client.tracker.list(r[0], r[1]));
    },
    writes: (resource) => client.writes().filter((a) => a.resource === resource),
    stored: <T extends KubeObject>(kind: string) => {
      const r = RESOURCES[kind] as [string, string];
      return client.tracker.list(r[0], r[1]) as T[];
    },
    close: async () => {
      await ctx.informers.shutdown();
      await ctx.broadcaster.shutdown();
    },
  };
}
