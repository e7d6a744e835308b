/**
 * FitError (pkg/scheduler/framework/types.go): why no node fits, in the shape users read in
 * FailedScheduling events: "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had
 * untolerated taint {k: v}. preemption: 0/5 nodes are available: 5 Preemption is not helpful for
 * scheduling." The per-node reasons are counted and the "<count> <reason>" strings sorted, as kube.
 */
import type { Pod } from "@skiff/api";
import type { NodeToStatus } from "./interface.js";

export const NO_NODE_AVAILABLE_MSG = "0/%v nodes are available";

export interface Diagnosis {
  nodeToStatus: NodeToStatus;
  /** Plugins that rejected the pod somewhere: the queue requeues it only on their events. */
  unschedulablePlugins: Set<string>;
  preFilterMsg: string;
  postFilterMsg: string;
}

export function newDiagnosis(): Diagnosis {
  return { nodeToStatus: new Map(), unschedulablePlugins: new Set(), preFilterMsg: "", postFilterMsg: "" };
}

export class FitError extends Error {
  constructor(
    readonly pod: Pod,
    readonly numAllNodes: number,
    readonly diagnosis: Diagnosis,
  ) {
    // No message argument: an own `message` property would hide the getter below.
    super();
    this.name = "FitError";
  }

  override get message(): string {
    let msg = `0/${this.numAllNodes} nodes are available:`;
    const d = this.diagnosis;
    if (d.preFilterMsg !== "") msg += ` ${d.preFilterMsg}.`;
    else {
      const histogram = new Map<string, number>();
      for (const s of d.nodeToStatus.values())
        for (const r of s.reasons) histogram.set(r, (histogram.get(r) ?? 0) + 1);
      const parts = [...histogram].map(([r, n]) => `${n} ${r}`).sort();
      if (parts.length > 0) msg += ` ${parts.join(", ")}.`;
    }
    // kube appends it with the same " %v." separator, so preemption's own final period doubles.
    if (d.postFilterMsg !== "") msg += ` ${d.postFilterMsg}.`;
    return msg;
  }
}

/** "no nodes available to schedule pods" (kube's ErrNoNodesAvailable). */
export class NoNodesAvailableError extends Error {
  constructor() {
    super("no nodes available to schedule pods");
  }
}
