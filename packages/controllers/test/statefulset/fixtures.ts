/**
 * What the StatefulSet unit tests share (the shape of kube's stateful_set_test.go helpers): a
 * controller on a FakeClient with a fake clock and a recording event sink, and fixture sets, pods,
 * claims and revisions put into the tracker and the informer caches alike.
 */
import type { KubeObject, PersistentVolumeClaim, Pod } from "@skiff/api";
import type { Informer } from "@skiff/client";
import type { ControllerManagerConfig } from "../../src/config.js";
import type { ControllerRevision } from "../../src/history/types.js";
import { StatefulSetController } from "../../src/statefulset/stateful-set.js";
import type { StatefulSet } from "../../src/statefulset/types.js";
import { newRevision } from "../../src/statefulset/utils.js";
import { type ControllerFixture, fixtureBase, iso, newFakeContext } from "../fake-context.js";

export { iso };
export const T0 = Date.parse("2025-01-01T00:00:00Z");
export const KEY = "ns/web";

export interface Fixture extends ControllerFixture<StatefulSetController> {
  /** Takes an object out of the cache and the tracker (its deletion finished). */
  remove(obj: KubeObject): void;
  /** What the informers would show now: the tracker's pods, claims and revisions in the caches. */
  observe(): void;
  set(): StatefulSet;
  claims(): PersistentVolumeClaim[];
  revisions(): ControllerRevision[];
}

const RESOURCES: Record<string, [string, string]> = {
  StatefulSet: ["apps/v1", "statefulsets"],
  ControllerRevision: ["apps/v1", "controllerrevisions"],
  PersistentVolumeClaim: ["v1", "persistentvolumeclaims"],
  Pod: ["v1", "pods"],
};

export function newFixture(config: Partial<ControllerManagerConfig> = {}): Fixture {
  const fake = newFakeContext({ start: T0, config });
  const { client, ctx } = fake;
  const c = new StatefulSetController(ctx);
  const informer = (kind: string): Informer<KubeObject> => {
    const [apiVersion, resource] = RESOURCES[kind] as [string, string];
    return ctx.informers.informerFor(apiVersion, resource);
  };
  const list = <T>(kind: string) => {
    const [apiVersion, resource] = RESOURCES[kind] as [string, string];
    return client.tracker.list(apiVersion, resource, "ns") as T[];
  };
  const f: Fixture = {
    ...fixtureBase(fake, c, (o) => informer(o.kind).indexer),
    remove(obj) {
      informer(obj.kind).indexer.delete(obj);
      const [apiVersion, resource] = RESOURCES[obj.kind] as [string, string];
      try {
        client.tracker.delete(apiVersion, resource, "ns", obj.metadata.name as string);
      } catch {
        // already gone from the tracker
      }
    },
    observe() {
      for (const kind of ["Pod", "PersistentVolumeClaim", "ControllerRevision"]) {
        const inf = informer(kind);
        for (const o of inf.indexer.list()) inf.indexer.delete(o);
        for (const o of list<KubeObject>(kind)) inf.indexer.add(o);
      }
    },
    set: () => client.tracker.get("apps/v1", "statefulsets", "ns", "web") as StatefulSet,
    claims: () => list<PersistentVolumeClaim>("PersistentVolumeClaim"),
    revisions: () => list<ControllerRevision>("ControllerRevision"),
  };
  return f;
}

export function newSet(
  replicas: number,
  extra: Partial<StatefulSet["spec"]> = {},
  image = "app:1",
): StatefulSet {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "web", namespace: "ns", uid: "uid-web", generation: 1 },
    spec: {
      replicas,
      serviceName: "web",
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "c", image }] } as Pod["spec"],
      },
      volumeClaimTemplates: [
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: "data" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
      ],
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      ...extra,
    },
    status: { replicas: 0 },
  };
}

/** The revision the controller makes for the set's present template (collision count 0). */
export const revisionOf = (set: StatefulSet, revision = 1) => newRevision(set, revision, 0);

export interface PodOpts {
  /** The revision name label. */
  revision: string;
  phase?: "Pending" | "Running" | "Succeeded" | "Failed";
  ready?: boolean;
  deleting?: boolean;
  image?: string;
}

/** A pod as the controller would have made it, with its status. */
export function newSetPod(set: StatefulSet, ordinal: number, o: PodOpts): Pod {
  const name = `web-${ordinal}`;
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}-${o.revision}`,
      labels: {
        app: "web",
        "statefulset.kubernetes.io/pod-name": name,
        "apps.kubernetes.io/pod-index": String(ordinal),
        "controller-revision-hash": o.revision,
      },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "StatefulSet",
          name: "web",
          uid: set.metadata.uid as string,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      containers: [{ name: "c", image: o.image ?? "app:1" }],
      hostname: name,
      subdomain: "web",
      volumes: [
        { name: "data", persistentVolumeClaim: { claimName: `data-web-${ordinal}`, readOnly: false } },
      ],
      nodeName: "n1",
    },
    status: {
      phase: o.phase ?? "Running",
      conditions: [
        o.ready === false
          ? { type: "Ready", status: "False" }
          : { type: "Ready", status: "True", lastTransitionTime: iso(T0 - 60_000) },
      ],
    },
  };
  if (o.deleting === true) pod.metadata.deletionTimestamp = iso(T0);
  return pod;
}

export function newClaim(
  ordinal: number,
  owners: NonNullable<PersistentVolumeClaim["metadata"]["ownerReferences"]> = [],
): PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: `data-web-${ordinal}`,
      namespace: "ns",
      labels: { app: "web" },
      ownerReferences: owners,
    },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  };
}
