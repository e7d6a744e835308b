/** DefaultNormalizeScore, as kube's helper/normalize_score_test.go. */
import t from "tap";
import type { NodeScore } from "../../src/framework/interface.js";
import { defaultNormalizeScore } from "../../src/plugins/helper/normalize.js";

const list = (...s: number[]): NodeScore[] => s.map((score, i) => ({ name: `n${i}`, score }));
const scoresOf = (l: NodeScore[]) => l.map((s) => s.score);

t.test("DefaultNormalizeScore", async (t) => {
  const cases: { name: string; reverse: boolean; in: number[]; want: number[] }[] = [
    { name: "scale up", reverse: false, in: [1, 2, 3, 4, 5], want: [20, 40, 60, 80, 100] },
    { name: "scale up, reversed", reverse: true, in: [1, 2, 3, 4, 5], want: [80, 60, 40, 20, 0] },
    { name: "scale down", reverse: false, in: [1000, 10, 20, 30], want: [100, 1, 2, 3] },
    { name: "scale down, reversed", reverse: true, in: [1000, 10, 20, 30], want: [0, 99, 98, 97] },
    { name: "truncates like Go's integer division", reverse: false, in: [1, 1, 3], want: [33, 33, 100] },
    { name: "all zero", reverse: false, in: [0, 0, 0], want: [0, 0, 0] },
    { name: "all zero, reversed", reverse: true, in: [0, 0, 0], want: [100, 100, 100] },
    { name: "empty", reverse: true, in: [], want: [] },
  ];
  for (const c of cases) {
    const l = list(...c.in);
    t.equal(defaultNormalizeScore(100, c.reverse, l), undefined, `${c.name}: success`);
    t.same(scoresOf(l), c.want, c.name);
  }
});
