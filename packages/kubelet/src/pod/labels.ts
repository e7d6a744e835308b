/**
 * The labels the kubelet puts on every container (as CRI's kuberuntime labels.go) and reads back
 * to know, after a restart of the agent, which pod and spec container a runtime container is.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Container, Pod } from "@skiff/api";
import type { ContainerStatus } from "../runtime/runtime.js";

export const POD_UID_LABEL = "io.kubernetes.pod.uid";
export const POD_NAME_LABEL = "io.kubernetes.pod.name";
export const POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace";
export const CONTAINER_NAME_LABEL = "io.kubernetes.container.name";
export const RESTART_COUNT_LABEL = "io.kubernetes.container.restartCount";
export const CONTAINER_HASH_LABEL = "io.kubernetes.container.hash";
export const CONTAINER_TYPE_LABEL = "io.kubernetes.container.type";
export const GRACE_PERIOD_LABEL = "io.kubernetes.pod.terminationGracePeriod";

export type ContainerType = "init" | "regular";

/** A random container id: 64 lowercase hex characters, as containerd's. */
export function newContainerId(): string {
  return randomBytes(32).toString("hex");
}

/** kube's HashContainer: a hash of the container's spec; a different hash means "restart it". */
export function hashContainer(c: Container): string {
  return createHash("sha256").update(JSON.stringify(c)).digest("hex").slice(0, 8);
}

export function containerLabels(
  pod: Pod,
  c: Container,
  type: ContainerType,
  restartCount: number,
): Record<string, string> {
  return {
    [POD_UID_LABEL]: pod.metadata.uid ?? "",
    [POD_NAME_LABEL]: pod.metadata.name,
    [POD_NAMESPACE_LABEL]: pod.metadata.namespace,
    [CONTAINER_NAME_LABEL]: c.name,
    [RESTART_COUNT_LABEL]: String(restartCount),
    [CONTAINER_HASH_LABEL]: hashContainer(c),
    [CONTAINER_TYPE_LABEL]: type,
    [GRACE_PERIOD_LABEL]: String(pod.spec.terminationGracePeriodSeconds ?? 30),
  };
}

/** A runtime container seen through its labels (kubecontainer.Status). */
export interface KubeContainer {
  status: ContainerStatus;
  name: string;
  type: ContainerType;
  restartCount: number;
  hash: string;
}

export function fromRuntime(s: ContainerStatus): KubeContainer | undefined {
  const name = s.labels[CONTAINER_NAME_LABEL];
  if (name === undefined || s.labels[POD_UID_LABEL] === undefined) return undefined;
  return {
    status: s,
    name,
    type: s.labels[CONTAINER_TYPE_LABEL] === "init" ? "init" : "regular",
    restartCount: Number(s.labels[RESTART_COUNT_LABEL] ?? "0") || 0,
    hash: s.labels[CONTAINER_HASH_LABEL] ?? "",
  };
}

/** The pod's containers of one kind by name, newest first (kube sorts by creation time). */
export function byName(
  containers: readonly KubeContainer[],
  type: ContainerType,
): Map<string, KubeContainer[]> {
  const out = new Map<string, KubeContainer[]>();
  const sorted = [...containers].sort(
    (a, b) => b.restartCount - a.restartCount || b.status.createdAt - a.status.createdAt,
  );
  for (const c of sorted) {
    if (c.type !== type) continue;
    const list = out.get(c.name) ?? [];
    list.push(c);
    out.set(c.name, list);
  }
  return out;
}

/** format.Pod: `name_namespace(uid)`, as kube's messages name a pod. */
export function formatPod(pod: Pod): string {
  return `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid ?? ""})`;
}
