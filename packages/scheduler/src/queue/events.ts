/**
 * Cluster events as the scheduling queue sees them (kube's pkg/scheduler/framework/events.go and
 * types.go): their metric labels, how an incoming event matches a plugin's registration, and the
 * events a pod update amounts to.
 */
import { isDeepStrictEqual } from "node:util";
import type { Node, Pod } from "@skiff/api";
import { ActionType, type ClusterEvent, type EventResource } from "../framework/interface.js";
import { podRequests, type Resource } from "../framework/resource.js";

/** Event labels that are not a cluster event (kube's framework.ScheduleAttemptFailure and friends). */
export const PodAdd = "PodAdd";
export const PodUpdate = "PodUpdate";
export const ScheduleAttemptFailure = "ScheduleAttemptFailure";
export const BackoffComplete = "BackoffComplete";
export const ForceActivate = "ForceActivate";
export const UnschedulableTimeout = "UnschedulableTimeout";

export const WILDCARD: EventResource = "*";

/** Moves every unschedulable pod (kube's EventUnschedulableTimeout: a wildcard with its own label). */
export const EventUnschedulableTimeout: ClusterEvent = {
  resource: "*",
  actionType: ActionType.All,
  label: UnschedulableTimeout,
};
/** Activate(): a wildcard aimed at one pod (the pod is the event's newObj). */
export const EventForceActivate: ClusterEvent = {
  resource: "*",
  actionType: ActionType.All,
  label: ForceActivate,
};
/** A pending pod's spec changed while it was being scheduled (aimed at that pod, like ForceActivate). */
export const EventUnscheduledPodSpecUpdate: ClusterEvent = {
  resource: "*",
  actionType: ActionType.All,
  label: PodUpdate,
};
export const EventAssignedPodAdd: ClusterEvent = { resource: "AssignedPod", actionType: ActionType.Add };
export const EventAssignedPodUpdate: ClusterEvent = {
  resource: "AssignedPod",
  actionType: ActionType.Update,
};

/** kube's ActionType.String() for one flag or a named union; other unions join their flags with "|". */
export function actionTypeName(a: ActionType): string {
  const named = ActionType[a];
  if (named !== undefined) return named;
  const parts: string[] = [];
  for (let bit = 1; bit <= ActionType.UpdateOther; bit <<= 1)
    if (a & bit) parts.push(ActionType[bit] ?? String(bit));
  return parts.join("|");
}

/** kube's ClusterEvent.Label(): the custom label, else resource and action ("NodeAdd"). */
export function clusterEventLabel(e: ClusterEvent): string {
  return e.label ?? `${e.resource === "*" ? "*" : e.resource}${actionTypeName(e.actionType)}`;
}

/** kube's ClusterEventIsWildCard: every resource and every action. */
export function clusterEventIsWildCard(e: ClusterEvent): boolean {
  return e.resource === WILDCARD && e.actionType === ActionType.All;
}

function matchEventResources(registered: EventResource, incoming: EventResource): boolean {
  return (
    registered === WILDCARD ||
    registered === incoming ||
    // A plugin registers "Pod"; the queue receives the finer AssignedPod / UnscheduledPod.
    (registered === "Pod" && (incoming === "AssignedPod" || incoming === "UnscheduledPod"))
  );
}

/**
 * kube's MatchClusterEvents: whether an incoming event is one a plugin registered. The actions must
 * overlap and the incoming one must be no broader than the registration: a generic Node/Update does
 * not match a registration for UpdateNodeLabel only. A wildcard incoming event matches only a
 * wildcard registration (the queue treats wildcard events separately: they move every pod).
 */
export function matchClusterEvents(registered: ClusterEvent, incoming: ClusterEvent): boolean {
  return (
    clusterEventIsWildCard(registered) ||
    (matchEventResources(registered.resource, incoming.resource) &&
      (registered.actionType & incoming.actionType) !== 0 &&
      incoming.actionType <= registered.actionType)
  );
}

export function matchAnyClusterEvent(incoming: ClusterEvent, registered: readonly ClusterEvent[]): boolean {
  return registered.some((r) => matchClusterEvents(r, incoming));
}

function requestsOrUndefined(pod: Pod): Resource | undefined {
  try {
    return podRequests(pod);
  } catch {
    return undefined;
  }
}

function scaledDown(newPod: Pod, oldPod: Pod): boolean {
  const n = requestsOrUndefined(newPod);
  const o = requestsOrUndefined(oldPod);
  if (n === undefined || o === undefined) return false;
  if (n.milliCPU < o.milliCPU || n.memory < o.memory || n.ephemeralStorage < o.ephemeralStorage) return true;
  for (const [k, v] of o.scalarResources ?? []) if (n.scalar(k) < v) return true;
  return false;
}

/**
 * kube's PodSchedulingPropertiesChange: the specific UpdatePodXYZ events a pod update amounts to,
 * or one generic Update when none applies. The resource says whether the pod is bound.
 */
export function podSchedulingPropertiesChange(newPod: Pod, oldPod: Pod): ClusterEvent[] {
  const resource: EventResource = newPod.spec.nodeName ? "AssignedPod" : "UnscheduledPod";
  const actions: ActionType[] = [];
  if (!isDeepStrictEqual(newPod.metadata.labels ?? {}, oldPod.metadata.labels ?? {}))
    actions.push(ActionType.UpdatePodLabel);
  if (scaledDown(newPod, oldPod)) actions.push(ActionType.UpdatePodScaleDown);
  if ((newPod.spec.schedulingGates ?? []).length === 0 && (oldPod.spec.schedulingGates ?? []).length > 0)
    actions.push(ActionType.UpdatePodSchedulingGatesEliminated);
  // Tolerations can only be added (API validation), so a length change is enough (as kube).
  if ((newPod.spec.tolerations ?? []).length !== (oldPod.spec.tolerations ?? []).length)
    actions.push(ActionType.UpdatePodTolerations);
  if (actions.length === 0) actions.push(ActionType.Update);
  return actions.map((actionType) => ({ resource, actionType }));
}

/**
 * kube's NodeSchedulingPropertiesChange: the UpdateNodeXYZ events a node update amounts to (none
 * when nothing the scheduler looks at changed). A node turning schedulable counts as a taint change.
 */
export function nodeSchedulingPropertiesChange(newNode: Node, oldNode: Node): ClusterEvent[] {
  const actions: ActionType[] = [];
  if (oldNode.spec?.unschedulable && !newNode.spec?.unschedulable) actions.push(ActionType.UpdateNodeTaint);
  if (!isDeepStrictEqual(oldNode.status?.allocatable, newNode.status?.allocatable))
    actions.push(ActionType.UpdateNodeAllocatable);
  if (!isDeepStrictEqual(oldNode.metadata.labels ?? {}, newNode.metadata.labels ?? {}))
    actions.push(ActionType.UpdateNodeLabel);
  if (!isDeepStrictEqual(oldNode.spec?.taints, newNode.spec?.taints))
    actions.push(ActionType.UpdateNodeTaint);
  const conditions = (n: Node) =>
    Object.fromEntries((n.status?.conditions ?? []).map((c) => [c.type, c.status]));
  if (!isDeepStrictEqual(conditions(oldNode), conditions(newNode)))
    actions.push(ActionType.UpdateNodeCondition);
  if (!isDeepStrictEqual(oldNode.metadata.annotations ?? {}, newNode.metadata.annotations ?? {}))
    actions.push(ActionType.UpdateNodeAnnotation);
  return [...new Set(actions)].map((actionType) => ({ resource: "Node", actionType }));
}

function stripped(p: Pod): unknown {
  const { resourceVersion: _rv, generation: _g, managedFields: _m, finalizers: _f, ...metadata } = p.metadata;
  return { ...p, metadata, status: undefined };
}

/**
 * kube's isPodUpdated: whether an update may change the scheduling result, that is whether
 * anything but the status (the scheduler's own PodScheduled condition and nominatedNodeName among
 * it), resourceVersion, generation, managedFields or finalizers changed.
 */
export function isPodUpdated(oldPod: Pod, newPod: Pod): boolean {
  return !isDeepStrictEqual(stripped(oldPod), stripped(newPod));
}

/** The pod a wildcard event is aimed at (ForceActivate carries it as newObj), if any. */
export function targetPodUid(newObj: unknown): string | undefined {
  if (typeof newObj !== "object" || newObj === null) return undefined;
  const o = newObj as Partial<Pod>;
  if (o.kind !== undefined && o.kind !== "Pod") return undefined;
  if (typeof o.spec !== "object" || !Array.isArray(o.spec?.containers)) return undefined;
  return o.metadata?.uid;
}
