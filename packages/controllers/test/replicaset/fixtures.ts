/**
 * What the ReplicaSet unit tests share (the shape of kube's replica_set_test.go helpers): a
 * controller on a FakeClient with a fake clock and a recording event sink, and fixture RSs and
 * pods put into the tracker and the informer caches alike.
 */
import type { KubeObject, Pod } from "@skiff/api";
import { ReplicaSetController } from "../../src/replicaset/replica-set.js";
import type { ReplicaSet } from "../../src/replicaset/types.js";
import { type ControllerFixture, fixtureBase, iso, newFakeContext } from "../fake-context.js";

export { iso };
export const T0 = Date.parse("2025-01-01T00:00:00Z");

export interface Fixture extends ControllerFixture<ReplicaSetController> {
  rs(name?: string): ReplicaSet;
}

export function newFixture(opts: { burstReplicas?: number } = {}): Fixture {
  const fake = newFakeContext({ start: T0 });
  const { client, ctx } = fake;
  const c = new ReplicaSetController(ctx, opts);
  const cacheFor = (o: KubeObject) =>
    (o.kind === "Pod" ? c.podInformer.indexer : c.rsInformer.indexer) as { add(obj: KubeObject): void };
  return {
    ...fixtureBase(fake, c, cacheFor),
    rs: (name = "web") => client.tracker.get("apps/v1", "replicasets", "ns", name) as ReplicaSet,
  };
}

export function newRS(name: string, replicas: number, extra: Partial<ReplicaSet["spec"]> = {}): ReplicaSet {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name, namespace: "ns", uid: `uid-${name}`, generation: 1 },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, tier: "fe" } },
        spec: { containers: [{ name: "c", image: "busybox" }] } as Pod["spec"],
      },
      ...extra,
    },
  };
}

export interface PodOpts {
  owner?: ReplicaSet | undefined;
  labels?: Record<string, string>;
  node?: string;
  phase?: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  /** Ready since this time (ms). */
  readySince?: number;
  restarts?: number;
  created?: number;
  deleting?: boolean;
  annotations?: Record<string, string>;
}

export function newPod(name: string, o: PodOpts = {}): Pod {
  const owner = o.owner;
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      labels: o.labels ?? (owner === undefined ? {} : { ...owner.spec.template.metadata?.labels }),
      creationTimestamp: iso(o.created ?? T0 - 3_600_000),
    },
    spec: {
      containers: [{ name: "c", image: "busybox" }],
      ...(o.node === undefined ? {} : { nodeName: o.node }),
    },
    status: {
      phase: o.phase ?? "Running",
      conditions: [
        o.readySince === undefined
          ? { type: "Ready", status: "False" }
          : { type: "Ready", status: "True", lastTransitionTime: iso(o.readySince) },
      ],
      containerStatuses: [{ name: "c", restartCount: o.restarts ?? 0 }],
    },
  } as Pod;
  if (owner !== undefined)
    pod.metadata.ownerReferences = [
      {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: owner.metadata.name,
        uid: owner.metadata.uid as string,
        controller: true,
        blockOwnerDeletion: true,
      },
    ];
  if (o.annotations !== undefined) pod.metadata.annotations = o.annotations;
  if (o.deleting === true) pod.metadata.deletionTimestamp = iso(T0);
  return pod;
}
