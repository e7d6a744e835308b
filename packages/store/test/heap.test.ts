/** The heap-growth policy `skiff store` applies after every full collection (src/server/heap.ts). */
import t from "tap";
import { heapGrowingPercentFor, minSlackBytes, slackRatio } from "../src/server/heap.js";

const MiB = 1024 * 1024;

t.test("a small live heap gets the slack floor, a large one a share of its size", async (t) => {
  // 14 MiB live (a member serving 1,000 watchers): 24 MiB of room, 171%.
  t.equal(heapGrowingPercentFor(14 * MiB), Math.round((100 * minSlackBytes) / (14 * MiB)));
  t.ok(
    heapGrowingPercentFor(14 * MiB) * 14 * MiB >= 100 * 16 * MiB,
    "more room than the 16 MiB young generation",
  );
  // Past 40 MiB live the share applies: 60%.
  for (const live of [40, 64, 512, 4096])
    t.equal(heapGrowingPercentFor(live * MiB), slackRatio * 100, `${live} MiB`);
  // The percent never grows as the live heap grows.
  let last = Number.POSITIVE_INFINITY;
  for (let live = 1; live <= 256; live++) {
    const pct = heapGrowingPercentFor(live * MiB);
    t.ok(pct <= last, `${live} MiB: ${pct}% <= ${last}%`);
    last = pct;
  }
});

t.test("the percent stays within 10..300, whatever the reading", async (t) => {
  t.equal(heapGrowingPercentFor(0), 300);
  t.equal(heapGrowingPercentFor(1), 300);
  t.equal(heapGrowingPercentFor(1 * MiB), 300);
  t.equal(heapGrowingPercentFor(Number.MAX_SAFE_INTEGER), 60);
});
