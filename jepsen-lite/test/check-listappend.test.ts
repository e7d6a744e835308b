import t from "tap";
import { history } from "../src/check/history.js";
import { checkListAppend, type MicroOp } from "../src/check/listappend.js";

type Outcome = "ok" | "fail" | "info";

/** A txn run alone by `process`: the invoke carries null reads, the completion the lists read. */
function txn(process: number, mops: MicroOp[], outcome: Outcome = "ok") {
  const invoked = mops.map((m) => (m[0] === "r" ? ["r", m[1], null] : m));
  return [
    { process, type: "invoke" as const, f: "txn", value: invoked },
    { process, type: outcome, f: "txn", value: outcome === "ok" ? mops : invoked },
  ];
}

const check = (...txns: ReturnType<typeof txn>[]) => checkListAppend(history(txns.flat()));
const types = (r: ReturnType<typeof checkListAppend>) => r.anomalies.map((a) => a.type);

t.test("a serial history is valid", async (t) => {
  const r = check(
    txn(0, [["append", "x", 1]]),
    txn(1, [
      ["r", "x", [1]],
      ["append", "x", 2],
    ]),
    txn(0, [
      ["r", "x", [1, 2]],
      ["append", "y", 1],
    ]),
    txn(1, [
      ["r", "y", [1]],
      ["r", "x", [1, 2]],
    ]),
  );
  t.same(r, { valid: true, anomalies: [] });
});

t.test("duplicate elements in a read", async (t) => {
  t.same(types(check(txn(0, [["append", "x", 1]]), txn(1, [["r", "x", [1, 1]]]))), ["duplicate-elements"]);
});

t.test("garbage read: a value never appended", async (t) => {
  const r = check(txn(0, [["append", "x", 1]]), txn(1, [["r", "x", [1, 7]]]));
  t.same(types(r), ["garbage-read"]);
  t.equal(r.anomalies[0]?.value, 7);
});

t.test("G1a: reading a failed txn's append", async (t) => {
  const r = check(txn(0, [["append", "x", 1]], "fail"), txn(1, [["r", "x", [1]]]));
  t.same(types(r), ["G1a"]);
});

t.test("an info txn's append may be read (it committed)", async (t) => {
  t.equal(check(txn(0, [["append", "x", 1]], "info"), txn(1, [["r", "x", [1]]])).valid, true);
  t.equal(check(txn(0, [["append", "x", 1]], "info"), txn(1, [["r", "x", []]])).valid, true);
});

t.test("incompatible order: reads that are not prefixes of one another", async (t) => {
  const r = check(
    txn(0, [["append", "x", 1]]),
    txn(1, [["append", "x", 2]]),
    txn(2, [["r", "x", [1, 2]]]),
    txn(3, [["r", "x", [2]]]),
  );
  t.same(types(r), ["incompatible-order"]);
});

t.test("G1c: a ww/wr cycle", async (t) => {
  // Each txn read the other's append: T0 -wr-> T1 (x=1) and T1 -wr-> T0 (y=1), impossible serially.
  const r = check(
    txn(0, [
      ["append", "x", 1],
      ["r", "y", [1]],
    ]),
    txn(1, [
      ["append", "y", 1],
      ["r", "x", [1]],
    ]),
  );
  t.same(types(r), ["G1c"]);
  t.same(r.anomalies[0]?.edges, ["wr", "wr"]);
  t.equal(r.anomalies[0]?.ops.length, 2);
});

t.test("G2: write skew as an rw/rw cycle", async (t) => {
  // Both read both keys empty, then each appends to one: each missed the other's write.
  const r = check(
    txn(0, [
      ["r", "x", []],
      ["r", "y", []],
      ["append", "x", 1],
    ]),
    txn(1, [
      ["r", "x", []],
      ["r", "y", []],
      ["append", "y", 1],
    ]),
    txn(2, [
      ["r", "x", [1]],
      ["r", "y", [1]],
    ]),
  );
  t.same(types(r), ["G2"]);
  t.same(r.anomalies[0]?.edges, ["rw", "rw"]);
});

t.test("G0: a ww cycle across two keys", async (t) => {
  const r = check(
    txn(0, [
      ["append", "x", 1],
      ["append", "y", 2],
    ]),
    txn(1, [
      ["append", "x", 2],
      ["append", "y", 1],
    ]),
    txn(2, [
      ["r", "x", [1, 2]],
      ["r", "y", [1, 2]],
    ]),
  );
  t.same(types(r), ["G0"]);
  t.same(r.anomalies[0]?.edges, ["ww", "ww"]);
  t.same(
    r.anomalies[0]?.ops.map((op) => op.type),
    ["ok", "ok"],
  );
});
