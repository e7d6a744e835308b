/**
 * kube's unschedulablePods: pods that were tried and found unschedulable, and pods a PreEnqueue
 * plugin gates, waiting for a cluster event that may change that (or for the leftover flush).
 */
import type { QueuedPodInfo } from "../framework/pod-info.js";
import { queuedPodKey } from "./keys.js";

export class UnschedulablePods {
  private readonly pods = new Map<string, QueuedPodInfo>();

  /** Adds or replaces; returns whether the pod was new here (the incoming-pods metric counts those). */
  addOrUpdate(qpi: QueuedPodInfo): boolean {
    const key = queuedPodKey(qpi);
    const isNew = !this.pods.has(key);
    this.pods.set(key, qpi);
    return isNew;
  }

  get(key: string): QueuedPodInfo | undefined {
    return this.pods.get(key);
  }

  has(key: string): boolean {
    return this.pods.has(key);
  }

  delete(key: string): boolean {
    return this.pods.delete(key);
  }

  list(): QueuedPodInfo[] {
    return [...this.pods.values()];
  }

  /** [not gated, gated] counts, for scheduler_pending_pods. */
  counts(): { unschedulable: number; gated: number } {
    let gated = 0;
    for (const qpi of this.pods.values()) if (qpi.gated) gated++;
    return { unschedulable: this.pods.size - gated, gated };
  }

  get length(): number {
    return this.pods.size;
  }
}
