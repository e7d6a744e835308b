/**
 * The preemption Evaluator (k8s.io/kubernetes/pkg/scheduler/framework/preemption): which nodes
 * could take the pod if lower-priority pods left, which victims on each, which node to pick, and
 * then the preemption itself (DisruptionTarget condition, graceful deletion, events, lower-priority
 * nominations cleared). What a plugin may vary is behind PreemptionInterface, as kube's Interface.
 *
 * NodeToStatus: nodes absent from the map are taken as UnschedulableAndUnresolvable, kube's
 * default absent-node status (a PreFilter rejection that could be resolved must name every node).
 */
import type { ObjectReference, Pod, PodDisruptionBudget } from "@skiff/api";
import type { CycleState } from "../../framework/cycle-state.js";
import type { Handle, NodeToStatus, PostFilterResult } from "../../framework/interface.js";
import type { NodeInfo } from "../../framework/node-info.js";
import { priorityOf } from "../../framework/pod-info.js";
import { Code, Status } from "../../framework/status.js";
import { type Candidate, fitErrorMessage, pickOneNodeForPreemption, type ScoreFunc } from "./candidates.js";
import type { SelectedVictims } from "./victims.js";

/** preemption.Interface. */
export interface PreemptionInterface {
  /** A start offset into the potential nodes and how many candidates to find before stopping. */
  getOffsetAndNumCandidates(numNodes: number): [offset: number, numCandidates: number];
  /** Whether the pod may preempt at all; the string says why not. */
  podEligibleToPreemptOthers(pod: Pod, nominatedNodeStatus: Status | undefined): [boolean, string];
  /** Victims on one node; `state` and `nodeInfo` are copies the method may change. */
  selectVictimsOnNode(
    state: CycleState,
    pod: Pod,
    nodeInfo: NodeInfo,
    pdbs: readonly PodDisruptionBudget[],
  ): SelectedVictims;
  /** Score functions in precedence order; undefined: kube's default criteria. */
  orderedScoreFuncs?(nodesToVictims: ReadonlyMap<string, Candidate["victims"]>): ScoreFunc[] | undefined;
}

export const PreemptionNotHelpful = "Preemption is not helpful for scheduling";

/** Status of a node in the map; absent nodes get kube's default absent status. */
const statusOf = (m: NodeToStatus, node: string): Status =>
  m.get(node) ?? new Status(Code.UnschedulableAndUnresolvable);

const podRef = (p: Pod): ObjectReference => ({
  apiVersion: "v1",
  kind: "Pod",
  namespace: p.metadata.namespace,
  name: p.metadata.name,
  ...(p.metadata.uid === undefined ? {} : { uid: p.metadata.uid }),
});

export interface PreemptOutcome {
  result?: PostFilterResult;
  status: Status;
}

export class Evaluator {
  constructor(
    readonly pluginName: string,
    readonly handle: Handle,
    readonly iface: PreemptionInterface,
  ) {}

  /**
   * Preempt: <undefined, Error/Unschedulable> leaves the pod's nomination as it is; <result with
   * "", Unschedulable> means preemption cannot help (the nomination is cleared); <result with the
   * node, Success> is a preemption that was carried out.
   */
  async preempt(state: CycleState, pod: Pod, m: NodeToStatus): Promise<PreemptOutcome> {
    const nominated = pod.status?.nominatedNodeName ?? "";
    const [eligible, why] = this.iface.podEligibleToPreemptOthers(pod, statusOf(m, nominated));
    if (!eligible) return { status: Status.unschedulable(why) };

    const allNodes = this.handle.snapshotSharedLister().nodeInfos().list();
    if (allNodes.length === 0) return { status: Status.error(new Error("no nodes available")) };
    const { candidates, statuses, errors } = this.findCandidates(state, allNodes, pod, m);
    if (errors.length > 0 && candidates.length === 0) return { status: Status.error(errors[0]) };
    if (candidates.length === 0) {
      await this.clearNomination(pod);
      const msg = fitErrorMessage(allNodes.length, statuses, PreemptionNotHelpful);
      return { result: { nominatedNodeName: "" }, status: Status.unschedulable(msg) };
    }
    const best = this.selectCandidate(candidates);
    if (best === undefined || best.name === "")
      return { status: Status.unschedulable("no candidate node for preemption") };
    const prepared = await this.prepareCandidate(best, pod);
    if (!prepared.isSuccess()) return { status: prepared };
    try {
      await this.handle.api.setNominatedNodeName(pod, best.name);
    } catch {
      // As kube's failure handler: the nomination is retried on the next attempt, not fatal.
    }
    return { result: { nominatedNodeName: best.name }, status: Status.success() };
  }

  /** findCandidates: dry-run preemption on the nodes whose failure was Unschedulable. */
  findCandidates(
    state: CycleState,
    allNodes: readonly NodeInfo[],
    pod: Pod,
    m: NodeToStatus,
  ): { candidates: Candidate[]; statuses: NodeToStatus; errors: Error[] } {
    const potential = allNodes.filter((n) => statusOf(m, n.name).code === Code.Unschedulable);
    if (potential.length === 0) return { candidates: [], statuses: new Map(), errors: [] };
    const pdbs = this.handle.pdbs();
    const [offset, numCandidates] = this.iface.getOffsetAndNumCandidates(potential.length);
    return this.dryRunPreemption(state, pod, potential, pdbs, offset, numCandidates);
  }

  /**
   * DryRunPreemption: nodes are tried from `offset` round the list, each on its own copy of the
   * node and of the state, until numCandidates are found with at least one that violates no PDB.
   * Non-violating candidates come first.
   */
  dryRunPreemption(
    state: CycleState,
    pod: Pod,
    potential: readonly NodeInfo[],
    pdbs: readonly PodDisruptionBudget[],
    offset: number,
    numCandidates: number,
  ): { candidates: Candidate[]; statuses: NodeToStatus; errors: Error[] } {
    const nonViolating: Candidate[] = [];
    const violating: Candidate[] = [];
    const statuses: NodeToStatus = new Map();
    const errors: Error[] = [];
    for (let i = 0; i < potential.length; i++) {
      const nodeInfoCopy = (potential[(offset + i) % potential.length] as NodeInfo).clone();
      const { victims, numPDBViolations, status } = this.iface.selectVictimsOnNode(
        state.clone(),
        pod,
        nodeInfoCopy,
        pdbs,
      );
      if (status.isSuccess() && victims.length > 0) {
        const list = numPDBViolations === 0 ? nonViolating : violating;
        if (list.length < numCandidates)
          list.push({ name: nodeInfoCopy.name, victims: { pods: victims, numPDBViolations } });
        if (nonViolating.length > 0 && nonViolating.length + violating.length >= numCandidates) break;
        continue;
      }
      const s = status.isSuccess()
        ? Status.error(new Error(`expected at least one victim pod on node "${nodeInfoCopy.name}"`))
        : status;
      if (s.code === Code.Error) errors.push(s.error ?? new Error(s.message()));
      statuses.set(nodeInfoCopy.name, s);
    }
    return { candidates: [...nonViolating, ...violating], statuses, errors };
  }

  selectCandidate(candidates: readonly Candidate[]): Candidate | undefined {
    if (candidates.length <= 1) return candidates[0];
    const victims = new Map(candidates.map((c) => [c.name, c.victims]));
    const name = pickOneNodeForPreemption(
      victims,
      this.handle.now(),
      this.iface.orderedScoreFuncs?.(victims),
    );
    return candidates.find((c) => c.name === name) ?? candidates[0];
  }

  /**
   * prepareCandidate: each victim gets the DisruptionTarget condition (when the API can patch
   * it), is deleted gracefully and gets a Preempted event; lower-priority pods nominated to the
   * node lose their nomination (they may no longer fit; clearing it requeues them).
   */
  async prepareCandidate(c: Candidate, pod: Pod): Promise<Status> {
    const { api, eventRecorder } = this.handle;
    const schedulerName = pod.spec.schedulerName ?? "default-scheduler";
    try {
      await Promise.all(
        c.victims.pods.map(async (victim) => {
          if (api.patchPodCondition !== undefined && !hasPreemptionCondition(victim))
            await api.patchPodCondition(victim, {
              type: "DisruptionTarget",
              status: "True",
              reason: "PreemptionByScheduler",
              message: `${schedulerName}: preempting to accommodate a higher priority pod`,
            });
          await api.deletePod(victim, "preempted");
          eventRecorder.eventf(
            podRef(victim),
            podRef(pod),
            "Normal",
            "Preempted",
            "Preempting",
            `Preempted by pod ${pod.metadata.uid ?? ""} on node ${c.name}`,
          );
        }),
      );
    } catch (e) {
      return Status.error(e);
    }
    const prio = priorityOf(pod);
    for (const pi of this.handle.podNominator.nominatedPodsForNode(c.name)) {
      if (priorityOf(pi.pod) >= prio || !pi.pod.status?.nominatedNodeName) continue;
      try {
        await api.setNominatedNodeName(pi.pod, "");
      } catch {
        // Not critical, as kube: the pod is retried and may be nominated elsewhere.
      }
    }
    return Status.success();
  }

  private async clearNomination(pod: Pod): Promise<void> {
    if (!pod.status?.nominatedNodeName) return;
    try {
      await this.handle.api.setNominatedNodeName(pod, "");
    } catch {
      // Not critical, as kube's ClearNominatedNodeName.
    }
  }
}

/** The condition kube would add is there already (apipod.UpdatePodCondition reports no change). */
function hasPreemptionCondition(p: Pod): boolean {
  return (p.status?.conditions ?? []).some(
    (c) => c.type === "DisruptionTarget" && c.status === "True" && c.reason === "PreemptionByScheduler",
  );
}
