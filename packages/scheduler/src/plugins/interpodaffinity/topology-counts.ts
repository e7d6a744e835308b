/**
 * topologyToMatchedTermCount (interpodaffinity/filtering.go): how many pods match a term per
 * topology pair (topologyKey, value of that key on the pod's node). A pair whose count drops to
 * zero is deleted, so an empty map means "no pod matched anywhere".
 */
import type { Node, Pod } from "@skiff/api";
import type { AffinityTerm } from "../../framework/pod-info.js";
import { type NamespaceLabels, podMatchesAllAffinityTerms, termMatches } from "./terms.js";

/** Label keys and values are qualified names and label values: neither can hold a NUL. */
export const pairKey = (key: string, value: string): string => `${key}\u0000${value}`;

export class TopologyCounts {
  readonly m = new Map<string, number>();

  get size(): number {
    return this.m.size;
  }

  get(key: string, value: string): number {
    return this.m.get(pairKey(key, value)) ?? 0;
  }

  /** Adds `delta` to the pair (tk, node's value of tk) when the node has the label. */
  update(node: Node, tk: string, delta: number): void {
    const tv = node.metadata.labels?.[tk];
    if (tv === undefined) return;
    const k = pairKey(tk, tv);
    const n = (this.m.get(k) ?? 0) + delta;
    if (n === 0) this.m.delete(k);
    else this.m.set(k, n);
  }

  /** For each term of an affinity list: counted only when the pod matches ALL the terms. */
  updateWithAffinityTerms(
    terms: readonly AffinityTerm[],
    pod: Pod,
    node: Node,
    delta: number,
    nsLabels: NamespaceLabels,
  ): void {
    if (podMatchesAllAffinityTerms(terms, pod, nsLabels))
      for (const t of terms) this.update(node, t.topologyKey, delta);
  }

  /** For each anti-affinity term the pod matches (anti-affinity terms count one by one). */
  updateWithAntiAffinityTerms(
    terms: readonly AffinityTerm[],
    pod: Pod,
    node: Node,
    delta: number,
    nsLabels: NamespaceLabels,
  ): void {
    for (const t of terms) if (termMatches(t, pod, nsLabels)) this.update(node, t.topologyKey, delta);
  }

  clone(): TopologyCounts {
    const c = new TopologyCounts();
    for (const [k, v] of this.m) c.m.set(k, v);
    return c;
  }
}
