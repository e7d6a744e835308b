/**
 * What `skiff store` puts through Raft: puts in their own binary form, every other request as
 * msgpack; both decode to the request that was encoded, and an entry written as msgpack (by an
 * earlier version, puts included) still applies.
 */
import fc from "fast-check";
import { Packr } from "msgpackr";
import t from "tap";
import type { PutRequest } from "../src/mvcc/types.js";
import { decodeRequest, encodeRequest, type StoreRequest } from "../src/server/statemachine.js";

const bytes = fc.uint8Array({ maxLength: 300 }).map((b) => new Uint8Array(b));

const putArb: fc.Arbitrary<PutRequest> = fc.record(
  {
    key: bytes.filter((b) => b.length > 0),
    value: bytes,
    lease: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    prev_kv: fc.boolean(),
    ignore_value: fc.boolean(),
    ignore_lease: fc.boolean(),
  },
  { requiredKeys: ["key"] },
);

/** A put as the state machine reads it: absent fields at their zero values. */
const normal = (r: PutRequest) => ({
  key: Buffer.from(r.key).toString("hex"),
  value: Buffer.from(r.value ?? new Uint8Array(0)).toString("hex"),
  lease: String(r.lease ?? 0n),
  prev_kv: r.prev_kv === true,
  ignore_value: r.ignore_value === true,
  ignore_lease: r.ignore_lease === true,
});

t.test("puts go through Raft in their binary form and come back the same", async (t) => {
  let runs = 0;
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(putArb, (req) => {
        runs++;
        const data = encodeRequest({ op: "put", req });
        const back = decodeRequest(data);
        return (
          data[0] === 0 &&
          back.op === "put" &&
          JSON.stringify(normal(back.req)) === JSON.stringify(normal(req))
        );
      }),
      { numRuns: 300 },
    ),
  );
  t.equal(runs, 300);
});

t.test("other requests are msgpack; msgpack puts of earlier versions still decode", async (t) => {
  const reqs: StoreRequest[] = [
    { op: "compact", revision: 7 },
    { op: "leaseGrant", id: 2n ** 62n, ttl: 30 },
    { op: "deleteRange", req: { key: Uint8Array.of(1), range_end: Uint8Array.of(2) } },
  ];
  for (const r of reqs) {
    const data = encodeRequest(r);
    t.not(data[0], 0, `${r.op} is not tagged as a put`);
    t.same(decodeRequest(data), r, r.op);
  }
  const old = new Packr({ useRecords: false, moreTypes: true }).pack({
    op: "put",
    req: { key: Uint8Array.of(9), value: Uint8Array.of(8, 7), lease: 5n, prev_kv: true },
  });
  const back = decodeRequest(old);
  t.equal(back.op, "put");
  if (back.op === "put")
    t.same(
      normal(back.req),
      normal({ key: Uint8Array.of(9), value: Uint8Array.of(8, 7), lease: 5n, prev_kv: true }),
    );
});
