import t from "tap";
import { checkDurability } from "../src/check/durability.js";
import { history, type OpType } from "../src/check/history.js";

const op = (process: number, type: OpType, value: unknown, key = "x") => ({
  process,
  type,
  f: "write",
  key,
  value,
});

t.test("the last acknowledged write survives", async (t) => {
  const h = history([op(0, "invoke", 1), op(0, "ok", 1), op(0, "invoke", 2), op(0, "ok", 2)]);
  t.same(checkDurability(h, { x: 2 }), { valid: true, violations: [] });
});

t.test("a lost write: the final value was definitely overwritten", async (t) => {
  const h = history([op(0, "invoke", 1), op(0, "ok", 1), op(0, "invoke", 2), op(0, "ok", 2)]);
  const r = checkDurability(h, { x: 1 });
  t.equal(r.valid, false);
  t.same(r.violations, [{ key: "x", actual: 1, candidates: [2] }]);
  t.equal(checkDurability(h, {}).valid, false, "the key vanished");
});

t.test("concurrent acknowledged writes may land in either order", async (t) => {
  const h = history([op(0, "invoke", 1), op(1, "invoke", 2), op(0, "ok", 1), op(1, "ok", 2)]);
  t.equal(checkDurability(h, { x: 1 }).valid, true);
  t.equal(checkDurability(h, { x: 2 }).valid, true);
});

t.test("an info write may or may not have happened", async (t) => {
  const h = history([op(0, "invoke", 1), op(0, "info", 1), op(1, "invoke", 2, "y"), op(1, "info", 2, "y")]);
  t.equal(checkDurability(h, { x: 1, y: 2 }).valid, true, "both happened");
  t.equal(checkDurability(h, {}).valid, true, "neither happened");
  const after = history([op(0, "invoke", 1), op(0, "ok", 1), op(1, "invoke", 9), op(1, "info", 9)]);
  t.equal(checkDurability(after, { x: 9 }).valid, true, "landed last");
  t.equal(checkDurability(after, { x: 1 }).valid, true, "never landed");
  t.equal(checkDurability(after, {}).valid, false, "but the ok write cannot vanish");
});

t.test("failed writes and garbage values are not acceptable final values", async (t) => {
  const h = history([op(0, "invoke", 1), op(0, "ok", 1), op(0, "invoke", 2), op(0, "fail", 2)]);
  t.equal(checkDurability(h, { x: 2 }).valid, false);
  t.same(checkDurability(h, { x: 1, z: "junk" }).violations, [
    { key: "z", actual: "junk", candidates: [null] },
  ]);
});
