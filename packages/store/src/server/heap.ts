/**
 * How far `skiff store` lets V8's heap grow past its live size before the next full collection.
 *
 * V8's own dynamic growing factor lets a member's heap reach several times its live size; a small
 * fixed factor starves a small heap instead (less slack than the young generation holds keeps
 * incremental marking running back to back). So the slack is a share of the live heap with a
 * floor: after every full collection the growing percent becomes
 * max(minSlackBytes, slackRatio * live) / live. V8 reads the flag at every full collection, so
 * setting it at run time takes effect. What each setting measured: docs/benchmarks.md.
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
