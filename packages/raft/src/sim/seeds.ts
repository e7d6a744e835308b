/**
 * Runs a range of seeds, optionally under a time budget (for CI). The clock is injected: the
 * simulator itself never reads the wall clock; only the budget, which decides how many seeds run,
 * does.
 */
import type { SimOptions } from "./options.js";
import { runSimulation, type SimResult } from "./simulation.js";

export interface SeedRangeOptions {
  from: number;
  /** Inclusive. */
  to: number;
  /** Options for every seed (the seed itself comes from the range). */
  base?: Omit<SimOptions, "seed">;
  /** Stop starting new seeds after this many wall-clock ms (needs `clock`). */
  budgetMs?: number;
  clock?: () => number;
  /** Stop at the first failing seed. */
  stopOnFailure?: boolean;
  onResult?: (r: SimResult) => void;
}

export interface SeedRangeReport {
  ran: number;
  passed: number;
  failures: SimResult[];
  /** Seeds not run because the budget ran out. */
  skipped: number;
  elapsedMs: number;
}

export function runSeeds(o: SeedRangeOptions): SeedRangeReport {
  const clock = o.clock ?? (() => 0);
  const start = clock();
  const report: SeedRangeReport = { ran: 0, passed: 0, failures: [], skipped: 0, elapsedMs: 0 };
  for (let seed = o.from; seed <= o.to; seed++) {
    if (o.budgetMs !== undefined && clock() - start >= o.budgetMs) {
      report.skipped = o.to - seed + 1;
      break;
    }
    const r = runSimulation({ ...o.base, seed });
    report.ran++;
    if (r.ok) report.passed++;
    else report.failures.push(r);
    o.onResult?.(r);
    if (!r.ok && o.stopOnFailure === true) {
      report.skipped = o.to - seed;
      break;
    }
  }
  report.elapsedMs = clock() - start;
  return report;
}
