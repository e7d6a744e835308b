/**
 * The large phase's load: `count` keys of 1 KiB written once each by closed-loop clients (etcd's
 * `benchmark put --total N --clients C` shape), and a probe client that reads linearizably every
 * 50 ms meanwhile, whose worst latency shows a member that stops answering (a stall) where put
 * percentiles, spread over many clients, hide it.
 */
import { randomBytes } from "node:crypto";
import { closeChannel, type EtcdChannel, openChannel, unary } from "./store-grpc.js";
import { type Measurement, summarize } from "./store-load.js";

export const largeValueBytes = 1024;

/** The largest of `values` (NaN for none); a loop, as spreading 200,000 arguments overflows the stack. */
export function maxOf(values: readonly number[]): number {
  let max = Number.NaN;
  for (const v of values) if (!(v <= max)) max = v;
  return max;
}

/** `large/` and a 9-digit sequence number: keys sort in write order, as many Kubernetes names do. */
export function largeKey(n: number): Buffer {
  return Buffer.from(`large/${n.toString().padStart(9, "0")}`);
}

export interface LoadResult extends Measurement {
  /** The slowest put, ms. `ops` counts the keys written: fewer than asked only when the time
   * budget ran out or puts failed. */
  maxMs: number;
}

/**
 * Writes keys `from` .. `from + count - 1` with `clients` closed-loop clients, client i on channel
 * i mod n. Values are random (incompressible), so LevelDB's block compression gives neither side
 * an edge over bbolt, which stores values as they are. Past `timeoutMs` the clients take no new
 * key; a failed put counts as an error and its key is not retried.
 */
export async function loadKeys(
  channels: readonly EtcdChannel[],
  opts: { from: number; count: number; clients: number; timeoutMs: number },
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let next = opts.from;
  const end = opts.from + opts.count;
  const start = performance.now();
  const deadline = start + opts.timeoutMs;
  await Promise.all(
    Array.from({ length: opts.clients }, async (_, client) => {
      const channel = channels[client % channels.length] as EtcdChannel;
      while (next < end && performance.now() < deadline) {
        const key = largeKey(next++);
        const value = randomBytes(largeValueBytes);
        const t0 = performance.now();
        try {
          await unary(channel.KV, "Put", { key, value });
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const m = summarize(latencies, (performance.now() - start) / 1000, errors);
  return { ...m, maxMs: maxOf(latencies) };
}

export interface ProbeResult {
  probes: number;
  /** The slowest probe read, ms (a probe that timed out counts as its timeout). */
  worstMs: number;
  p99ms: number;
  errors: number;
}

/**
 * One client on its own connection sending a linearizable single-key Range every `intervalMs`
 * (the next one `intervalMs` after the previous was sent, or at once if that one took longer),
 * until stop().
 */
export async function startProbe(
  target: string,
  intervalMs = 50,
  timeoutMs = 30_000,
): Promise<{ stop(): Promise<ProbeResult> }> {
  const channel = await openChannel(target);
  const latencies: number[] = [];
  let errors = 0;
  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      try {
        await unary(channel.KV, "Range", { key: largeKey(0), serializable: false }, timeoutMs);
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
        latencies.push(performance.now() - t0);
      }
      const wait = t0 + intervalMs - performance.now();
      if (wait > 0 && !stopped)
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, wait);
        });
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      closeChannel(channel);
      const m = summarize(latencies, 1, errors);
      return {
        probes: latencies.length,
        worstMs: maxOf(latencies),
        p99ms: m.p99ms,
        errors,
      };
    },
  };
}
