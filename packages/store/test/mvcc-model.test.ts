import fc from "fast-check";
import t from "tap";
import { MvccStore, type RequestOp, type TxnRequest } from "../src/mvcc/index.js";
import { opArbitraries } from "./mvcc-arbitraries.js";
import { b, plain } from "./mvcc-helpers.js";
import { type MOp, Model } from "./mvcc-model.js";

/*
 * Property: any sequence of operations gives the same responses, errors and revisions from the
 * MVCC store as from the per-revision-copy model; a store restored from a snapshot taken mid-way
 * continues exactly as the original, and its snapshot is byte-identical.
 */

const { key, end, rev, putOp, delOp, rangeOp, txnOp } = opArbitraries(fc.constantFrom(0, 0, 5, 6));
const compactOp = fc.record({ op: fc.constant("compact" as const), revision: rev });
const eventsOp = fc.record({ op: fc.constant("events" as const), revision: rev, key, end });
const revokeOp = fc.record({ op: fc.constant("revoke" as const), lease: fc.constantFrom(5, 6) });
const leaseKeysOp = fc.record({ op: fc.constant("leaseKeys" as const), lease: fc.constantFrom(5, 6) });
const anyOp: fc.Arbitrary<MOp> = fc.oneof(
  { weight: 1, arbitrary: revokeOp },
  { weight: 1, arbitrary: leaseKeysOp },
  { weight: 5, arbitrary: putOp },
  { weight: 2, arbitrary: delOp },
  { weight: 3, arbitrary: rangeOp },
  { weight: 3, arbitrary: txnOp },
  { weight: 1, arbitrary: compactOp },
  { weight: 1, arbitrary: eventsOp },
);

/** Revisions are drawn small; fold them into [0, rev+1] so most are valid and some are future. */
function resolve(o: MOp, cur: number): MOp {
  const fold = (r: number) => r % (cur + 2);
  if (o.op === "range" || o.op === "compact" || o.op === "events")
    return { ...o, revision: fold(o.revision) };
  if (o.op === "txn") {
    return {
      ...o,
      success: o.success.map((x) => resolve(x, cur)),
      failure: o.failure.map((x) => resolve(x, cur)),
    };
  }
  return o;
}

const endBytes = (e: string | undefined) => (e === undefined ? undefined : b(e));

function toRequestOp(o: MOp): RequestOp {
  if (o.op === "put") {
    const { key, value, lease, prev_kv, ignore_value } = o;
    return {
      request_put: ignore_value
        ? { key: b(key), lease: BigInt(lease), prev_kv, ignore_value }
        : { key: b(key), value: b(value), lease: BigInt(lease), prev_kv },
    };
  }
  if (o.op === "del")
    return { request_delete_range: { key: b(o.key), range_end: endBytes(o.end), prev_kv: o.prev_kv } };
  if (o.op === "range") {
    const { op: _op, key, end: e, ...rest } = o;
    return { request_range: { ...rest, key: b(key), range_end: endBytes(e) } };
  }
  throw new Error(`not a request op: ${o.op}`);
}

function onStore(s: MvccStore, o: MOp): unknown {
  try {
    switch (o.op) {
      case "put":
      case "del":
      case "range": {
        const r = toRequestOp(o);
        if ("request_put" in r) return plain(s.put(r.request_put));
        if ("request_delete_range" in r) return plain(s.deleteRange(r.request_delete_range));
        if ("request_range" in r) return plain(s.range(r.request_range));
        throw new Error("unreachable");
      }
      case "txn": {
        const c = o.compare;
        const operand =
          c.target === "VALUE"
            ? { value: b(String(c.n)) }
            : { [{ VERSION: "version", CREATE: "create_revision", MOD: "mod_revision" }[c.target]]: c.n };
        const req: TxnRequest = {
          compare: [
            {
              key: b(c.key),
              range_end: endBytes(c.end),
              target: c.target,
              result: c.result as "EQUAL",
              ...operand,
            },
          ],
          success: o.success.map(toRequestOp),
          failure: o.failure.map(toRequestOp),
        };
        return plain(s.txn(req));
      }
      case "compact":
        return plain(s.compact(o.revision));
      case "revoke":
        return s.revokeLease(BigInt(o.lease));
      case "leaseKeys":
        return s.keysWithLease(BigInt(o.lease)).map((k) => new TextDecoder().decode(k));
      case "events":
        return plain(s.eventsSince(o.revision, b(o.key), endBytes(o.end)));
    }
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The model answers ops at the top level the way the store does (put/del outside a txn). */
function onModel(m: Model, o: MOp): unknown {
  const r = m.apply(o) as Record<string, unknown>;
  if (o.op === "put" && r && "response_put" in r) return r.response_put;
  if (o.op === "del" && r && "response_delete_range" in r) return r.response_delete_range;
  return JSON.parse(JSON.stringify(r));
}

t.test("the MVCC store answers as the model, across snapshot/restore", async (t) => {
  let runs = 0;
  fc.assert(
    fc.property(fc.array(anyOp, { minLength: 1, maxLength: 60 }), fc.nat(60), (ops, cut) => {
      runs++;
      const m = new Model();
      const s = new MvccStore();
      let restored: MvccStore | undefined;
      ops.forEach((raw, i) => {
        if (i === cut % ops.length) {
          restored = new MvccStore();
          const snap = s.snapshot();
          restored.restore(snap);
          if (Buffer.compare(restored.snapshot(), snap) !== 0)
            throw new Error("snapshot is not deterministic");
        }
        const o = resolve(raw, m.rev);
        const want = onModel(m, o);
        const got = JSON.parse(JSON.stringify(onStore(s, o)));
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          throw new Error(
            `op ${i} ${JSON.stringify(o)}:\n store ${JSON.stringify(got)}\n model ${JSON.stringify(want)}`,
          );
        }
        if (restored) {
          const again = JSON.parse(JSON.stringify(onStore(restored, o)));
          if (JSON.stringify(again) !== JSON.stringify(want))
            throw new Error(`restored store differs at op ${i}`);
        }
        if (s.revision !== m.rev) throw new Error(`revision ${s.revision} != model ${m.rev}`);
      });
    }),
    { numRuns: 1000, seed: 20251128 },
  );
  t.equal(runs, 1000);
});
