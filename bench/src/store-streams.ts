/**
 * The store benchmark's streaming workloads: watch fan-out (many watchers on one prefix, one
 * writer) and lease keep-alive (one LeaseKeepAlive stream per client), over the etcd v3 gRPC API.
 */
import { type DuplexCall, duplex, type EtcdChannel, unary } from "./store-grpc.js";
import { closedLoop, key8, type Measurement, summarize, valueBytes } from "./store-load.js";

export interface WatchMeasurement extends Measurement {
  watchers: number;
  puts: number;
  expectedEvents: number;
}

interface WatchResponse {
  created: boolean;
  canceled: boolean;
  events: { kv: { key: Buffer } }[];
}

const waitFor = async (cond: () => boolean, ms: number, what: string) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`bench: ${what} not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

/**
 * `watchers` watchers on the prefix `tag`, spread over `streams` Watch streams (round-robin over
 * the channels, so over the members); then one writer with 4 puts in flight puts `puts` keys
 * under the prefix. Measures events delivered per second (first put to last receipt) and the
 * latency from sending each put to each watcher's receipt of its event.
 */
export async function watchFanOut(
  channels: readonly EtcdChannel[],
  opts: { tag: string; watchers: number; streams: number; puts: number },
): Promise<WatchMeasurement> {
  const prefix = Buffer.from(opts.tag);
  const rangeEnd = Buffer.from(prefix);
  rangeEnd[rangeEnd.length - 1] = (rangeEnd[rangeEnd.length - 1] as number) + 1;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let created = 0;
  let lastReceipt = 0;
  let errors = 0;
  const calls: DuplexCall<object, WatchResponse>[] = [];
  try {
    for (let s = 0; s < opts.streams; s++) {
      const call = duplex<object, WatchResponse>(
        (channels[s % channels.length] as EtcdChannel).Watch,
        "Watch",
      );
      call.on("data", (res) => {
        if (res.created) created++;
        if (res.canceled) errors++;
        const now = performance.now();
        for (const ev of res.events) {
          const t0 = sentAt.get(ev.kv.key.toString());
          if (t0 !== undefined) latencies.push(now - t0);
          lastReceipt = now;
        }
      });
      call.on("error", () => undefined); // cancel() at the end surfaces as CANCELLED
      calls.push(call);
    }
    for (let w = 0; w < opts.watchers; w++)
      (calls[w % calls.length] as DuplexCall<object, WatchResponse>).write({
        create_request: { key: prefix, range_end: rangeEnd },
      });
    await waitFor(() => created >= opts.watchers, 30_000, `${opts.watchers} watchers created`);
    const expected = opts.watchers * opts.puts;
    const start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let n = next++; n < opts.puts; n = next++) {
          const key = key8(opts.tag, n);
          sentAt.set(key.toString(), performance.now());
          await unary(channels[n % channels.length]?.KV as EtcdChannel["KV"], "Put", {
            key,
            value: valueBytes,
          });
        }
      }),
    );
    await waitFor(() => latencies.length >= expected, 60_000, `${expected} watch events delivered`).catch(
      () => undefined, // counted below as missing events
    );
    const m = summarize(latencies, (lastReceipt - start) / 1000, errors + (expected - latencies.length));
    return { ...m, watchers: opts.watchers, puts: opts.puts, expectedEvents: expected };
  } finally {
    for (const c of calls) c.cancel();
  }
}

interface KeepAliveStream {
  call: DuplexCall<{ ID: string }, { ID: string; TTL: string }>;
  id: string;
  waiting: ((ok: boolean) => void)[];
}

/**
 * `clients` closed-loop clients, each with its own lease and LeaseKeepAlive stream; one op is a
 * keep-alive request and its response (the lease's TTL renewed by the leader).
 */
export async function leaseKeepAlive(
  channels: readonly EtcdChannel[],
  clients: number,
  seconds: number,
): Promise<Measurement> {
  const streams: KeepAliveStream[] = [];
  try {
    for (let c = 0; c < clients; c++) {
      const ch = channels[c % channels.length] as EtcdChannel;
      const { ID } = await unary<{ ID: string }>(ch.Lease, "LeaseGrant", { TTL: 600, ID: 0 });
      const s: KeepAliveStream = { call: duplex(ch.Lease, "LeaseKeepAlive"), id: ID, waiting: [] };
      s.call.on("data", (res) => s.waiting.shift()?.(Number(res.TTL) > 0));
      s.call.on("error", () => {
        for (const w of s.waiting.splice(0)) w(false);
      });
      streams.push(s);
    }
    return await closedLoop(channels, clients, seconds, (_ch, client) => {
      const s = streams[client] as KeepAliveStream;
      return new Promise((resolve, reject) => {
        s.waiting.push((ok) => (ok ? resolve(undefined) : reject(new Error("keep-alive failed"))));
        s.call.write({ ID: s.id });
      });
    });
  } finally {
    for (const s of streams) s.call.cancel();
  }
}
