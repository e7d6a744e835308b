/**
 * Pod cgroups as the kubelet's container manager makes them (pkg/kubelet/cm: the cgroupfs
 * driver's kubepods/<qos>/pod<uid> tree), under one root per node so that nodes sharing a
 * machine never touch each other's cgroups. Containers get runc cgroups paths below their pod's
 * parent. cm/fake.ts implements it in memory for unit tests.
 */
import type { Pod } from "@skiff/api";

export type QOSClass = "Guaranteed" | "Burstable" | "BestEffort";

export interface PodCgroups {
  /**
   * Creates the pod's cgroup parent with pod-level limits (kube's pod cgroup: memory limit and
   * CFS quota when every container has limits, cpu.shares from requests); idempotent.
   * Returns the parent's runc path; a container's cgroupsPath is `${parent}/${containerId}`.
   */
  ensurePod(pod: Pod): Promise<string>;
  /** The pod's parent path (as ensurePod returns it) without creating anything. */
  podPath(pod: Pod): string;
  /** Removes the pod's cgroup directories in every controller; idempotent. */
  removePod(podUID: string): Promise<void>;
  /** UIDs of pods that have a cgroup parent on this node. */
  listPods(): Promise<string[]>;
  /** The pod's memory working set in bytes (usage minus inactive file), if it has a cgroup. */
  podMemoryWorkingSet(podUID: string): Promise<number | undefined>;
  /** Removes the node's cgroup root (agent shutdown with no pods left). */
  removeNode(): Promise<void>;
}
