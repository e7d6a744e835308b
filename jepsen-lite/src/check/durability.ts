/**
 * Durability checker: every acknowledged write survives into the final read.
 *
 * Rule, per key: the final value must be the value of a *candidate* write, where
 * - an `ok` write is a candidate unless it was definitely overwritten: some other `ok` write to
 *   the same key was invoked after it completed (real-time order, so the later write's effect is
 *   ordered after it);
 * - an `info` write (or one never completed) is always a candidate: it may have taken effect at
 *   any time after its invocation, including after every ok write;
 * - "absent" (`null`) is a candidate only when the key has no `ok` write (info writes may never
 *   have happened). `fail` writes are never candidates.
 * This assumes a plain-write workload (no deletes or cas on the checked keys); values need not be
 * unique. A final value outside the candidates is a lost (or garbage) write.
 */
import { DEFAULT_KEY, type Op, type OpPair, pairOps, sameValue } from "./history.js";

export interface DurabilityViolation {
  key: string;
  /** What the final read returned (`null` = absent). */
  actual: unknown;
  /** The values the key could legitimately hold. */
  candidates: unknown[];
}

export interface DurabilityResult {
  valid: boolean;
  violations: DurabilityViolation[];
}

export function checkDurability(
  history: readonly Op[],
  finalState: Readonly<Record<string, unknown>>,
): DurabilityResult {
  const byKey = new Map<string, OpPair[]>();
  for (const pair of pairOps(history)) {
    if (pair.f !== "write" || pair.outcome === "fail") continue;
    const key = pair.key ?? DEFAULT_KEY;
    byKey.set(key, [...(byKey.get(key) ?? []), pair]);
  }
  const violations: DurabilityViolation[] = [];
  const keys = new Set([...byKey.keys(), ...Object.keys(finalState)]);
  for (const key of keys) {
    const candidates = candidateValues(byKey.get(key) ?? []);
    const actual = finalState[key] ?? null;
    if (!candidates.some((c) => sameValue(c, actual))) violations.push({ key, actual, candidates });
  }
  return { valid: violations.length === 0, violations };
}

function candidateValues(writes: readonly OpPair[]): unknown[] {
  const ok = writes.filter((w) => w.outcome === "ok");
  const overwritten = (w: OpPair) =>
    w.outcome === "ok" &&
    ok.some((later) => later !== w && later.invoke.index > (w.complete?.index ?? Infinity));
  const values = writes.filter((w) => !overwritten(w)).map((w) => w.invoke.value ?? null);
  return ok.length === 0 ? [null, ...values] : values;
}
