/**
 * The store benchmark's load generator: closed-loop clients over the etcd v3 gRPC API, the same
 * requests against `skiff store` and etcd. Each client waits for its reply before sending the
 * next request (like etcd's `benchmark` tool), so throughput and latency are measured together.
 */
import { closeChannel, type EtcdChannel, openChannel, unary } from "./store-grpc.js";

/** What one phase measured on the client side. */
export interface Measurement {
  ops: number;
  seconds: number;
  opsPerSecond: number;
  p50ms: number;
  p99ms: number;
  p999ms: number;
  errors: number;
}

/** One client's request; resolves when the reply arrived (a rejection counts as an error). */
export type Op = (channel: EtcdChannel, client: number, seq: number) => Promise<unknown>;

export const valueBytes = Buffer.alloc(256, "v");

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

export function summarize(latencies: number[], seconds: number, errors: number): Measurement {
  const sorted = Float64Array.from(latencies).sort();
  return {
    ops: sorted.length,
    seconds,
    opsPerSecond: sorted.length / seconds,
    p50ms: percentile(sorted, 0.5),
    p99ms: percentile(sorted, 0.99),
    p999ms: percentile(sorted, 0.999),
    errors,
  };
}

/**
 * Channels to the members: `perMember` connections to each, in round-robin order, so client i
 * uses channel i mod n and the clients spread evenly over members and connections.
 */
export async function openChannels(targets: readonly string[], perMember: number): Promise<EtcdChannel[]> {
  const out: EtcdChannel[] = [];
  for (let c = 0; c < perMember; c++) for (const t of targets) out.push(await openChannel(t));
  return out;
}

/** Runs `clients` closed-loop clients for `seconds`; client i sends on channel i mod n. */
export async function closedLoop(
  channels: readonly EtcdChannel[],
  clients: number,
  seconds: number,
  op: Op,
): Promise<Measurement> {
  const latencies: number[] = [];
  let errors = 0;
  let seq = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      const channel = channels[client % channels.length] as EtcdChannel;
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await op(channel, client, seq++);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
          // A failing member must not turn the loop into a busy spin.
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    }),
  );
  return summarize(latencies, (performance.now() - start) / 1000, errors);
}

/** An 8-byte key: a one-letter tag for the phase, then a 7-character sequence number. */
export function key8(tag: string, n: number): Buffer {
  return Buffer.from(`${tag}${n.toString(36).padStart(7, "0").slice(-7)}`);
}

export const putOp =
  (tag: string): Op =>
  (ch, _client, seq) =>
    unary(ch.KV, "Put", { key: key8(tag, seq), value: valueBytes });

export const rangeKey = Buffer.from("rangekey");

/** Single-key Range; linearizable reads go through the leader's read index, serializable ones are local. */
export const rangeOp =
  (serializable: boolean): Op =>
  (ch) =>
    unary(ch.KV, "Range", { key: rangeKey, serializable });

interface TxnResponse {
  succeeded: boolean;
  header: { revision: string };
}

/**
 * Compare-and-set: each client owns one key and replaces its value only if its mod_revision is
 * still the one it last wrote (the optimistic-concurrency pattern of Kubernetes' GuaranteedUpdate).
 * The key is created by the first txn (compare CREATE == 0).
 */
export function txnCasOp(tag: string): Op {
  const lastRevision = new Map<number, string>();
  return async (ch, client) => {
    const key = key8(tag, client);
    const rev = lastRevision.get(client);
    const compare =
      rev === undefined
        ? { key, target: 1 /* CREATE */, result: 0 /* EQUAL */, create_revision: 0 }
        : { key, target: 2 /* MOD */, result: 0 /* EQUAL */, mod_revision: rev };
    const res = await unary<TxnResponse>(ch.KV, "Txn", {
      compare: [compare],
      success: [{ request_put: { key, value: valueBytes } }],
      failure: [{ request_range: { key } }],
    });
    if (!res.succeeded) throw new Error(`txn on ${key.toString()} lost its compare: another writer?`);
    lastRevision.set(client, res.header.revision);
  };
}

export const leaseGrantOp: Op = (ch) => unary(ch.Lease, "LeaseGrant", { TTL: 600, ID: 0 });

export function closeChannels(channels: readonly EtcdChannel[]): void {
  for (const c of channels) closeChannel(c);
}
