/**
 * Small drivers shared by the InterPodAffinity, PodTopologySpread and DefaultPreemption tests: run
 * a plugin's PreFilter and Filter (or PreScore, Score and NormalizeScore) over every node of a
 * fake handle's snapshot, as the framework runtime would for one pod.
 */
import type { Pod, PodAffinityTerm, WeightedPodAffinityTerm } from "@skiff/api";
import { CycleState } from "../../src/framework/cycle-state.js";
import type {
  FilterPlugin,
  Handle,
  NodeScore,
  PreFilterPlugin,
  PreScorePlugin,
  ScorePlugin,
} from "../../src/framework/interface.js";
import type { Status } from "../../src/framework/status.js";

export type FilterOutcome = Map<string, string>;

/** "ok" for a node that passes, else "<Code>: <reasons>"; "skip" for every node when PreFilter skipped. */
export function runFilter(
  pl: PreFilterPlugin & FilterPlugin,
  handle: Handle,
  pod: Pod,
  state = new CycleState(),
): { outcome: FilterOutcome; state: CycleState; preFilterStatus?: Status } {
  const nodes = handle.snapshotSharedLister().nodeInfos().list();
  const { status } = pl.preFilter(state, pod, nodes);
  const outcome: FilterOutcome = new Map();
  if (status?.isSkip()) {
    state.skipFilterPlugins.add(pl.name);
    for (const n of nodes) outcome.set(n.name, "skip");
    return { outcome, state, preFilterStatus: status };
  }
  if (status !== undefined && !status.isSuccess()) {
    for (const n of nodes) outcome.set(n.name, `prefilter ${status.codeName()}: ${status.message()}`);
    return { outcome, state, preFilterStatus: status };
  }
  for (const n of nodes) {
    const s = pl.filter(state, pod, n);
    outcome.set(n.name, s === undefined || s.isSuccess() ? "ok" : `${s.codeName()}: ${s.message()}`);
  }
  return { outcome, state };
}

/** Scores after NormalizeScore, by node name; undefined when PreScore skipped. */
export function runScore(
  pl: PreScorePlugin & ScorePlugin,
  handle: Handle,
  pod: Pod,
  state = new CycleState(),
): Record<string, number> | undefined {
  const nodes = handle.snapshotSharedLister().nodeInfos().list();
  const s = pl.preScore(state, pod, nodes);
  if (s?.isSkip()) return undefined;
  if (s !== undefined && !s.isSuccess()) throw new Error(`PreScore: ${s.toString()}`);
  const scores: NodeScore[] = nodes.map((n) => {
    const r = pl.score(state, pod, n);
    if (r.status !== undefined && !r.status.isSuccess()) throw new Error(`Score: ${r.status.toString()}`);
    return { name: n.name, score: r.score };
  });
  const ns = pl.scoreExtensions?.()?.normalizeScore(state, pod, scores);
  if (ns !== undefined && !ns.isSuccess()) throw new Error(`NormalizeScore: ${ns.toString()}`);
  return Object.fromEntries(scores.map((x) => [x.name, x.score]));
}

export const term = (
  labels: Record<string, string>,
  topologyKey: string,
  extra: Partial<PodAffinityTerm> = {},
): PodAffinityTerm => ({ labelSelector: { matchLabels: labels }, topologyKey, ...extra });

export const weighted = (weight: number, t: PodAffinityTerm): WeightedPodAffinityTerm => ({
  weight,
  podAffinityTerm: t,
});

export const ZONE = "topology.kubernetes.io/zone";
export const HOST = "kubernetes.io/hostname";
