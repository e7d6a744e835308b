/**
 * PrioritySort (kube's pkg/scheduler/framework/plugins/queuesort): the QueueSort plugin that
 * orders the activeQ by pod priority, higher first, then by the time the pod was queued.
 */
import type { Handle, QueueSortPlugin } from "../../framework/interface.js";
import { priorityOf, type QueuedPodInfo } from "../../framework/pod-info.js";

export const Name = "PrioritySort";

export class PrioritySort implements QueueSortPlugin {
  readonly name = Name;

  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
    const pa = priorityOf(a.podInfo.pod);
    const pb = priorityOf(b.podInfo.pod);
    return pa > pb || (pa === pb && a.timestamp < b.timestamp);
  }
}

export function New(_args: Record<string, unknown> | undefined, _handle: Handle): PrioritySort {
  return new PrioritySort();
}
