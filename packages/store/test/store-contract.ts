/**
 * One etcd v3 gRPC contract suite, run against any "target" (a real etcd, a `skiff store`
 * cluster): every case is a sequence of requests whose normalized responses are recorded into a
 * transcript. Two targets started fresh and driven through the same cases in the same order must
 * produce deep-equal transcripts, absolute revisions included (etcd's API promises them to clients
 * such as Kubernetes, which stores them as resourceVersion).
 */
import type { ClientDuplexStream, ServiceError } from "@grpc/grpc-js";
import {
  closeEtcdClients,
  type EtcdClients,
  type EtcdServiceName,
  etcdClients,
  unaryCall,
} from "@skiff/etcd-client";
import { waitFor as waitUntil } from "@skiff/testkit";
import { contractLearnerCase, contractNestedHeaderCase } from "./store-contract-flags.js";
import { contractCompactCase, contractKvCases } from "./store-contract-kv.js";
import { contractTxnCases } from "./store-contract-txn.js";
import { contractWatchLeaseCases } from "./store-contract-watch.js";
import { contractWatchErrorCases } from "./store-contract-watch-errors.js";

// biome-ignore lint/suspicious/noExplicitAny: responses are decoded protobuf objects, compared as data.
export type Any = Record<string, any>;

export interface ContractTarget {
  readonly name: string;
  start(): Promise<void>;
  /** host:port of the member the gRPC clients talk to. */
  endpoint(): string;
  stop(): Promise<void>;
}

export interface TranscriptEntry {
  step: string;
  res: unknown;
}

export interface WatchHandle {
  send(req: object): void;
  /** Waits for the next unread response matching pred, records it (events flattened elsewhere). */
  next(step: string, pred: (m: Any) => boolean): Promise<Any>;
  /** Waits until n events for watchId have arrived (in however many responses) and records them. */
  events(step: string, watchId: string, n: number): Promise<Any[]>;
  /** Records how many unread responses carry events for watchId (0 when a watch went quiet). */
  recordUnread(step: string, watchId: string): void;
}

export interface CaseContext {
  /** The case's own key prefix: every case starts from keys nobody else has touched. */
  key(suffix: string): Buffer;
  readonly prefix: string;
  readonly prefixEnd: Buffer;
  /**
   * Calls, records the normalized response or the error (code + message) unless step is null,
   * returns it raw (an error as { error: { code, details } }).
   */
  call(svc: EtcdServiceName, method: string, req: object, step?: string | null): Promise<Any>;
  record(step: string, value: unknown): void;
  watch(): WatchHandle;
  /** One LeaseKeepAlive round trip on a fresh stream, recorded unless step is null. */
  keepAlive(id: string, step?: string | null): Promise<Any>;
}

export interface ContractCase {
  name: string;
  run(ctx: CaseContext): Promise<void>;
}

export const b = (s: string): Buffer => Buffer.from(s);

/** etcd's prefix range_end: the key with its last byte incremented. */
export function prefixEnd(p: string | Buffer): Buffer {
  const e = Buffer.from(p);
  e[e.length - 1] = (e[e.length - 1] ?? 0) + 1;
  return e;
}

/** Fields that name the server, not the data: they differ between any two clusters. */
const serverIdentity = new Set(["cluster_id", "member_id", "raft_term"]);

/**
 * Makes a response comparable: Buffers as text (big ones by length), server identity dropped,
 * lease IDs the server picked replaced by their order of grant within the case.
 */
export function normalize(v: unknown, leaseNames: Map<string, string>, field = ""): unknown {
  if (Buffer.isBuffer(v)) return v.length > 256 ? `<${v.length} bytes>` : v.toString("utf8");
  if (Array.isArray(v)) return v.map((x) => normalize(x, leaseNames, field));
  if (typeof v === "string" && (field === "ID" || field === "lease")) return leaseNames.get(v) ?? v;
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!serverIdentity.has(k)) out[k] = normalize(x, leaseNames, k);
  }
  return out;
}

function errorOf(e: unknown): { error: { code: unknown; details: unknown } } {
  const se = e as Partial<ServiceError>;
  return { error: { code: se.code, details: se.details ?? String(e) } };
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  return (await waitUntil(fn, { what, timeoutMs })) as T;
}

type Duplex = ClientDuplexStream<object, Any>;

class Recorder implements CaseContext {
  readonly transcript: TranscriptEntry[] = [];
  readonly leaseNames = new Map<string, string>();
  readonly streams: Duplex[] = [];
  readonly prefixEnd: Buffer;

  constructor(
    private readonly clients: EtcdClients,
    readonly prefix: string,
  ) {
    this.prefixEnd = prefixEnd(prefix);
  }

  key(suffix: string): Buffer {
    return b(this.prefix + suffix);
  }

  record(step: string, value: unknown): void {
    this.transcript.push({ step, res: normalize(value, this.leaseNames) });
  }

  async call(
    svc: EtcdServiceName,
    method: string,
    req: object,
    step: string | null = `${svc}.${method}`,
  ): Promise<Any> {
    try {
      // A deadline far above any call's time: a loaded machine must not turn into a transcript diff.
      const res = await unaryCall<Any>(this.clients[svc], method, req, 30_000);
      const asked = (req as Any).ID;
      if (method === "LeaseGrant" && (asked === undefined || asked === "0" || asked === 0)) {
        this.leaseNames.set(String(res.ID), `<server-chosen lease ${this.leaseNames.size + 1}>`);
      }
      if (step !== null) this.record(step, res);
      return res;
    } catch (e) {
      if (step !== null) this.record(step, errorOf(e));
      return errorOf(e);
    }
  }

  watch(): WatchHandle {
    const stream = (this.clients.Watch as unknown as { Watch(): Duplex }).Watch();
    this.streams.push(stream);
    const got: Any[] = [];
    const read = new Set<Any>();
    stream.on("data", (m: Any) => got.push(m));
    stream.on("error", () => {});
    const hasEvents = (m: Any, id: string) => String(m.watch_id) === id && (m.events?.length ?? 0) > 0;
    return {
      send: (req) => stream.write(req),
      next: async (step, pred) => {
        const m = await waitFor(step, () => got.find((x) => !read.has(x) && pred(x)));
        read.add(m);
        this.record(step, m);
        return m;
      },
      events: async (step, watchId, n) => {
        const evs = await waitFor(`${step}: ${n} events`, () => {
          const unread = got.filter((x) => !read.has(x) && hasEvents(x, watchId));
          const all = unread.flatMap((x) => x.events as Any[]);
          return all.length >= n ? { unread, all } : undefined;
        });
        for (const m of evs.unread) read.add(m);
        this.record(step, evs.all);
        return evs.all;
      },
      recordUnread: (step, watchId) => {
        this.record(step, got.filter((x) => !read.has(x) && hasEvents(x, watchId)).length);
      },
    };
  }

  async keepAlive(id: string, step: string | null = "Lease.LeaseKeepAlive"): Promise<Any> {
    const stream = (this.clients.Lease as unknown as { LeaseKeepAlive(): Duplex }).LeaseKeepAlive();
    this.streams.push(stream);
    const got: Any[] = [];
    stream.on("data", (m: Any) => got.push(m));
    stream.on("error", (e) => got.push(errorOf(e)));
    stream.write({ ID: id });
    const res = await waitFor(step ?? "Lease.LeaseKeepAlive", () => got[0]);
    if (step !== null) this.record(step, res);
    return res;
  }

  close(): void {
    for (const s of this.streams) s.cancel();
  }
}

export const contractCases: readonly ContractCase[] = [
  ...contractKvCases,
  ...contractTxnCases,
  contractNestedHeaderCase,
  contractCompactCase,
  contractLearnerCase,
  ...contractWatchLeaseCases,
  ...contractWatchErrorCases,
];

/**
 * Runs every case in order against a started target. A case that throws (a timeout waiting for
 * a watch event, say) records the failure as its last entry instead of aborting the suite.
 */
export async function runContract(
  target: ContractTarget,
  cases: readonly ContractCase[] = contractCases,
): Promise<Map<string, TranscriptEntry[]>> {
  const clients = etcdClients(target.endpoint());
  const out = new Map<string, TranscriptEntry[]>();
  // STORE_CONTRACT_CASES=regexp runs only the cases whose names match (while working on a few).
  const only = process.env.STORE_CONTRACT_CASES;
  try {
    for (const [i, c] of cases.entries()) {
      if (only !== undefined && !new RegExp(only).test(c.name)) continue;
      const rec = new Recorder(clients, `/contract/${String(i).padStart(2, "0")}/`);
      try {
        await c.run(rec);
      } catch (e) {
        rec.transcript.push({ step: "case threw", res: String(e) });
      } finally {
        rec.close();
      }
      out.set(c.name, rec.transcript);
    }
  } finally {
    closeEtcdClients(clients);
  }
  return out;
}
