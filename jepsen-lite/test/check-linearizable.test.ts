import fc from "fast-check";
import t from "tap";
import { history, type Op } from "../src/check/history.js";
import { checkLinearizable, stepTxn } from "../src/check/linearizable.js";
import { type Choice, generateHistory } from "./register-gen.js";

const inv = (process: number, f: string, value: unknown, key = "x") => ({
  process,
  type: "invoke" as const,
  f,
  key,
  value,
});
const ok = (process: number, f: string, value: unknown, key = "x") => ({
  process,
  type: "ok" as const,
  f,
  key,
  value,
});
const info = (process: number, f: string, value: unknown, key = "x") => ({
  process,
  type: "info" as const,
  f,
  key,
  value,
});
const fail = (process: number, f: string, value: unknown, key = "x") => ({
  process,
  type: "fail" as const,
  f,
  key,
  value,
});

t.test("a sequential and a concurrent good history pass", async (t) => {
  const h = history([
    inv(0, "write", 1),
    ok(0, "write", 1),
    inv(1, "read", null),
    inv(0, "write", 2),
    ok(1, "read", 2), // concurrent with write 2: may see it
    ok(0, "write", 2),
    inv(1, "cas", [2, 3]),
    ok(1, "cas", [2, 3]),
    inv(0, "read", null),
    ok(0, "read", 3),
  ]);
  t.same(checkLinearizable(h), { valid: true });
});

t.test("a stale read fails with the key, the op and a short bad prefix", async (t) => {
  const h = history([
    inv(0, "write", 1, "y"),
    ok(0, "write", 1, "y"),
    inv(0, "write", 1),
    ok(0, "write", 1),
    inv(0, "write", 2),
    ok(0, "write", 2),
    inv(1, "read", null),
    ok(1, "read", 1), // stale: write 2 completed before this read began
  ]);
  const r = checkLinearizable(h);
  t.equal(r.valid, false);
  t.equal(r.key, "x");
  t.equal(r.failedOp?.index, 7);
  t.same(
    r.smallestBadPrefix?.map((op) => op.index),
    [4, 5, 6, 7],
  );
  t.equal(r.lastState, 2);
});

t.test("fail ops are dropped; a failed cas must not be visible", async (t) => {
  const base = [
    inv(0, "write", 1),
    ok(0, "write", 1),
    inv(0, "cas", [1, 5]),
    fail(0, "cas", [1, 5]),
    inv(1, "read", null),
  ];
  t.equal(checkLinearizable(history([...base, ok(1, "read", 1)])).valid, true);
  t.equal(checkLinearizable(history([...base, ok(1, "read", 5)])).valid, false);
});

t.test("an info write may or may not have happened, at any time after its invocation", async (t) => {
  const base = [inv(0, "write", 1), ok(0, "write", 1), inv(2, "write", 9), info(2, "write", 9)];
  const read = (v: unknown) => [inv(1, "read", null), ok(1, "read", v)];
  t.equal(checkLinearizable(history([...base, ...read(1)])).valid, true, "never happened");
  t.equal(checkLinearizable(history([...base, ...read(9)])).valid, true, "happened");
  t.equal(checkLinearizable(history([...base, ...read(9), ...read(1)])).valid, false, "cannot be undone");
  t.equal(checkLinearizable(history([...base, ...read(1), ...read(9)])).valid, true, "happened late");
  const before = [inv(1, "read", null), ok(1, "read", 9), inv(2, "write", 9), info(2, "write", 9)];
  t.equal(checkLinearizable(history(before)).valid, false, "not before its invocation");
  t.equal(checkLinearizable(history([inv(2, "write", 9), ...read(9)])).valid, true, "never completed");
});

t.test("keys are checked independently", async (t) => {
  const h = history([
    inv(0, "write", 1, "a"),
    ok(0, "write", 1, "a"),
    inv(1, "read", null, "b"),
    ok(1, "read", 1, "b"),
  ]);
  const r = checkLinearizable(h);
  t.equal(r.valid, false);
  t.equal(r.key, "b");
});

t.test("the step budget yields unknown rather than a wrong verdict", async (t) => {
  const h = history([inv(0, "write", 1), inv(1, "write", 2), inv(2, "read", null), ok(2, "read", 3)]);
  t.equal(checkLinearizable(h, { maxSteps: 1 }).valid, "unknown");
});

const choices = fc.array(fc.tuple(fc.nat(4), fc.nat(1000), fc.nat(1000)) as fc.Arbitrary<Choice>, {
  minLength: 20,
  maxLength: 200,
  size: "max", // fast-check's default size keeps arrays tiny; we want real concurrency
});

t.test("property: histories linearizable by construction pass", async (t) => {
  fc.assert(
    fc.property(choices, (cs) => checkLinearizable(generateHistory(cs, 4, 2)).valid === true),
    { numRuns: 300 },
  );
  t.pass();
});

t.test("property: one ok read changed to a never-written value fails", async (t) => {
  fc.assert(
    fc.property(choices, fc.nat(), (cs, pick) => {
      const h = generateHistory(cs, 4, 2);
      const reads = h.filter((op) => op.type === "ok" && op.f === "read");
      fc.pre(reads.length > 0);
      const target = reads[pick % reads.length] as Op;
      const mutated = h.map((op) => (op === target ? { ...op, value: "never-written" } : op));
      const r = checkLinearizable(mutated);
      return r.valid === false && r.key === target.key;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

t.test("property: one ok read changed to a value only written after it completed fails", async (t) => {
  fc.assert(
    fc.property(choices, fc.nat(), (cs, pick) => {
      const h = generateHistory(cs, 4, 2);
      const candidates = h.flatMap((read) => {
        if (read.type !== "ok" || read.f !== "read") return [];
        // Writes of this key invoked after the read completed: not yet written "at that time".
        const later = h.filter(
          (w) => w.type === "invoke" && w.f === "write" && w.key === read.key && w.index > read.index,
        );
        return later.map((w) => ({ read, value: w.value }));
      });
      fc.pre(candidates.length > 0);
      const { read, value } = candidates[pick % candidates.length] as { read: Op; value: unknown };
      // Values are unique per history, so this value cannot come from any earlier write or cas.
      const mutated = h.map((op) => (op === read ? { ...op, value } : op));
      return checkLinearizable(mutated).valid === false;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

t.test("multi-key txns (stepTxn): atomic reads and writes of several keys", async (t) => {
  const opts = { step: stepTxn, initialState: {} };
  const w = (k: string, v: number) => ["w", k, v];
  const r = (k: string, v: number | null) => ["r", k, v];
  // p0 writes a=1,b=1 atomically; p1 reads both while it runs, then p2 reads after it returns.
  const good = history([
    inv(0, "txn", [w("a", 1), w("b", 1)], "g"),
    inv(1, "txn", [r("a", null), r("b", null)], "g"),
    ok(1, "txn", [r("a", 1), r("b", 1)], "g"),
    ok(0, "txn", [w("a", 1), w("b", 1)], "g"),
    inv(2, "txn", [r("a", null), w("a", 2)], "g"),
    ok(2, "txn", [r("a", 1), w("a", 2)], "g"),
  ]);
  t.equal(checkLinearizable(good, opts).valid, true, "a valid history passes");
  // A torn read: a=1 but b still absent, although both were written in one txn.
  const torn = history([
    inv(0, "txn", [w("a", 1), w("b", 1)], "g"),
    ok(0, "txn", [w("a", 1), w("b", 1)], "g"),
    inv(1, "txn", [r("a", null), r("b", null)], "g"),
    ok(1, "txn", [r("a", 1), r("b", null)], "g"),
  ]);
  t.equal(checkLinearizable(torn, opts).valid, false, "a torn (non-atomic) read fails");
  // A stale read: after a=2 completed, a later txn still reads a=1.
  const stale = history([
    inv(0, "txn", [w("a", 1)], "g"),
    ok(0, "txn", [w("a", 1)], "g"),
    inv(0, "txn", [w("a", 2)], "g"),
    ok(0, "txn", [w("a", 2)], "g"),
    inv(1, "txn", [r("a", null)], "g"),
    ok(1, "txn", [r("a", 1)], "g"),
  ]);
  t.equal(checkLinearizable(stale, opts).valid, false, "a stale read fails");
  // An info txn may have applied: a later read of its write is fine.
  const maybe = history([
    inv(0, "txn", [w("a", 1), w("b", 7)], "g"),
    info(0, "txn", [w("a", 1), w("b", 7)], "g"),
    inv(1, "txn", [r("b", null)], "g"),
    ok(1, "txn", [r("b", 7)], "g"),
  ]);
  t.equal(checkLinearizable(maybe, opts).valid, true, "an info txn's writes may be observed");
});
