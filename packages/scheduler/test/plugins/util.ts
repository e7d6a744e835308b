/**
 * Helpers for the plugin tests, in the spirit of kube-scheduler's plugin tests: run one plugin's
 * PreFilter+Filter or PreScore+Score+NormalizeScore over a list of NodeInfos, and describe a
 * Status as {code, reasons} so that a table row can state what it expects.
 */
import type { Container, Node, Pod, ResourceList } from "@skiff/api";
import { CycleState } from "../../src/framework/cycle-state.js";
import type {
  FilterPlugin,
  NodeScore,
  PreFilterPlugin,
  PreFilterResult,
  PreScorePlugin,
  ScorePlugin,
} from "../../src/framework/interface.js";
import type { NodeInfo } from "../../src/framework/node-info.js";
import { Code, type Status } from "../../src/framework/status.js";
import { makeNode, makePod } from "../fixtures.js";

/** A status as a table row states it: code name and reasons; Success for none. */
export function describe(s: Status | undefined): { code: string; reasons: readonly string[] } {
  if (s === undefined) return { code: "Success", reasons: [] };
  return { code: Code[s.code] as string, reasons: s.reasons };
}

export const success = { code: "Success", reasons: [] };
export const unschedulable = (...reasons: string[]) => ({ code: "Unschedulable", reasons });
export const unresolvable = (...reasons: string[]) => ({ code: "UnschedulableAndUnresolvable", reasons });

/**
 * A pod with one container per request list, like st.MakePod().Req(...).Req(...); no lists give a
 * pod without containers (kube's st.MakePod().Obj()).
 */
export function podWithRequests(name: string, reqs: ResourceList[], opts: { nodeName?: string } = {}): Pod {
  const containers: Container[] = reqs.map((r, i) => ({
    name: `c${i}`,
    image: "busybox",
    resources: { requests: r },
  }));
  return makePod(name, { ...opts, spec: { containers } });
}

/** A node whose allocatable is exactly the given list (kube's st.MakeNode().Capacity(...)). */
export function nodeWith(
  name: string,
  allocatable: ResourceList,
  extra: Parameters<typeof makeNode>[1] = {},
): Node {
  const n = makeNode(name, { ...extra, allocatable });
  if (n.status !== undefined) n.status.capacity = allocatable;
  return n;
}

/** PreFilter (when the plugin has one) then Filter on every node. */
export function runFilter(
  plugin: FilterPlugin & Partial<PreFilterPlugin>,
  pod: Pod,
  nodeInfos: NodeInfo[],
  state = new CycleState(),
): {
  preFilter: { result?: PreFilterResult; status?: Status } | undefined;
  statuses: Map<string, Status | undefined>;
} {
  const preFilter = plugin.preFilter?.(state, pod, nodeInfos);
  const statuses = new Map<string, Status | undefined>();
  for (const ni of nodeInfos) statuses.set(ni.name, plugin.filter(state, pod, ni));
  return { preFilter, statuses };
}

/** PreScore (when present), Score on every node, then NormalizeScore (when present). */
export function runScore(
  plugin: ScorePlugin & Partial<PreScorePlugin>,
  pod: Pod,
  nodeInfos: NodeInfo[],
  state = new CycleState(),
): { preScore: Status | undefined; scores: NodeScore[]; statuses: (Status | undefined)[] } {
  const preScore = plugin.preScore?.(state, pod, nodeInfos);
  const statuses: (Status | undefined)[] = [];
  const scores = nodeInfos.map((ni) => {
    const r = plugin.score(state, pod, ni);
    statuses.push(r.status);
    return { name: ni.name, score: r.score };
  });
  plugin.scoreExtensions?.()?.normalizeScore(state, pod, scores);
  return { preScore, scores, statuses };
}
