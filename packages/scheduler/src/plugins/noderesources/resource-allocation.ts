/**
 * kube's resourceAllocationScorer (noderesources/resource_allocation.go): for the configured
 * resources, what the node would have requested with the pod and what it can allocate, handed
 * to a Scorer. Shared by NodeResourcesFit (NonZeroRequested: pods without requests count 100m /
 * 200Mi, so they spread) and NodeResourcesBalancedAllocation (the real requests).
 */
import type { Pod } from "@skiff/api";
import type { CycleState, StateData } from "../../framework/cycle-state.js";
import type { NodeInfo } from "../../framework/node-info.js";
import {
  CPU,
  EPHEMERAL_STORAGE,
  isScalarResourceName,
  MEMORY,
  podRequests,
} from "../../framework/resource.js";
import { Status } from "../../framework/status.js";
import type { ResourceSpec } from "./args.js";
import type { Scorer } from "./scorers.js";

enum Kind {
  Cpu,
  Memory,
  EphemeralStorage,
  Scalar,
  /** Neither built-in nor scalar (e.g. "pods"): never scored. */
  Other,
}

function kindOf(name: string): Kind {
  if (name === CPU) return Kind.Cpu;
  if (name === MEMORY) return Kind.Memory;
  if (name === EPHEMERAL_STORAGE) return Kind.EphemeralStorage;
  return isScalarResourceName(name) ? Kind.Scalar : Kind.Other;
}

/** The pod's request list, computed once per cycle at PreScore. */
class PodRequestsState implements StateData {
  constructor(readonly podRequests: readonly number[]) {}
  clone(): StateData {
    return this;
  }
}

export class ResourceAllocationScorer {
  private readonly names: string[];
  private readonly kinds: Kind[];
  /** Scratch for one Score call: Score runs synchronously, one node at a time. */
  private readonly requested: Float64Array;
  private readonly allocatable: Float64Array;

  constructor(
    readonly strategy: string,
    resources: readonly ResourceSpec[],
    /** Requested (true) or NonZeroRequested (false) for cpu and memory. */
    private readonly useRequested: boolean,
    private readonly scorer: Scorer,
  ) {
    this.names = resources.map((r) => r.name);
    this.kinds = this.names.map(kindOf);
    this.requested = new Float64Array(resources.length);
    this.allocatable = new Float64Array(resources.length);
  }

  /**
   * The pod's request of each configured resource, in their order (calculatePodResourceRequestList);
   * with !useRequested, containers without a cpu or memory request count the defaults.
   */
  podRequestList(pod: Pod): number[] {
    const r = podRequests(pod, !this.useRequested);
    return this.names.map((name, i) => {
      switch (this.kinds[i]) {
        case Kind.Cpu:
          return r.milliCPU;
        case Kind.Memory:
          return r.memory;
        case Kind.EphemeralStorage:
          return r.ephemeralStorage;
        case Kind.Scalar:
          return r.scalar(name);
        default:
          return 0;
      }
    });
  }

  /** The node's score for a pod whose podRequestList is `podRequests`. */
  score(nodeInfo: NodeInfo, podRequests: readonly number[]): number {
    const requested = this.useRequested ? nodeInfo.requested : nodeInfo.nonZeroRequested;
    const alloc = nodeInfo.allocatable;
    for (let i = 0; i < this.names.length; i++) {
      const podRequest = podRequests[i] as number;
      let a = 0;
      let r = 0;
      switch (this.kinds[i]) {
        case Kind.Cpu:
          a = alloc.milliCPU;
          r = requested.milliCPU + podRequest;
          break;
        case Kind.Memory:
          a = alloc.memory;
          r = requested.memory + podRequest;
          break;
        case Kind.EphemeralStorage:
          a = alloc.ephemeralStorage;
          r = nodeInfo.requested.ephemeralStorage + podRequest;
          break;
        case Kind.Scalar: {
          // An extended resource the pod does not request, or the node does not have, is not scored.
          const name = this.names[i] as string;
          if (podRequest !== 0 && alloc.scalarResources?.has(name) === true) {
            a = alloc.scalar(name);
            r = nodeInfo.requested.scalar(name) + podRequest;
          }
          break;
        }
      }
      // Only resources the node has take part (kube leaves the others at 0 for the scorer).
      this.allocatable[i] = a;
      this.requested[i] = a === 0 ? 0 : r;
    }
    return this.scorer(this.requested, this.allocatable);
  }

  /** PreScore of a plugin built on this scorer: the pod's request list into the cycle state under `key`. */
  preScore(state: CycleState, key: string, pod: Pod): Status | undefined {
    try {
      state.write(key, new PodRequestsState(this.podRequestList(pod)));
    } catch (e) {
      return Status.error(e);
    }
    return undefined;
  }

  /** Score from the cycle state, or computed here when PreScore is disabled (as kube falls back to). */
  scoreWithState(
    state: CycleState,
    key: string,
    pod: Pod,
    nodeInfo: NodeInfo,
  ): { score: number; status?: Status } {
    let s = state.read<PodRequestsState>(key);
    if (s === undefined) {
      try {
        s = new PodRequestsState(this.podRequestList(pod));
      } catch (e) {
        return { score: 0, status: Status.error(e) };
      }
    }
    return { score: this.score(nodeInfo, s.podRequests) };
  }
}
