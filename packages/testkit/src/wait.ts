/**
 * Waiting for a condition, never for a fixed time: a slower machine only makes the wait longer.
 * The deadline is there to end a test that would otherwise hang, so it is generous; when it
 * passes, the error names what was awaited and the last reason it was not there yet.
 */

export interface WaitOptions {
  /** What is awaited, as the error on timeout says it ("a leader", "3 DELETE events"). */
  what: string;
  /** Default 30 s. */
  timeoutMs?: number;
  /** Between two checks; default 20 ms. */
  intervalMs?: number;
}

/** A value that means "not yet" when a condition returns it. */
type NotYet = undefined | null | false;

/**
 * Checks `cond` until it returns something other than undefined, null or false, and resolves
 * with that. A check that throws counts as "not yet"; its error is in the message on timeout.
 */
export async function waitFor<T>(cond: () => T | Promise<T>, opts: WaitOptions): Promise<Exclude<T, NotYet>> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const end = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v !== undefined && v !== null && v !== false) return v as Exclude<T, NotYet>;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (performance.now() >= end) {
      const why = last === undefined ? "" : `: ${last instanceof Error ? last.message : String(last)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 20));
  }
}

/** Resolves as `p` does, or rejects naming `what` if it has not settled within the deadline. */
export async function withDeadline<T>(p: Promise<T>, opts: { what: string; timeoutMs?: number }): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}
