/**
 * A token bucket as golang.org/x/time/rate's Limiter: `limit` tokens a second refill a bucket of
 * `burst` tokens, which starts full. `reserve()` always takes a token, possibly going into debt,
 * and says how long the caller must wait for it (rate.Limiter.Reserve().Delay()); `allow()` takes
 * one only if one is there now (rate.Limiter.Allow()).
 */
import type { Clock } from "./clock.js";

export class TokenBucket {
  /** Invariant: tokens <= burst; negative while reservations are in debt. */
  private tokens: number;
  /** The clock time `tokens` was last brought up to date. */
  private last: number;

  constructor(
    readonly limit: number,
    readonly burst: number,
    private readonly clock: Clock,
  ) {
    if (!(limit > 0)) throw new Error(`TokenBucket: limit must be positive, got ${limit}`);
    if (!(burst >= 1)) throw new Error(`TokenBucket: burst must be at least 1, got ${burst}`);
    this.tokens = burst;
    this.last = clock.now();
  }

  /** The tokens at `t` (rate.Limiter.advance): refilled for the time elapsed, capped at burst. */
  private advance(t: number): number {
    const elapsed = Math.max(0, t - this.last);
    return Math.min(this.burst, this.tokens + (elapsed / 1000) * this.limit);
  }

  /** Takes a token; the milliseconds until it is really there (0 when it is now). */
  reserve(): number {
    const t = this.clock.now();
    const tokens = this.advance(t) - 1;
    this.tokens = tokens;
    this.last = Math.max(this.last, t);
    return tokens < 0 ? (-tokens / this.limit) * 1000 : 0;
  }

  /** Takes a token if one is there now. */
  allow(): boolean {
    const t = this.clock.now();
    const tokens = this.advance(t);
    if (tokens < 1) return false;
    this.tokens = tokens - 1;
    this.last = Math.max(this.last, t);
    return true;
  }
}
