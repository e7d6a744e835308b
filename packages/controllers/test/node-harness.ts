/**
 * What the node controllers' unit tests share: a FakeClient seeded with fixtures, a FakeClock
 * the client stamps times with, a controller context whose informers run on the fake (its
 * watches answer synchronously, so a write is in the caches once it returns), the Events the
 * controllers record, and builders for Nodes, Leases and Pods.
 */
import type { KubeObject, Lease, Node, NodeCondition, Pod, Taint, Toleration } from "@skiff/api";
import { metav1Time } from "@skiff/api";
import { type CoreEvent, type FakeClient, type FakeClock, microTime } from "@skiff/client";
import type { ControllerManagerConfig } from "../src/config.js";
import type { ControllerContext } from "../src/context.js";
import { newFakeContext } from "./fake-context.js";

/** The fake clock's start. */
export const T0 = Date.parse("2026-03-01T12:00:00Z");

export interface Harness {
  clock: FakeClock;
  client: FakeClient;
  ctx: ControllerContext;
  /** Starts the informers the controller asked for and waits for their caches. */
  start(): Promise<void>;
  /** The Events recorded so far (written through the broadcaster). */
  events(): Promise<CoreEvent[]>;
  get<T extends KubeObject>(
    apiVersion: string,
    resource: string,
    namespace: string | undefined,
    name: string,
  ): T;
  stop(): Promise<void>;
}

export function harness(objects: KubeObject[], config: Partial<ControllerManagerConfig> = {}): Harness {
  const {
    clock,
    client,
    broadcaster,
    ctx,
    events: recorded,
  } = newFakeContext({ start: T0, objects, config });
  return {
    clock,
    client,
    ctx,
    start: async () => {
      ctx.informers.start();
      await ctx.informers.waitForCacheSync();
    },
    events: async () => {
      await broadcaster.flush();
      return recorded;
    },
    get: <T extends KubeObject>(
      apiVersion: string,
      resource: string,
      namespace: string | undefined,
      name: string,
    ) => client.tracker.get(apiVersion, resource, namespace, name) as T,
    stop: async () => {
      await ctx.informers.shutdown();
      await broadcaster.shutdown();
    },
  };
}

/** Node conditions as a kubelet posts them, all with this heartbeat time. */
export function conditions(heartbeatMs: number, ready: NodeCondition["status"] = "True"): NodeCondition[] {
  const at = metav1Time(new Date(heartbeatMs));
  const since = metav1Time(new Date(T0 - 3_600_000));
  const c = (type: string, status: NodeCondition["status"]): NodeCondition => ({
    type,
    status,
    reason: "KubeletReady",
    message: "kubelet is posting ready status",
    lastHeartbeatTime: at,
    lastTransitionTime: since,
  });
  return [
    c("MemoryPressure", "False"),
    c("DiskPressure", "False"),
    c("PIDPressure", "False"),
    c("Ready", ready),
  ];
}

export function node(
  name: string,
  o: {
    zone?: string;
    conditions?: NodeCondition[];
    taints?: Taint[];
    podCIDR?: string;
    unschedulable?: boolean;
  } = {},
): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: {
        "kubernetes.io/hostname": name,
        ...(o.zone === undefined ? {} : { "topology.kubernetes.io/zone": o.zone }),
      },
    },
    spec: {
      ...(o.taints === undefined ? {} : { taints: o.taints }),
      ...(o.podCIDR === undefined ? {} : { podCIDR: o.podCIDR, podCIDRs: [o.podCIDR] }),
      ...(o.unschedulable === undefined ? {} : { unschedulable: o.unschedulable }),
    },
    status: { conditions: o.conditions ?? conditions(T0) },
  };
}

export function lease(name: string, renewMs: number): Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name, namespace: "kube-node-lease" },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime(renewMs) },
  };
}

export function pod(
  name: string,
  o: {
    namespace?: string;
    nodeName?: string;
    tolerations?: Toleration[];
    phase?: "Pending" | "Running" | "Succeeded" | "Failed";
    ready?: boolean;
    creationMs?: number;
    deleting?: boolean;
    reason?: string;
  } = {},
): Pod {
  const status: Pod["status"] & { reason?: string } = { phase: o.phase ?? "Running" };
  if (o.ready !== undefined)
    status.conditions = [
      { type: "Ready", status: o.ready ? "True" : "False", lastTransitionTime: metav1Time(new Date(T0)) },
    ];
  if (o.reason !== undefined) status.reason = o.reason;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: o.namespace ?? "default",
      ...(o.creationMs === undefined ? {} : { creationTimestamp: metav1Time(new Date(o.creationMs)) }),
      ...(o.deleting === true
        ? { deletionTimestamp: metav1Time(new Date(T0)), finalizers: ["test/hold"] }
        : {}),
    },
    spec: {
      containers: [{ name: "c", image: "busybox" }],
      ...(o.nodeName === undefined ? {} : { nodeName: o.nodeName }),
      ...(o.tolerations === undefined ? {} : { tolerations: o.tolerations }),
    },
    status,
  };
}
