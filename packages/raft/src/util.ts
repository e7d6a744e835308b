import type { ConfState } from "./types.js";

export function sortedIds(ids: Iterable<number>): number[] {
  return [...ids].sort((a, b) => a - b);
}

export function confStateEqual(a: ConfState, b: ConfState): boolean {
  const eq = (x: readonly number[], y: readonly number[]) => {
    const xs = sortedIds(x);
    const ys = sortedIds(y);
    return xs.length === ys.length && xs.every((v, i) => v === ys[i]);
  };
  return eq(a.voters, b.voters) && eq(a.learners, b.learners);
}
