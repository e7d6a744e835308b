/**
 * The informer event handlers (pkg/scheduler/eventhandlers.go): assigned pods and nodes go to
 * the cache; unassigned pods this scheduler is responsible for go to the queue; every change that
 * may make an unschedulable pod schedulable is passed to the queue as a ClusterEvent (node added,
 * allocatable / labels / taints / conditions changed, assigned pod deleted ...). Objects with
 * malformed quantities are skipped with a Warning event, never a crash.
 */
import type { Node, Pod } from "@skiff/api";
import type { SchedulerCache } from "./cache/cache.js";
import { ActionType, type ClusterEvent, type EventRecorderLike } from "./framework/interface.js";
import { QuantityError } from "./framework/resource.js";
import { nodeSchedulingPropertiesChange } from "./queue/events.js";

/** What the handlers need of the queue (queue/priority-queue.ts implements it). */
export interface QueueForEvents {
  add(pod: Pod): void;
  update(oldPod: Pod | undefined, newPod: Pod): void;
  delete(pod: Pod): void;
  moveAllToActiveOrBackoffQueue(event: ClusterEvent, oldObj?: unknown, newObj?: unknown): void;
  assignedPodAdded(pod: Pod): void;
  assignedPodUpdated(oldPod: Pod | undefined, newPod: Pod): void;
}

const assigned = (p: Pod) => (p.spec?.nodeName ?? "") !== "";
const terminal = (p: Pod) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
export class SchedulerEventHandlers {
  constructor(
    private readonly cache: SchedulerCache,
    private readonly queue: QueueForEvents,
    private readonly responsibleFor: (pod: Pod) => boolean,
    private readonly recorder: EventRecorderLike,
    private readonly onError: (e: unknown, what: string) => void,
  ) {}

  private invalid(kind: "Pod" | "Node", obj: Pod | Node, e: unknown): void {
    if (!(e instanceof QuantityError)) {
      this.onError(e, `${kind} ${obj.metadata.name}`);
      return;
    }
    const m = obj.metadata;
    this.recorder.eventf(
      {
        apiVersion: "v1",
        kind,
        name: m.name,
        uid: m.uid ?? "",
        ...(m.namespace === undefined ? {} : { namespace: m.namespace }),
      },
      undefined,
      "Warning",
      kind === "Pod" ? "FailedScheduling" : "InvalidResources",
      "Scheduling",
      `skipped by the scheduler: ${e.message}`,
    );
  }

  onPodAdd = (pod: Pod): void => {
    if (terminal(pod)) return;
    try {
      if (assigned(pod)) {
        this.cache.addPod(pod);
        this.queue.assignedPodAdded(pod);
      } else if (this.responsibleFor(pod)) this.queue.add(pod);
    } catch (e) {
      this.invalid("Pod", pod, e);
    }
  };

  onPodUpdate = (oldPod: Pod, newPod: Pod): void => {
    try {
      if (assigned(newPod)) {
        if (!assigned(oldPod)) this.queue.delete(oldPod); // bound (by us or anyone): leaves the queue
        if (terminal(newPod)) {
          this.onAssignedPodGone(newPod);
          return;
        }
        this.cache.updatePod(assigned(oldPod) ? oldPod : undefined, newPod);
        if (assigned(oldPod)) this.queue.assignedPodUpdated(oldPod, newPod);
        else this.queue.assignedPodAdded(newPod);
      } else if (this.responsibleFor(newPod)) {
        // Our own assumption racing the informer: the bind is in flight.
        if (this.cache.isAssumedPod(newPod)) return;
        if (terminal(newPod)) this.queue.delete(newPod);
        else this.queue.update(oldPod, newPod);
      }
    } catch (e) {
      this.invalid("Pod", newPod, e);
    }
  };

  onPodDelete = (pod: Pod): void => {
    if (assigned(pod)) this.onAssignedPodGone(pod);
    else if (this.responsibleFor(pod)) this.queue.delete(pod);
  };

  private onAssignedPodGone(pod: Pod): void {
    this.cache.removePod(pod);
    this.queue.moveAllToActiveOrBackoffQueue(
      { resource: "AssignedPod", actionType: ActionType.Delete, label: "AssignedPodDelete" },
      pod,
      undefined,
    );
  }

  onNodeAdd = (node: Node): void => {
    try {
      this.cache.addNode(node);
    } catch (e) {
      this.invalid("Node", node, e);
      return;
    }
    this.queue.moveAllToActiveOrBackoffQueue(
      { resource: "Node", actionType: ActionType.Add, label: "NodeAdd" },
      undefined,
      node,
    );
  };

  onNodeUpdate = (oldNode: Node, newNode: Node): void => {
    try {
      this.cache.updateNode(oldNode, newNode);
    } catch (e) {
      this.invalid("Node", newNode, e);
      this.cache.removeNode(newNode);
      return;
    }
    for (const ev of nodeSchedulingPropertiesChange(newNode, oldNode))
      this.queue.moveAllToActiveOrBackoffQueue(ev, oldNode, newNode);
  };

  onNodeDelete = (node: Node): void => {
    this.cache.removeNode(node);
  };

  /** PVC, PV, namespace, PDB ... changes: requeue pods that registered for them. */
  onOther = (
    resource: ClusterEvent["resource"],
    actionType: ActionType,
    oldObj?: unknown,
    newObj?: unknown,
  ): void => {
    this.queue.moveAllToActiveOrBackoffQueue(
      { resource, actionType, label: `${resource}${ActionType[actionType] ?? "Change"}` },
      oldObj,
      newObj,
    );
  };
}
