/**
 * In-memory PodCgroups for unit tests: records which pods have a cgroup parent and answers
 * with the paths the cgroupfs implementation would use (kubepods/<qos>/pod<uid> under the
 * node's root).
 */
import type { Pod } from "@skiff/api";
import type { PodCgroups } from "./cgroups.js";
import { getPodQOS } from "./qos.js";

export class FakePodCgroups implements PodCgroups {
  /** uid -> parent path of the pods that have a cgroup. */
  readonly pods = new Map<string, string>();
  /** Memory working sets a test sets per pod uid. */
  readonly memory = new Map<string, number>();
  nodeRemoved = false;

  constructor(readonly root = "/skiff-fake") {}

  podPath(pod: Pod): string {
    const uid = pod.metadata.uid ?? "";
    const qos = getPodQOS(pod);
    const tier = qos === "Guaranteed" ? "" : `/${qos.toLowerCase()}`;
    return `${this.root}/kubepods${tier}/pod${uid}`;
  }

  async ensurePod(pod: Pod): Promise<string> {
    const path = this.podPath(pod);
    this.pods.set(pod.metadata.uid ?? "", path);
    return path;
  }

  async removePod(podUID: string): Promise<void> {
    this.pods.delete(podUID);
  }

  async listPods(): Promise<string[]> {
    return [...this.pods.keys()];
  }

  async podMemoryWorkingSet(podUID: string): Promise<number | undefined> {
    return this.pods.has(podUID) ? (this.memory.get(podUID) ?? 0) : undefined;
  }

  async removeNode(): Promise<void> {
    this.pods.clear();
    this.nodeRemoved = true;
  }
}
