/**
 * The cronjob controller's sync on fixture caches with a fake client and a fake clock (after
 * cronjob_controllerv2_test.go): a Job per schedule time with its name and annotation, the
 * requeue at the next schedule time, concurrency policies, suspend, missed times, the active
 * list, history limits, and a CronJob followed over three schedule times by driving the clock.
 */
import t from "tap";
import { CronJobController } from "../../src/cronjob/cronjob-controller.js";
import type { CronJob, CronJobSpec } from "../../src/cronjob/types.js";
import { UTC } from "../../src/cronjob/zone.js";
import type { Job } from "../../src/job/types.js";
import { type Harness, NS, newHarness, T0 } from "../job/harness.js";

const KEY = `${NS}/cj`;
const minute = (ms: number) => Math.floor(ms / 60_000);
const z = (ms: number) => new Date(ms).toISOString().replace(".000", "");

interface Setup {
  h: Harness;
  c: CronJobController;
}

function newCronJob(
  spec: Partial<CronJobSpec> = {},
  status: CronJob["status"] = {},
  created = T0 - 30_000,
): CronJob {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "cj", namespace: NS, uid: "uid-cj", creationTimestamp: z(created) },
    spec: {
      schedule: "* * * * *",
      concurrencyPolicy: "Allow",
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: { labels: { app: "report" }, annotations: { team: "a" } },
        spec: {
          template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } },
        },
      },
      ...spec,
    },
    status,
  };
}

function childJob(
  name: string,
  o: { finished?: "Complete" | "Failed"; start?: number; done?: number } = {},
): Job {
  const conditions =
    o.finished === undefined
      ? []
      : [{ type: o.finished, status: "True" as const, lastTransitionTime: z(o.done ?? T0) }];
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${name}`,
      ownerReferences: [
        { apiVersion: "batch/v1", kind: "CronJob", name: "cj", uid: "uid-cj", controller: true },
      ],
    },
    spec: { template: { spec: { containers: [] } } },
    status: {
      ...(o.start === undefined ? {} : { startTime: z(o.start) }),
      conditions,
      ...(o.finished === "Complete" ? { completionTime: z(o.done ?? T0) } : {}),
    },
  };
}

function setup(cj: CronJob, jobs: Job[] = []): Setup {
  const h = newHarness();
  const c = new CronJobController(h.ctx, { localZone: UTC });
  h.seed(c.cronJobs, cj);
  for (const j of jobs) h.seed(c.jobs, j);
  return { h, c };
}

const cjNow = (s: Setup) => s.h.get<CronJob>("batch/v1", "cronjobs", "cj");
const created = (s: Setup) =>
  s.h.client.actions.filter((a) => a.verb === "create" && a.resource === "jobs").map((a) => a.object as Job);
const deleted = (s: Setup) => s.h.client.actions.filter((a) => a.verb === "delete" && a.resource === "jobs");
const ref = (j: Job) => ({
  kind: "Job",
  apiVersion: "batch/v1",
  namespace: NS,
  name: j.metadata.name,
  uid: j.metadata.uid,
});

t.test("the due schedule time makes one Job, recorded in status; requeued for the next", async (t) => {
  const s = setup(newCronJob());
  t.teardown(() => s.h.close());
  await s.c.sync(KEY);
  const [job] = created(s);
  t.equal(job?.metadata.name, `cj-${minute(T0)}`, "named by the minutes since the epoch");
  t.same(job?.metadata.labels, { app: "report" });
  t.equal(job?.metadata.annotations?.team, "a");
  t.equal(job?.metadata.annotations?.["batch.kubernetes.io/cronjob-scheduled-timestamp"], z(T0));
  t.equal(job?.metadata.ownerReferences?.[0]?.uid, "uid-cj");
  const cj = cjNow(s);
  t.equal(cj.status?.lastScheduleTime, z(T0));
  t.same(
    cj.status?.active?.map((r) => r.name),
    [`cj-${minute(T0)}`],
  );
  t.same(await s.h.reasons(), ["SuccessfulCreate"]);
  t.equal(s.c.queue.waitingLen(), 1);
  t.equal(s.h.clock.nextTimerAt(), T0 + 60_000 + 100, "requeued 100 ms after the next minute");

  // The same time again (the status write seen): no second Job.
  s.c.cronJobs.indexer.replace([cjNow(s)]);
  s.h.client.clearActions();
  await s.c.sync(KEY);
  t.equal(created(s).length, 0);
});

t.test("the scheduled-timestamp annotation is in spec.timeZone, and so is the schedule", async (t) => {
  // 12:00Z is 21:00 in Tokyo: "0 21 * * *" is due.
  const s = setup(newCronJob({ schedule: "0 21 * * *", timeZone: "Asia/Tokyo" }, {}, T0 - 3_600_000));
  t.teardown(() => s.h.close());
  await s.c.sync(KEY);
  t.equal(
    created(s)[0]?.metadata.annotations?.["batch.kubernetes.io/cronjob-scheduled-timestamp"],
    "2024-05-01T21:00:00+09:00",
  );
});

t.test("a CronJob followed over three minutes on the fake clock", async (t) => {
  const s = setup(newCronJob({ concurrencyPolicy: "Allow" }));
  t.teardown(() => s.h.close());
  await s.c.sync(KEY);
  for (let i = 1; i < 3; i++) {
    s.c.cronJobs.indexer.replace([cjNow(s)]);
    s.h.clock.setTime(s.h.clock.nextTimerAt() as number);
    t.equal(s.c.queue.len(), 1, `queued at ${z(s.h.clock.now())}`);
    await s.c.processNextWorkItem();
  }
  t.same(
    created(s).map((j) => j.metadata.name),
    [0, 1, 2].map((i) => `cj-${minute(T0) + i}`),
  );
  t.equal(cjNow(s).status?.active?.length, 3, "Allow: they run side by side");
});

t.test("Forbid skips while a Job runs; Replace deletes it first", async (t) => {
  const running = childJob("cj-old", { start: T0 - 60_000 });
  const old = { lastScheduleTime: z(T0 - 60_000), active: [ref(running)] };
  const forbid = setup(newCronJob({ concurrencyPolicy: "Forbid" }, old), [running]);
  t.teardown(() => forbid.h.close());
  await forbid.c.sync(KEY);
  t.equal(created(forbid).length, 0);
  t.same(await forbid.h.reasons(), ["JobAlreadyActive"]);
  t.equal(forbid.c.queue.waitingLen(), 1, "looks again at the next time");

  const replace = setup(newCronJob({ concurrencyPolicy: "Replace" }, old), [running]);
  t.teardown(() => replace.h.close());
  await replace.c.sync(KEY);
  t.same(
    deleted(replace).map((a) => [a.name, a.deleteOptions?.propagationPolicy]),
    [["cj-old", "Background"]],
  );
  t.equal(created(replace).length, 1);
  t.same(
    cjNow(replace).status?.active?.map((r) => r.name),
    [`cj-${minute(T0)}`],
  );
  t.same(await replace.h.reasons(), ["SuccessfulDelete", "SuccessfulCreate"]);
});

t.test("suspend: no Job and no requeue", async (t) => {
  const s = setup(newCronJob({ suspend: true }));
  t.teardown(() => s.h.close());
  await s.c.sync(KEY);
  t.equal(created(s).length, 0);
  t.equal(s.c.queue.waitingLen(), 0);
});

t.test("startingDeadlineSeconds: a time missed by more is skipped for the next one", async (t) => {
  const s = setup(newCronJob({ startingDeadlineSeconds: 10 }, { lastScheduleTime: z(T0 - 3_600_000) }), []);
  t.teardown(() => s.h.close());
  s.h.clock.setTime(T0 + 30_000);
  await s.c.sync(KEY);
  t.equal(created(s).length, 0, "12:00 is 30 s ago, beyond the 10 s deadline");
  t.equal(s.h.clock.nextTimerAt(), T0 + 60_000 + 100);
});

t.test("more than 100 missed times: TooManyMissedTimes, and the latest one is started", async (t) => {
  const s = setup(newCronJob({}, {}, T0 - 86_400_000));
  t.teardown(() => s.h.close());
  await s.c.sync(KEY);
  t.same(await s.h.reasons(), ["TooManyMissedTimes", "SuccessfulCreate"]);
  t.equal(created(s)[0]?.metadata.name, `cj-${minute(T0)}`);
});

t.test("finished Jobs leave the active list; lastSuccessfulTime; history limits", async (t) => {
  const done = childJob("cj-a", { finished: "Complete", start: T0 - 300_000, done: T0 - 240_000 });
  const s = setup(
    newCronJob(
      { successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 0, suspend: true },
      { active: [ref(done)], lastScheduleTime: z(T0 - 300_000) },
    ),
    [
      done,
      childJob("cj-b", { finished: "Complete", start: T0 - 200_000, done: T0 - 100_000 }),
      childJob("cj-c", { finished: "Failed", start: T0 - 100_000 }),
      childJob("cj-d", { start: T0 - 50_000 }),
    ],
  );
  t.teardown(() => s.h.close());
  s.h.client.tracker.add(childJob("cj-d", { start: T0 - 50_000 }));
  await s.c.sync(KEY);
  t.same(
    deleted(s)
      .map((a) => a.name)
      .sort(),
    ["cj-a", "cj-c"],
    "the oldest successful one beyond the limit of 1, and the failed one (limit 0)",
  );
  const cj = cjNow(s);
  t.same(cj.status?.active ?? [], []);
  t.equal(cj.status?.lastSuccessfulTime, z(T0 - 100_000));
  const reasons = await s.h.reasons();
  t.ok(reasons.includes("UnexpectedJob"), "cj-d runs but is not in the list");
});

t.test("an active Job that no longer exists is dropped (MissingJob)", async (t) => {
  const gone = childJob("cj-gone");
  const s = setup(newCronJob({ suspend: true }, { active: [ref(gone)] }));
  t.teardown(() => s.h.close());
  await s.c.sync(KEY);
  t.same(cjNow(s).status?.active ?? [], []);
  t.same(await s.h.reasons(), ["MissingJob"]);
});

t.test("a Job of the same name made before (status write lost) is taken into the list", async (t) => {
  const s = setup(newCronJob());
  t.teardown(() => s.h.close());
  s.h.client.tracker.add({ ...childJob(`cj-${minute(T0)}`) });
  await s.c.sync(KEY);
  t.same(
    cjNow(s).status?.active?.map((r) => r.name),
    [`cj-${minute(T0)}`],
  );
});

t.test("a schedule that never fires and an unknown zone are events, not retries", async (t) => {
  const never = setup(newCronJob({ schedule: "0 0 30 2 *" }));
  t.teardown(() => never.h.close());
  await never.c.sync(KEY);
  t.same(await never.h.reasons(), ["InvalidSchedule"]);
  t.equal(never.c.queue.waitingLen(), 0);

  const zone = setup(newCronJob({ timeZone: "Mars/Olympus" }));
  t.teardown(() => zone.h.close());
  await zone.c.sync(KEY);
  t.same(await zone.h.reasons(), ["UnknownTimeZone"]);
  t.equal(created(zone).length, 0);
});
