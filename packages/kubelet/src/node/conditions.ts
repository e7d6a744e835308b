/**
 * The node condition setters of pkg/kubelet/nodestatus/setters.go (MemoryPressureCondition,
 * DiskPressureCondition, PIDPressureCondition, ReadyCondition): each keeps its condition's
 * lastTransitionTime while the status stays, moves it when the status changes, and always sets
 * lastHeartbeatTime to now. The wording of reasons and messages is kube's.
 */
import type { NodeCondition } from "@skiff/api";
import { metav1Time } from "@skiff/api";

/** The message containerd's CRI gives while no CNI config is loaded (NetworkReady=false). */
export const networkNotReadyMessage =
  "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized";

/** What the condition setters read (each a provider in kube's setters). */
export interface ConditionInputs {
  memoryPressure: boolean;
  diskPressure: boolean;
  pidPressure: boolean;
  /** Errors that keep the node NotReady (runtime, network, shutdown, missing capacity). */
  readyErrors: readonly string[];
}

/** A transition worth an event (recordEventFunc in setters.go), e.g. "NodeNotReady". */
export type ConditionEvent = string;

interface PressureWords {
  type: string;
  trueReason: string;
  trueMessage: string;
  trueEvent: string;
  falseReason: string;
  falseMessage: string;
  falseEvent: string;
}

const memoryWords: PressureWords = {
  type: "MemoryPressure",
  trueReason: "KubeletHasInsufficientMemory",
  trueMessage: "kubelet has insufficient memory available",
  trueEvent: "NodeHasInsufficientMemory",
  falseReason: "KubeletHasSufficientMemory",
  falseMessage: "kubelet has sufficient memory available",
  falseEvent: "NodeHasSufficientMemory",
};
const diskWords: PressureWords = {
  type: "DiskPressure",
  trueReason: "KubeletHasDiskPressure",
  trueMessage: "kubelet has disk pressure",
  trueEvent: "NodeHasDiskPressure",
  falseReason: "KubeletHasNoDiskPressure",
  falseMessage: "kubelet has no disk pressure",
  falseEvent: "NodeHasNoDiskPressure",
};
const pidWords: PressureWords = {
  type: "PIDPressure",
  trueReason: "KubeletHasInsufficientPID",
  trueMessage: "kubelet has insufficient PID available",
  trueEvent: "NodeHasInsufficientPID",
  falseReason: "KubeletHasSufficientPID",
  falseMessage: "kubelet has sufficient PID available",
  falseEvent: "NodeHasSufficientPID",
};

function pressure(
  old: NodeCondition | undefined,
  w: PressureWords,
  on: boolean,
  now: string,
  events: ConditionEvent[],
): NodeCondition {
  const c: NodeCondition = old === undefined ? { type: w.type, status: "Unknown" } : { ...old };
  c.lastHeartbeatTime = now;
  const want = on ? "True" : "False";
  if (c.status !== want) {
    c.status = want;
    c.reason = on ? w.trueReason : w.falseReason;
    c.message = on ? w.trueMessage : w.falseMessage;
    c.lastTransitionTime = now;
    events.push(on ? w.trueEvent : w.falseEvent);
  }
  return c;
}

/** utilerrors.NewAggregate(errs).Error(): one error as is, several as "[a, b]". */
export function aggregateMessage(errs: readonly string[]): string {
  return errs.length === 1 ? (errs[0] ?? "") : `[${errs.join(", ")}]`;
}

function ready(
  old: NodeCondition | undefined,
  errs: readonly string[],
  now: string,
  events: ConditionEvent[],
): NodeCondition {
  const ok = errs.length === 0;
  const c: NodeCondition = ok
    ? { type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" }
    : { type: "Ready", status: "False", reason: "KubeletNotReady", message: aggregateMessage(errs) };
  c.lastHeartbeatTime = now;
  if (old !== undefined && old.status === c.status && old.lastTransitionTime !== undefined)
    c.lastTransitionTime = old.lastTransitionTime;
  else {
    c.lastTransitionTime = now;
    // kube records NodeReady/NodeNotReady only on a change of an existing condition.
    if (old !== undefined) events.push(ok ? "NodeReady" : "NodeNotReady");
  }
  return c;
}

/**
 * The node's conditions after one run of the setters, in kube's order (MemoryPressure,
 * DiskPressure, PIDPressure, Ready); conditions of other types (set by others) are kept.
 */
export function setConditions(
  old: readonly NodeCondition[] | undefined,
  inputs: ConditionInputs,
  nowMs: number,
  events: ConditionEvent[] = [],
): NodeCondition[] {
  const now = metav1Time(new Date(nowMs));
  const find = (t: string) => old?.find((c) => c.type === t);
  const mine = [
    pressure(find("MemoryPressure"), memoryWords, inputs.memoryPressure, now, events),
    pressure(find("DiskPressure"), diskWords, inputs.diskPressure, now, events),
    pressure(find("PIDPressure"), pidWords, inputs.pidPressure, now, events),
    ready(find("Ready"), inputs.readyErrors, now, events),
  ];
  const types = new Set(mine.map((c) => c.type));
  return [...mine, ...(old ?? []).filter((c) => !types.has(c.type))];
}
