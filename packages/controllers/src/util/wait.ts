/**
 * Periodic and parallel work as kube's controllers run it: wait.UntilWithContext (run `f`,
 * then wait the period after it ended, until stopped; on the controller's clock, so unit tests
 * step it) and workqueue.ParallelizeUntil (a list of pieces worked by a bounded number of
 * workers at once).
 */
import { type Clock, sleep } from "@skiff/client";

/**
 * Runs `f` now and then `periodMs` after each run ends (kube's sliding period), until `signal`
 * aborts. A run that throws is reported to `onError` and the loop goes on.
 */
export async function until(
  clock: Clock,
  periodMs: number,
  signal: AbortSignal,
  f: () => Promise<void>,
  onError: (e: unknown) => void,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await f();
    } catch (e) {
      onError(e);
    }
    if (!(await sleep(clock, periodMs, signal))) return;
  }
}

/** ParallelizeUntil: `f` on every piece, at most `workers` at once; resolves when all are done. */
export async function parallelize<T>(workers: number, pieces: readonly T[], f: (piece: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < pieces.length) {
      const piece = pieces[next++] as T;
      await f(piece);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, pieces.length)) }, worker));
}
