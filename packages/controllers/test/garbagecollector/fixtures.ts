/**
 * What the garbage collector's unit tests share: a static discovery, object fixtures with owner
 * references, a collector on a FakeClient with a fake clock, and a driver that applies the graph
 * changes and runs the workers until nothing is queued (delayed requeues wait for the clock).
 */
import type { KubeObject, OwnerReference } from "@skiff/api";
import { FakeClient, FakeClock } from "@skiff/client";
import { newControllerContext } from "../../src/context.js";
import { GarbageCollector } from "../../src/garbagecollector/garbage-collector.js";
import type {
  APIResource,
  APIResourceList,
  DiscoveryInterface,
  ServerResources,
} from "../../src/util/discovery.js";

const ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const res = (name: string, kind: string, namespaced = true, verbs = ALL): APIResource => ({
  name,
  kind,
  namespaced,
  verbs,
});

/** A small cluster's discovery: core v1, apps/v1 and events.k8s.io/v1. */
export function baseResources(): APIResourceList[] {
  return [
    {
      groupVersion: "v1",
      resources: [
        res("configmaps", "ConfigMap"),
        res("secrets", "Secret"),
        res("events", "Event"),
        res("namespaces", "Namespace", false),
        res("persistentvolumes", "PersistentVolume", false),
        res("pods", "Pod"),
        res("pods/status", "Pod", true, ["get", "patch", "update"]),
        res("bindings", "Binding", true, ["create"]),
      ],
    },
    {
      groupVersion: "apps/v1",
      resources: [res("replicasets", "ReplicaSet"), res("deployments", "Deployment")],
    },
    { groupVersion: "events.k8s.io/v1", resources: [res("events", "Event")] },
  ];
}

/** A discovery whose answer a test changes (a new group appears, a group fails, all fails). */
export class StaticDiscovery implements DiscoveryInterface {
  lists: APIResourceList[] = baseResources();
  failed = new Map<string, Error>();
  error: Error | undefined;
  calls = 0;

  async serverResources(): Promise<ServerResources> {
    this.calls++;
    if (this.error !== undefined) throw this.error;
    const preferred = new Set<string>();
    const seen = new Set<string>();
    for (const l of this.lists) {
      const group = l.groupVersion.includes("/") ? l.groupVersion.split("/")[0] : "";
      if (seen.has(group as string)) continue;
      seen.add(group as string);
      preferred.add(l.groupVersion);
    }
    return { lists: this.lists, preferred, failed: this.failed };
  }
}

export const ref = (o: KubeObject, block = false): OwnerReference => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  name: o.metadata.name as string,
  uid: o.metadata.uid as string,
  ...(block ? { blockOwnerDeletion: true } : {}),
});

let counter = 0;
export const uid = (name: string) => `uid-${name}-${++counter}`;

export function configMap(
  name: string,
  o: { owners?: OwnerReference[]; finalizers?: string[]; deleting?: boolean; namespace?: string } = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name,
      namespace: o.namespace ?? "ns",
      uid: uid(name),
      ...(o.owners === undefined ? {} : { ownerReferences: o.owners }),
      ...(o.finalizers === undefined ? {} : { finalizers: o.finalizers }),
      ...(o.deleting === true
        ? { deletionTimestamp: "2026-01-01T00:00:00Z", deletionGracePeriodSeconds: 0 }
        : {}),
    },
  };
}

export interface Harness {
  client: FakeClient;
  clock: FakeClock;
  discovery: StaticDiscovery;
  gc: GarbageCollector;
  ctx: ReturnType<typeof newControllerContext>;
  /** Graph changes and both queues until all are empty; returns the number of items worked. */
  settle(): Promise<number>;
  stop(): Promise<void>;
}

const tick = () => new Promise((r) => setImmediate(r));

/** A collector on a FakeClient seeded with `objects`, synced once (monitors started and synced). */
export async function harness(
  objects: KubeObject[] = [],
  discovery = new StaticDiscovery(),
): Promise<Harness> {
  const client = new FakeClient({ objects });
  const clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"));
  const ctx = newControllerContext({ client, clock });
  const gc = new GarbageCollector(ctx, { discovery, resyncPeriodMs: 30_000 });
  const synced = gc.sync();
  await synced;
  const g = gc.graphBuilder;
  return {
    client,
    clock,
    discovery,
    gc,
    ctx,
    async settle() {
      let worked = 0;
      for (;;) {
        await tick();
        if (g.graphChanges.len() > 0) await g.drainGraphChanges();
        else if (g.attemptToDeleteQueue.len() > 0) await gc.processAttemptToDeleteWorker();
        else if (g.attemptToOrphanQueue.len() > 0) await gc.processAttemptToOrphanWorker();
        else return worked;
        worked++;
      }
    },
    async stop() {
      g.shutDown();
      g.stopMonitors();
      await ctx.informers.shutdown();
      await ctx.broadcaster.shutdown();
    },
  };
}
