/**
 * How far `skiff store` lets V8's heap grow past its live size before the next full collection.
 *
 * V8's own growing factor is dynamic (up to 4x): over a whole bench run (docs/benchmarks.md) a
 * member with 53-66 MiB live let its heap reach 150+ MiB between full collections, peak RSS about
 * twice etcd's. A fixed 1.4x (`--heap-growing-percent=40`, what this file set before) bounded RSS
 * but cost CPU wherever the live heap is small: with 14 MiB live (1,000 watchers), 40% is less
 * headroom than the young generation holds, so V8 starts the next incremental marking as soon as
 * one finishes: 46 full collections in 8 s of watch fan-out instead of 6, member CPU per event
 * 9-11 µs instead of 5-7, and at 256 put clients 225-235 µs of member CPU per put instead of
 * 185-195.
 *
 * So the slack is a share of the live heap with a floor: after every full collection the growing
 * percent becomes max(minSlackBytes, slackRatio * live) / live. A small heap gets at least 24 MiB
 * of room (more than the 16 MiB young generation, so marking is not back-to-back); a large one
 * grows by 60% of its live size. V8 reads the flag at every full collection, so setting it at
 * run time takes effect.
 */

import { constants, PerformanceObserver } from "node:perf_hooks";
import { getHeapStatistics, setFlagsFromString } from "node:v8";

export const minSlackBytes = 24 * 1024 * 1024;
export const slackRatio = 0.6;

/** `--heap-growing-percent` for a live heap of `liveBytes` (clamped to 10..300). */
export function heapGrowingPercentFor(liveBytes: number): number {
  const live = Math.max(1, liveBytes);
  const slack = Math.max(minSlackBytes, slackRatio * live);
  return Math.min(300, Math.max(10, Math.round((100 * slack) / live)));
}

/**
 * Sets the growing percent now and again after every full collection. Returns a function that
 * stops following (tests; a member keeps it for its lifetime).
 */
export function tuneV8(): () => void {
  let current = -1;
  const update = () => {
    const pct = heapGrowingPercentFor(getHeapStatistics().used_heap_size);
    if (pct === current) return;
    setFlagsFromString(`--heap-growing-percent=${pct}`);
    current = pct;
  };
  update();
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const { detail } = e as { detail?: { kind?: number } };
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) return update();
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  return () => observer.disconnect();
}
