import type {
  DeleteRangeRequest,
  MvccStore,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from "../src/mvcc/index.js";
import { b } from "./mvcc-helpers.js";

/** One request of the fixed sequence compared with etcd (the gateway path names the kind). */
export type Step =
  | { name: string; kind: "put"; req: PutRequest }
  | { name: string; kind: "range"; req: RangeRequest }
  | { name: string; kind: "deleterange"; req: DeleteRangeRequest }
  | { name: string; kind: "txn"; req: TxnRequest }
  | { name: string; kind: "compaction"; revision: number };

const all = { key: b("a"), range_end: b("z") };
const put = (k: string, v: string): RequestOp => ({ request_put: { key: b(k), value: b(v) } });

export const etcdSteps: Step[] = [
  { name: "put a -> 2", kind: "put", req: { key: b("a"), value: b("1") } },
  { name: "put b -> 3", kind: "put", req: { key: b("b"), value: b("1") } },
  { name: "put a again, prev_kv", kind: "put", req: { key: b("a"), value: b("2"), prev_kv: true } },
  { name: "put c", kind: "put", req: { key: b("c"), value: b("0") } },
  { name: "range all", kind: "range", req: all },
  { name: "sort NONE + VERSION, limit", kind: "range", req: { ...all, sort_target: "VERSION", limit: 2 } },
  { name: "sort DESCEND MOD", kind: "range", req: { ...all, sort_order: "DESCEND", sort_target: "MOD" } },
  { name: "sort ASCEND VALUE", kind: "range", req: { ...all, sort_order: "ASCEND", sort_target: "VALUE" } },
  { name: "min_mod filter + limit", kind: "range", req: { ...all, min_mod_revision: 4, limit: 1 } },
  { name: "max_create filter", kind: "range", req: { ...all, max_create_revision: 3 } },
  { name: "count_only", kind: "range", req: { ...all, count_only: true } },
  { name: "keys_only limit", kind: "range", req: { ...all, keys_only: true, limit: 1 } },
  { name: "historical read", kind: "range", req: { key: b("a"), revision: 2 } },
  { name: "future read", kind: "range", req: { key: b("a"), revision: 99 } },
  { name: "delete a, prev_kv", kind: "deleterange", req: { key: b("a"), prev_kv: true } },
  { name: "delete nothing", kind: "deleterange", req: { key: b("nothing") } },
  { name: "re-create a", kind: "put", req: { key: b("a"), value: b("3"), lease: 0n } },
  { name: "ignore_value on a missing key", kind: "put", req: { key: b("q"), ignore_value: true } },
  { name: "ignore_value", kind: "put", req: { key: b("a"), ignore_value: true, prev_kv: true } },
  {
    name: "txn success: writes and reads",
    kind: "txn",
    req: {
      compare: [{ key: b("a"), target: "VERSION", result: "EQUAL", version: 2 }],
      success: [
        { request_range: all },
        put("d", "1"),
        { request_range: all },
        { request_delete_range: { key: b("b") } },
      ],
      failure: [put("never", "1")],
    },
  },
  {
    name: "txn failure branch, read only",
    kind: "txn",
    req: {
      compare: [{ key: b("missing"), target: "VALUE", result: "EQUAL", value: b("") }],
      success: [put("never", "1")],
      failure: [{ request_range: { key: b("a") } }],
    },
  },
  {
    name: "txn compare over a range",
    kind: "txn",
    req: {
      compare: [{ key: b("a"), range_end: b("e"), target: "CREATE", result: "GREATER", create_revision: 1 }],
    },
  },
  { name: "txn duplicate put", kind: "txn", req: { success: [put("x", "1"), put("x", "2")] } },
  {
    name: "txn put in a deleted range",
    kind: "txn",
    req: { success: [put("c", "1"), { request_delete_range: { key: b("a"), range_end: b("d") } }] },
  },
  {
    name: "nested txn sees the state before the txn in its compares",
    kind: "txn",
    req: {
      success: [
        put("n", "1"),
        {
          request_txn: {
            compare: [{ key: b("n"), target: "VERSION", result: "GREATER", version: 0 }],
            success: [put("yes", "1")],
            failure: [put("no", "1"), { request_range: { key: b("n") } }],
          },
        },
      ],
    },
  },
  { name: "delete from-key", kind: "deleterange", req: { key: b("n"), range_end: new Uint8Array([0]) } },
  {
    name: "txn put inside a from-key delete (etcd's interval check misses it)",
    kind: "txn",
    req: {
      success: [put("y", "1"), { request_delete_range: { key: b("x"), range_end: new Uint8Array([0]) } }],
    },
  },
  {
    name: "after put+delete in one txn",
    kind: "range",
    req: { key: b("x"), range_end: new Uint8Array([0]) },
  },
  { name: "compact 5", kind: "compaction", revision: 5 },
  { name: "compact 5 again", kind: "compaction", revision: 5 },
  { name: "compact future", kind: "compaction", revision: 999 },
  { name: "read below compaction", kind: "range", req: { key: b("a"), revision: 4 } },
  { name: "read at compaction", kind: "range", req: { ...all, revision: 5 } },
  { name: "final state", kind: "range", req: { key: new Uint8Array([0]), range_end: new Uint8Array([0]) } },
];

// ---- canonical form of a response, from either side ----

type Bytes = Uint8Array | string | undefined;
const text = (x: Bytes): string =>
  x instanceof Uint8Array ? Buffer.from(x).toString() : x ? Buffer.from(x, "base64").toString() : "";
const num = (x: unknown): number => Number(x ?? 0);
type Obj = Record<string, unknown> | undefined;

function kv(x: Obj) {
  if (!x) return null;
  return {
    key: text(x.key as Bytes),
    create_revision: num(x.create_revision),
    mod_revision: num(x.mod_revision),
    version: num(x.version),
    value: text(x.value as Bytes),
    lease: String(x.lease ?? 0),
  };
}

const rev = (x: Obj) => num((x?.header as Obj)?.revision);

function canon(kind: string, r: Obj): unknown {
  switch (kind) {
    case "range":
      return { rev: rev(r), kvs: ((r?.kvs ?? []) as Obj[]).map(kv), more: !!r?.more, count: num(r?.count) };
    case "put":
      return { rev: rev(r), prev_kv: kv(r?.prev_kv as Obj) };
    case "deleterange":
      return { rev: rev(r), deleted: num(r?.deleted), prev_kvs: ((r?.prev_kvs ?? []) as Obj[]).map(kv) };
    case "txn":
      return {
        rev: rev(r),
        succeeded: !!r?.succeeded,
        responses: ((r?.responses ?? []) as Record<string, Obj>[]).map((op) => {
          const [k, v] = Object.entries(op)[0] as [string, Obj];
          return { [k]: canon(k.replace("response_", "").replace("_", ""), v) };
        }),
      };
    default:
      return { rev: rev(r) };
  }
}

export function ours(s: MvccStore, step: Step): unknown {
  try {
    switch (step.kind) {
      case "put":
        return canon("put", s.put(step.req) as unknown as Obj);
      case "range":
        return canon("range", s.range(step.req) as unknown as Obj);
      case "deleterange":
        return canon("deleterange", s.deleteRange(step.req) as unknown as Obj);
      case "txn":
        return canon("txn", s.txn(step.req) as unknown as Obj);
      case "compaction":
        return canon("compaction", s.compact(step.revision) as unknown as Obj);
    }
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The request as the gateway's JSON: bytes base64, int64 as strings, enums by name. */
function json(x: unknown): unknown {
  if (x instanceof Uint8Array) return Buffer.from(x).toString("base64");
  if (typeof x === "bigint") return x.toString();
  if (Array.isArray(x)) return x.map(json);
  if (x && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, json(v)]));
  return x;
}

export async function theirs(url: string, step: Step): Promise<unknown> {
  const body = step.kind === "compaction" ? { revision: String(step.revision) } : json(step.req);
  const r = await fetch(`${url}/v3/kv/${step.kind}`, { method: "POST", body: JSON.stringify(body) });
  const out = (await r.json()) as Record<string, unknown>;
  if (!r.ok || out.error) {
    // The gRPC status text prefixes mvcc's errors with "etcdserver: "; MvccError carries mvcc's own.
    return { error: String(out.message ?? out.error).replace(/^etcdserver: mvcc: /, "mvcc: ") };
  }
  return canon(step.kind, out);
}
