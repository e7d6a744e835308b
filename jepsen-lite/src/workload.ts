/**
 * The register workload: W workers, each at most `rate` ops/s, on a few keys. read = linearizable
 * Range, write = Put of a unique value, cas = Txn(compare value == expected, then put). Every op is
 * recorded as invoke + completion (history.ts), times from performance.now() relative to `t0`.
 *
 * Outcomes (conservative): a cas whose txn answered succeeded=false is `fail` (definitely not
 * applied); any error or timeout on a write or cas is `info`; a read error is `fail`. After an
 * `info` the worker continues as a new process, as Jepsen does, since the old op may still land.
 */
import { performance } from "node:perf_hooks";
import { closeEtcdClients, type EtcdClients, etcdClients, unaryCall } from "@skiff/store";
import type { Op } from "./check/history.js";
import type { Prng } from "./prng.js";

export interface WorkloadOptions {
  targets: string[];
  workers: number;
  keys: number;
  /** Max ops per second per worker. */
  rate: number;
  opTimeoutMs: number;
  t0: number;
}

const b = (s: string) => Buffer.from(s);
export const keyName = (i: number) => `jepsen/r${i}`;

interface RangeResponse {
  kvs: { value: Buffer }[];
}

export function decodeValue(r: RangeResponse): number | null {
  const kv = r.kvs[0];
  return kv === undefined ? null : Number(kv.value.toString());
}

/** An append-only history with indexes in real-time order. */
export class Recorder {
  readonly ops: Op[] = [];

  constructor(private readonly t0: number) {}

  record(op: Omit<Op, "index" | "time">): Op {
    const full: Op = { ...op, time: performance.now() - this.t0, index: this.ops.length };
    this.ops.push(full);
    return full;
  }
}

export async function readKey(clients: EtcdClients, key: string, timeoutMs: number): Promise<number | null> {
  const r = await unaryCall<RangeResponse>(clients.KV, "Range", { key: b(key) }, timeoutMs);
  return decodeValue(r);
}

/** Runs the workers until `stop` resolves; returns once every in-flight op has completed. */
export async function runWorkload(
  opts: WorkloadOptions,
  prng: Prng,
  recorder: Recorder,
  stop: Promise<void>,
): Promise<void> {
  const clients = opts.targets.map((t) => etcdClients(t));
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  let nextValue = 1;
  const workers = Array.from({ length: opts.workers }, async (_, w) => {
    let process = w;
    let node = w % clients.length;
    /** The last value this worker saw per key: the usual cas expectation. */
    const seen = new Map<string, number | null>();
    const minGap = 1000 / opts.rate;
    while (!stopped) {
      const started = performance.now();
      const key = keyName(prng.int(0, opts.keys - 1));
      const c = clients[node] as EtcdClients;
      const roll = prng.next();
      const f = roll < 0.4 ? "read" : roll < 0.75 ? "write" : "cas";
      if (f === "read") {
        recorder.record({ process, type: "invoke", f, key, value: null });
        try {
          const v = await readKey(c, key, opts.opTimeoutMs);
          seen.set(key, v);
          recorder.record({ process, type: "ok", f, key, value: v });
        } catch (e) {
          recorder.record({ process, type: "fail", f, key, value: errText(e) });
          node = (node + 1) % clients.length;
        }
      } else if (f === "write") {
        const v = nextValue++;
        recorder.record({ process, type: "invoke", f, key, value: v });
        try {
          await unaryCall(c.KV, "Put", { key: b(key), value: b(String(v)) }, opts.opTimeoutMs);
          seen.set(key, v);
          recorder.record({ process, type: "ok", f, key, value: v });
        } catch {
          recorder.record({ process, type: "info", f, key, value: v });
          process += opts.workers;
          node = (node + 1) % clients.length;
        }
      } else {
        const expected = seen.get(key) ?? null;
        const v = nextValue++;
        recorder.record({ process, type: "invoke", f, key, value: [expected, v] });
        const compare =
          expected === null
            ? { key: b(key), target: 0, result: 0, version: 0 }
            : { key: b(key), target: 3, result: 0, value: b(String(expected)) };
        try {
          const r = await unaryCall<{ succeeded: boolean }>(
            c.KV,
            "Txn",
            {
              compare: [compare],
              success: [{ request_put: { key: b(key), value: b(String(v)) } }],
              failure: [],
            },
            opts.opTimeoutMs,
          );
          if (r.succeeded) seen.set(key, v);
          else seen.delete(key);
          recorder.record({ process, type: r.succeeded ? "ok" : "fail", f, key, value: [expected, v] });
        } catch {
          recorder.record({ process, type: "info", f, key, value: [expected, v] });
          process += opts.workers;
          node = (node + 1) % clients.length;
        }
      }
      const wait = minGap - (performance.now() - started);
      if (wait > 0 && !stopped) await new Promise((r) => setTimeout(r, wait));
    }
  });
  try {
    await Promise.all(workers);
  } finally {
    for (const c of clients) closeEtcdClients(c);
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message.slice(0, 200) : String(e);
}
