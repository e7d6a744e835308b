/**
 * The TTL-after-finished controller on a fake client and clock (after
 * ttlafterfinished_controller_test.go): a finished Job is requeued for its expiry and then
 * deleted in the foreground with a uid precondition; a fresh read with a longer TTL, an
 * unfinished Job or one without a TTL are left alone.
 */
import t from "tap";
import type { Job } from "../../src/job/types.js";
import {
  needsCleanup,
  TTLAfterFinishedController,
  timeLeft,
} from "../../src/ttlafterfinished/ttlafterfinished-controller.js";
import { NS, newHarness, newJob, T0 } from "../job/harness.js";

const z = (ms: number) => new Date(ms).toISOString().replace(".000", "");
const finished = (ttl: number | undefined, at = T0, type = "Complete"): Job =>
  newJob("done", ttl === undefined ? {} : { ttlSecondsAfterFinished: ttl }, {
    status: { conditions: [{ type, status: "True", lastTransitionTime: z(at) }] },
  });

t.test("timeLeft and needsCleanup", async (t) => {
  t.equal(timeLeft(finished(60), T0 + 10_000).remaining, 50_000);
  t.equal(timeLeft(finished(60, T0, "Failed"), T0 + 70_000).remaining, -10_000);
  t.ok(needsCleanup(finished(0)));
  t.notOk(needsCleanup(finished(undefined)));
  t.notOk(needsCleanup(newJob("running", { ttlSecondsAfterFinished: 5 })));
  const noTime = finished(5);
  delete noTime.status?.conditions?.[0]?.lastTransitionTime;
  t.throws(() => timeLeft(noTime, T0), { message: "unable to find the time when the Job ns/done finished" });
});

t.test("a finished Job is deleted once its TTL has passed, foreground, with its uid", async (t) => {
  const h = newHarness({}, T0 + 10_000);
  t.teardown(() => h.close());
  const c = new TTLAfterFinishedController(h.ctx);
  h.seed(c.jobs, finished(60));
  await c.sync(`${NS}/done`);
  t.same(h.client.writes(), [], "not yet");
  t.equal(c.queue.waitingLen(), 1);
  t.equal(h.clock.nextTimerAt(), T0 + 60_000, "requeued for the expiry");

  h.clock.setTime(T0 + 60_000);
  await c.processNextWorkItem();
  const del = h.client.writes();
  t.same(
    del.map((a) => [a.verb, a.name, a.deleteOptions]),
    [["delete", "done", { propagationPolicy: "Foreground", preconditions: { uid: "uid-done" } }]],
  );
  t.ok(h.get<Job>("batch/v1", "jobs", "done").metadata.deletionTimestamp, "held by foregroundDeletion");
});

t.test("the TTL is checked again on a fresh read before deleting", async (t) => {
  const h = newHarness({}, T0 + 120_000);
  t.teardown(() => h.close());
  const c = new TTLAfterFinishedController(h.ctx);
  h.seed(c.jobs, finished(60));
  h.client.tracker.add(finished(3600)); // changed meanwhile; the cache has not seen it
  await c.sync(`${NS}/done`);
  t.same(h.client.writes(), []);
  t.equal(h.clock.nextTimerAt(), T0 + 3_600_000, "requeued for the new expiry");
});

t.test("unfinished Jobs, Jobs without a TTL and Jobs being deleted are left alone", async (t) => {
  const h = newHarness({}, T0 + 120_000);
  t.teardown(() => h.close());
  const c = new TTLAfterFinishedController(h.ctx);
  h.seed(c.jobs, newJob("running", { ttlSecondsAfterFinished: 0 }));
  h.seed(c.jobs, { ...finished(undefined), metadata: { ...finished(undefined).metadata, name: "keep" } });
  const going = finished(0);
  going.metadata.name = "going";
  going.metadata.deletionTimestamp = z(T0);
  h.seed(c.jobs, going);
  for (const name of ["running", "keep", "going", "absent"]) await c.sync(`${NS}/${name}`);
  t.same(h.client.actions, []);
  t.equal(c.queue.waitingLen(), 0);
});
