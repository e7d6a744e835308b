/**
 * How far V8 lets the old generation grow past its live size before the next full collection.
 * V8's own factor is dynamic (up to 4x): a busy member's heap held two to three times its live
 * objects in garbage, most of its peak RSS. A member's garbage is short-lived request and message
 * objects, so 1.4x costs little: at 256 put clients the same throughput, peak RSS 233-268 -> 180-193
 * MiB (docs/benchmarks.md). V8 reads the flag at every full collection, so setting it at start-up
 * takes effect.
 */
import { setFlagsFromString } from "node:v8";

export const heapGrowingPercent = 40;

export function limitHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`);
}
