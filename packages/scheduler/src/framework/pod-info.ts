/**
 * framework.PodInfo and QueuedPodInfo: a pod with what scheduling computes from it once (its
 * requests and its parsed affinity terms) instead of on every node of every cycle.
 */
import type { LabelSelector, Pod, PodAffinityTerm, WeightedPodAffinityTerm } from "@skiff/api";
import { nonZeroRequests, podRequests, type Resource } from "./resource.js";

/** framework.AffinityTerm: a PodAffinityTerm with its namespaces resolved. */
export interface AffinityTerm {
  /** Namespaces named by the term (the pod's own when the term names none and has no namespaceSelector). */
  namespaces: ReadonlySet<string>;
  selector: LabelSelector | undefined;
  topologyKey: string;
  /** Set: also every namespace whose labels match (an empty selector matches every namespace). */
  namespaceSelector: LabelSelector | undefined;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

function affinityTerm(pod: Pod, t: PodAffinityTerm): AffinityTerm {
  const namespaces = new Set(t.namespaces ?? []);
  if (namespaces.size === 0 && t.namespaceSelector === undefined) namespaces.add(pod.metadata.namespace);
  // matchLabelKeys / mismatchLabelKeys fold the incoming pod's label values into the selector.
  let selector = t.labelSelector;
  const extra = [
    ...(t.matchLabelKeys ?? []).flatMap((k) =>
      pod.metadata.labels?.[k] === undefined
        ? []
        : [{ key: k, operator: "In" as const, values: [pod.metadata.labels[k]] }],
    ),
    ...(t.mismatchLabelKeys ?? []).flatMap((k) =>
      pod.metadata.labels?.[k] === undefined
        ? []
        : [{ key: k, operator: "NotIn" as const, values: [pod.metadata.labels[k]] }],
    ),
  ];
  if (extra.length > 0 && selector !== undefined)
    selector = { ...selector, matchExpressions: [...(selector.matchExpressions ?? []), ...extra] };
  return { namespaces, selector, topologyKey: t.topologyKey, namespaceSelector: t.namespaceSelector };
}

const weighted = (pod: Pod, ts: readonly WeightedPodAffinityTerm[] | undefined): WeightedAffinityTerm[] =>
  (ts ?? []).map((w) => ({ ...affinityTerm(pod, w.podAffinityTerm), weight: w.weight }));

export class PodInfo {
  readonly requests: Resource;
  readonly nonZero: { milliCPU: number; memory: number };
  readonly requiredAffinityTerms: readonly AffinityTerm[];
  readonly requiredAntiAffinityTerms: readonly AffinityTerm[];
  readonly preferredAffinityTerms: readonly WeightedAffinityTerm[];
  readonly preferredAntiAffinityTerms: readonly WeightedAffinityTerm[];

  /** Throws QuantityError on a malformed request (the caller skips the pod with an event). */
  constructor(readonly pod: Pod) {
    this.requests = podRequests(pod);
    this.nonZero = nonZeroRequests(pod);
    const a = pod.spec.affinity;
    this.requiredAffinityTerms = (a?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map(
      (t) => affinityTerm(pod, t),
    );
    this.requiredAntiAffinityTerms = (
      a?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []
    ).map((t) => affinityTerm(pod, t));
    this.preferredAffinityTerms = weighted(
      pod,
      a?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution,
    );
    this.preferredAntiAffinityTerms = weighted(
      pod,
      a?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution,
    );
  }

  get key(): string {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }

  get uid(): string {
    return this.pod.metadata.uid ?? "";
  }

  hasAffinity(): boolean {
    return (
      this.requiredAffinityTerms.length > 0 ||
      this.requiredAntiAffinityTerms.length > 0 ||
      this.preferredAffinityTerms.length > 0 ||
      this.preferredAntiAffinityTerms.length > 0
    );
  }
}

/** framework.QueuedPodInfo: a pod in the scheduling queue with its attempt history. */
export interface QueuedPodInfo {
  podInfo: PodInfo;
  /** When it was (last) added to the queue; QueueSort's tie-break. ms. */
  timestamp: number;
  /** When it was first added; for scheduler_e2e / pod_scheduling_sli durations. ms. */
  initialAttemptTimestamp: number | undefined;
  /** Scheduling attempts so far (backoff doubles with each). */
  attempts: number;
  /** Plugins that rejected it in the last attempt: only events they registered can requeue it. */
  unschedulablePlugins: Set<string>;
  pendingPlugins: Set<string>;
  /** Rejected by a PreEnqueue plugin (e.g. schedulingGates). */
  gated: boolean;
}

export function priorityOf(pod: Pod): number {
  return pod.spec.priority ?? 0;
}
