/** PrioritySort: higher spec.priority first, then the earlier queueing timestamp. */
import t from "tap";
import { PodInfo, type QueuedPodInfo } from "../../src/framework/pod-info.js";
import { Name, New } from "../../src/plugins/queuesort/index.js";
import { fakeHandle, makePod } from "../fixtures.js";

const queued = (name: string, priority: number | undefined, timestamp: number): QueuedPodInfo => ({
  podInfo: new PodInfo(makePod(name, priority === undefined ? {} : { priority })),
  timestamp,
  initialAttemptTimestamp: undefined,
  attempts: 0,
  unschedulablePlugins: new Set(),
  pendingPlugins: new Set(),
  gated: false,
});

t.test("PrioritySort.less", async (t) => {
  const pl = New(undefined, fakeHandle([]));
  t.equal(pl.name, Name);
  t.equal(Name, "PrioritySort");
  const high = queued("high", 10, 200);
  const low = queued("low", 1, 100);
  t.ok(pl.less(high, low), "higher priority wins over an earlier timestamp");
  t.notOk(pl.less(low, high));
  const early = queued("early", 5, 100);
  const late = queued("late", 5, 200);
  t.ok(pl.less(early, late), "same priority: earlier first");
  t.notOk(pl.less(late, early));
  t.notOk(pl.less(early, queued("same", 5, 100)), "equal pods are not less");
  t.ok(pl.less(queued("zero", undefined, 300), queued("negative", -1, 1)), "no priority is 0");
});
