/**
 * V8 settings `skiff store` makes at start-up (src/server/main.ts).
 *
 * How far V8 lets the old generation grow past its live size before the next full collection.
 * V8's own factor is dynamic (up to 4x): a busy member's heap held two to three times its live
 * objects in garbage, most of its peak RSS. A member's garbage is short-lived request and message
 * objects, so 1.4x costs little: at 256 put clients the same throughput, peak RSS 233-268 -> 180-193
 * MiB (docs/benchmarks.md). V8 reads the flag at every full collection, so setting it at start-up
 * takes effect.
 */
import { setFlagsFromString } from "node:v8";

export const heapGrowingPercent = 40;

/**
 * The bytecode a function runs between V8's tier-up checks (V8's default: 67,584). A member's hot
 * path is many small functions each called a few times per request, so at a few hundred requests
 * a second V8 left most of it in its baseline tier for thousands of requests: 4 puts in flight
 * cost the members 2-3 times etcd's CPU until then. A quarter of the default tiers them up sooner:
 * set at start-up, 1,000 puts with 4 in flight on a fresh cluster cost each member 0.8 s of CPU
 * instead of 0.9-1.0 (given on node's command line instead: 0.6-0.7 s). Not yet measured over a
 * whole bench run.
 */
export const interruptBudget = 16_896;

export function tuneV8(): void {
  setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`);
  setFlagsFromString(`--interrupt-budget=${interruptBudget}`);
}
