/**
 * What the DaemonSet unit tests share (the shape of kube's daemon_controller_test.go helpers): a
 * controller on a FakeClient with a fake clock and a recording event sink, and fixture DaemonSets,
 * nodes, pods and revisions put into the tracker and the informer caches alike.
 */
import type { KubeObject, Node, Pod, Taint } from "@skiff/api";
import type { Informer } from "@skiff/client";
import { DaemonSetsController } from "../../src/daemonset/daemon-controller.js";
import type { DaemonSet } from "../../src/daemonset/types.js";
import type { ControllerRevision } from "../../src/history/types.js";
import { computeHash } from "../../src/util/hash.js";
import { type ControllerFixture, fixtureBase, iso, newFakeContext } from "../fake-context.js";

export { iso };
export const T0 = Date.parse("2025-01-01T00:00:00Z");
export const KEY = "ns/web";

export interface Fixture extends ControllerFixture<DaemonSetsController> {
  /** Removes an object from the informer cache (the tracker keeps whatever it has). */
  unseed(obj: KubeObject): void;
  /** What the informers would show now: the tracker's pods and revisions copied into the caches. */
  observe(): void;
  ds(): DaemonSet;
  revisions(): ControllerRevision[];
}

export function newFixture(): Fixture {
  const fake = newFakeContext({ start: T0 });
  const { client, ctx } = fake;
  const c = new DaemonSetsController(ctx);
  const informer = (kind: string): Informer<KubeObject> => {
    if (kind === "DaemonSet") return ctx.informers.informerFor("apps/v1", "daemonsets");
    if (kind === "ControllerRevision") return ctx.informers.informerFor("apps/v1", "controllerrevisions");
    if (kind === "Node") return ctx.informers.informerFor("v1", "nodes");
    return ctx.informers.informerFor("v1", "pods");
  };
  const f: Fixture = {
    ...fixtureBase(fake, c, (o) => informer(o.kind).indexer),
    unseed(obj) {
      informer(obj.kind).indexer.delete(obj);
    },
    observe() {
      for (const kind of ["Pod", "ControllerRevision"]) {
        const inf = informer(kind);
        for (const o of inf.indexer.list()) inf.indexer.delete(o);
      }
      for (const p of f.pods()) informer("Pod").indexer.add(p);
      for (const r of f.revisions()) informer("ControllerRevision").indexer.add(r);
    },
    ds: () => client.tracker.get("apps/v1", "daemonsets", "ns", "web") as DaemonSet,
    revisions: () => client.tracker.list("apps/v1", "controllerrevisions", "ns") as ControllerRevision[],
  };
  return f;
}

export function newDS(extra: Partial<DaemonSet["spec"]> = {}, image = "agent:1"): DaemonSet {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "web", namespace: "ns", uid: "uid-web", generation: 1 },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "c", image }] } as Pod["spec"],
      },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      revisionHistoryLimit: 10,
      ...extra,
    },
    status: { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 },
  };
}

/** The hash the controller gives the DaemonSet's present template. */
export const hashOf = (ds: DaemonSet) => computeHash(ds.spec.template, ds.status?.collisionCount);

export function newNode(name: string, o: { labels?: Record<string, string>; taints?: Taint[] } = {}): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...o.labels } },
    spec: o.taints === undefined ? {} : { taints: o.taints },
  };
}

export interface PodOpts {
  /** The template hash label (default: the DaemonSet's present one). */
  hash?: string;
  phase?: "Pending" | "Running" | "Succeeded" | "Failed";
  /** Ready since this time (ms); undefined: not ready. */
  readySince?: number | undefined;
  created?: number;
  deleting?: boolean;
  /** Not bound yet: only the node affinity names the node. */
  unbound?: boolean;
}

export function newDaemonPod(ds: DaemonSet, name: string, node: string, o: PodOpts = {}): Pod {
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      labels: { app: "web", "controller-revision-hash": o.hash ?? hashOf(ds) },
      creationTimestamp: iso(o.created ?? T0 - 3_600_000),
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "DaemonSet",
          name: "web",
          uid: "uid-web",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      containers: [{ name: "c", image: "agent:1" }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [node] }] }],
          },
        },
      },
      ...(o.unbound === true ? {} : { nodeName: node }),
    },
    status: {
      phase: o.phase ?? "Running",
      conditions: [
        o.readySince === undefined
          ? { type: "Ready", status: "False" }
          : { type: "Ready", status: "True", lastTransitionTime: iso(o.readySince) },
      ],
    },
  };
  if (o.deleting === true) pod.metadata.deletionTimestamp = iso(T0);
  return pod;
}

/** A ready pod of the present template. */
export const readyPod = (ds: DaemonSet, name: string, node: string, o: PodOpts = {}) =>
  newDaemonPod(ds, name, node, { readySince: T0 - 60_000, ...o });
