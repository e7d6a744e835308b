/**
 * The job controller's sync on fixture caches with a fake client (client-go's style, after
 * pkg/controller/job/job_controller_test.go): pod creation with expectations, counting through
 * the tracking finalizer, completion, back-off, backoffLimit, activeDeadlineSeconds, Indexed
 * Jobs, the pod failure policy, suspend, orphans and adoption.
 */
import type { Pod } from "@skiff/api";
import t from "tap";
import { OrderedIntervals } from "../../src/job/intervals.js";
import { JobController } from "../../src/job/job-controller.js";
import { matchSuccessPolicy } from "../../src/job/success-policy.js";
import { JOB_TRACKING_FINALIZER, type Job, type JobSpec } from "../../src/job/types.js";
import { type Harness, NS, newHarness, newJob, newPod, type PodOptions, T0 } from "./harness.js";

interface Setup {
  h: Harness;
  c: JobController;
  job: Job;
}

function setup(spec: Partial<JobSpec>, pods: [string, PodOptions][] = [], extra: Partial<Job> = {}): Setup {
  const h = newHarness({ jobSyncBatchPeriodMs: 0 });
  const c = new JobController(h.ctx);
  const job = h.seed(c.jobs, newJob("pi", spec, extra));
  for (const [name, o] of pods) h.seed(c.pods, newPod(job, name, o));
  return { h, c, job };
}

const jobNow = (s: Setup) => s.h.get<Job>("batch/v1", "jobs", "pi");
const podsNow = (s: Setup) => s.h.client.tracker.list("v1", "pods", NS) as Pod[];
const creates = (s: Setup) => s.h.client.actions.filter((a) => a.verb === "create" && a.resource === "pods");
const deletes = (s: Setup) => s.h.client.actions.filter((a) => a.verb === "delete" && a.resource === "pods");
const conditionTypes = (j: Job) => (j.status?.conditions ?? []).map((c) => `${c.type}:${c.reason ?? ""}`);

/** Puts the tracker's current Job and pods into the caches (what the informers would do). */
function resyncCaches(s: Setup): void {
  s.c.jobs.indexer.replace([jobNow(s)]);
  s.c.pods.indexer.replace(podsNow(s));
}

t.test("a new Job gets parallelism pods, each with the finalizer, and no more while expected", async (t) => {
  const s = setup({ parallelism: 2, completions: 5 });
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  const made = creates(s);
  t.equal(made.length, 2);
  const pod = made[0]?.object as Pod;
  t.equal(pod.metadata.generateName, "pi-");
  t.same(pod.metadata.finalizers, [JOB_TRACKING_FINALIZER]);
  t.equal(pod.metadata.ownerReferences?.[0]?.uid, "uid-pi");
  t.equal(pod.metadata.labels?.["batch.kubernetes.io/controller-uid"], "uid-pi");
  const job = jobNow(s);
  t.equal(job.status?.active, 2);
  t.equal(job.status?.ready, 0);
  t.equal(job.status?.terminating, 0);
  t.equal(job.status?.startTime, new Date(T0).toISOString().replace(".000", ""));
  t.same(job.status?.uncountedTerminatedPods, { succeeded: [], failed: [] });
  t.same(await s.h.reasons(), ["SuccessfulCreate", "SuccessfulCreate"]);

  // The cache has not seen the pods yet: the expectations hold the next sync back.
  s.c.jobs.indexer.replace([jobNow(s)]);
  s.h.client.clearActions();
  await s.c.sync(`${NS}/pi`);
  t.equal(creates(s).length, 0, "no second round of pods while the first is unseen");
});

t.test("finished pods are counted once: uncounted first, finalizers off, then the counters", async (t) => {
  const s = setup({ parallelism: 2, completions: 4 }, [
    ["a", { phase: "Succeeded" }],
    ["b", { phase: "Succeeded" }],
    ["c", { phase: "Running", ready: true }],
  ]);
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  const statusWrites = s.h.client.actions.filter((a) => a.resource === "jobs" && a.subresource === "status");
  t.same(
    statusWrites.map((a) => (a.object as Job).status?.uncountedTerminatedPods?.succeeded),
    [["uid-a", "uid-b"], []],
    "the uids are written before the finalizers go, and leave afterwards",
  );
  const job = jobNow(s);
  t.equal(job.status?.succeeded, 2);
  t.equal(job.status?.active, 2, "one running plus one new pod");
  t.equal(job.status?.ready, 1);
  t.equal(creates(s).length, 1);
  for (const p of podsNow(s).filter((p) => p.status?.phase === "Succeeded"))
    t.notOk(p.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER), `${p.metadata.name} lost its finalizer`);

  // The finalizer removal is not in the cache yet: the pods are not counted a second time.
  s.c.jobs.indexer.replace([jobNow(s)]);
  s.h.client.clearActions();
  await s.c.sync(`${NS}/pi`);
  t.equal(jobNow(s).status?.succeeded, 2);
});

t.test("a Job whose completions succeed gets SuccessCriteriaMet, then Complete", async (t) => {
  const s = setup({ parallelism: 2, completions: 2 }, [
    ["a", { phase: "Succeeded" }],
    ["b", { phase: "Succeeded" }],
  ]);
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  const job = jobNow(s);
  t.same(conditionTypes(job), ["SuccessCriteriaMet:CompletionsReached", "Complete:CompletionsReached"]);
  t.equal(job.status?.conditions?.[1]?.message, "Reached expected number of succeeded pods");
  t.ok(job.status?.completionTime);
  t.equal(job.status?.succeeded, 2);
  t.equal(creates(s).length, 0);
  t.same(await s.h.reasons(), ["Completed"]);
});

t.test("a failure delays the replacement by the back-off, then it is made", async (t) => {
  const s = setup({ parallelism: 1, completions: 1 }, [["a", { phase: "Failed", finishedAt: T0 }]]);
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  t.equal(creates(s).length, 0, "no replacement within the 10 s back-off");
  t.equal(jobNow(s).status?.failed, 1);
  t.equal(s.c.queue.waitingLen(), 1, "the Job is queued for when the back-off ends");

  resyncCaches(s);
  s.h.clock.step(10_000);
  t.equal(s.c.queue.len(), 1, "due now");
  s.h.client.clearActions();
  await s.c.processNextWorkItem();
  t.equal(creates(s).length, 1, "the replacement once the back-off passed");
});

t.test("the back-off doubles with consecutive failures and resets after a success", async (t) => {
  const s = setup({ parallelism: 1, completions: 2 }, [
    ["a", { phase: "Failed", finishedAt: T0 - 3000 }],
    ["b", { phase: "Failed", finishedAt: T0 - 2000 }],
    ["c", { phase: "Failed", finishedAt: T0 - 1000 }],
  ]);
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  const rec = s.c.backoffStore.get(`${NS}/pi`);
  t.equal(rec?.failuresAfterLastSuccess, 3);
  t.equal(rec?.lastFailureTime, T0 - 1000);
  t.equal(creates(s).length, 0);
  // 3 failures: 40 s after the last one.
  resyncCaches(s);
  s.h.clock.step(38_999);
  s.h.client.clearActions();
  await s.c.sync(`${NS}/pi`);
  t.equal(creates(s).length, 0, "still within 40 s");
  s.h.clock.step(1);
  await s.c.sync(`${NS}/pi`);
  t.equal(creates(s).length, 1, "made at 40 s");

  const after = s.c.backoffStore.newBackoffRecord(
    `${NS}/pi`,
    [newPod(s.job, "d", { phase: "Succeeded", finishedAt: T0 })],
    [],
  );
  t.equal(after.failuresAfterLastSuccess, 0, "a success resets the count");
});

t.test("more failures than backoffLimit fail the Job and delete its active pods", async (t) => {
  const s = setup({ parallelism: 2, completions: 4, backoffLimit: 1 }, [
    ["a", { phase: "Failed" }],
    ["b", { phase: "Failed" }],
    ["c", { phase: "Running" }],
  ]);
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  t.same(
    deletes(s).map((a) => a.name),
    ["c"],
  );
  let job = jobNow(s);
  t.same(
    conditionTypes(job),
    ["FailureTarget:BackoffLimitExceeded"],
    "terminal only once nothing terminates",
  );
  t.equal(job.status?.failed, 3, "the deleted active pod counts as failed");
  t.equal(job.status?.terminating, 1);

  resyncCaches(s);
  await s.c.sync(`${NS}/pi`);
  job = jobNow(s);
  t.same(conditionTypes(job), ["FailureTarget:BackoffLimitExceeded", "Failed:BackoffLimitExceeded"]);
  t.equal(job.status?.conditions?.[1]?.message, "Job has reached the specified backoff limit");
  t.notOk(job.status?.completionTime);
  t.ok((await s.h.reasons()).includes("BackoffLimitExceeded"));
  t.equal(podsNow(s).filter((p) => p.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)).length, 0);
});

t.test("activeDeadlineSeconds: requeued for the deadline, then DeadlineExceeded", async (t) => {
  const s = setup(
    { parallelism: 1, completions: 1, activeDeadlineSeconds: 30 },
    [["a", { phase: "Running" }]],
    {
      status: { startTime: new Date(T0).toISOString(), active: 1 },
    },
  );
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  t.equal(s.c.queue.waitingLen(), 1, "requeued for the deadline");
  resyncCaches(s);
  s.h.clock.step(30_000);
  await s.c.processNextWorkItem();
  t.same(
    deletes(s).map((a) => a.name),
    ["a"],
  );
  t.same(conditionTypes(jobNow(s)), ["FailureTarget:DeadlineExceeded"]);
  resyncCaches(s);
  await s.c.sync(`${NS}/pi`);
  t.same(conditionTypes(jobNow(s)), ["FailureTarget:DeadlineExceeded", "Failed:DeadlineExceeded"]);
});

t.test("Indexed: pods for the lowest pending indexes, with annotation, label, hostname, env", async (t) => {
  const s = setup({ parallelism: 2, completions: 4, completionMode: "Indexed" }, [
    ["pi-0", { phase: "Succeeded", index: 0 }],
    ["pi-2", { phase: "Running", index: 2 }],
  ]);
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  const made = creates(s).map((a) => a.object as Pod);
  t.equal(made.length, 1);
  const pod = made[0] as Pod;
  t.equal(pod.metadata.annotations?.["batch.kubernetes.io/job-completion-index"], "1");
  t.equal(pod.metadata.labels?.["batch.kubernetes.io/job-completion-index"], "1");
  t.equal(pod.metadata.generateName, "pi-1-");
  t.equal(pod.spec.hostname, "pi-1");
  t.same(pod.spec.containers[0]?.env, [
    {
      name: "JOB_COMPLETION_INDEX",
      valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']" } },
    },
  ]);
  const job = jobNow(s);
  t.equal(job.status?.completedIndexes, "0");
  t.equal(job.status?.succeeded, 1);
});

t.test("Indexed: completes when every index has succeeded; a duplicate index is deleted", async (t) => {
  const done = setup({ parallelism: 3, completions: 3, completionMode: "Indexed" }, [
    ["a", { phase: "Succeeded", index: 0 }],
    ["b", { phase: "Succeeded", index: 1 }],
    ["c", { phase: "Succeeded", index: 2 }],
  ]);
  t.teardown(() => done.h.close());
  await done.c.sync(`${NS}/pi`);
  t.equal(jobNow(done).status?.completedIndexes, "0-2");
  t.same(conditionTypes(jobNow(done)), [
    "SuccessCriteriaMet:CompletionsReached",
    "Complete:CompletionsReached",
  ]);

  const dup = setup({ parallelism: 2, completions: 2, completionMode: "Indexed" }, [
    ["x", { phase: "Running", index: 0, ready: true }],
    ["y", { phase: "Running", index: 0 }],
    ["z", { phase: "Running", index: 1 }],
  ]);
  t.teardown(() => dup.h.close());
  await dup.c.sync(`${NS}/pi`);
  t.same(
    deletes(dup).map((a) => a.name),
    ["y"],
    "the less advanced of the two pods of index 0",
  );
  t.equal(creates(dup).length, 0, "deletion and creation never in one sync");
});

t.test("pod failure policy: FailJob on an exit code fails the Job with its message", async (t) => {
  const s = setup(
    {
      parallelism: 1,
      completions: 2,
      podFailurePolicy: { rules: [{ action: "FailJob", onExitCodes: { operator: "In", values: [42] } }] },
    },
    [["a", { phase: "Failed", exitCode: 42 }]],
  );
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  const job = jobNow(s);
  t.same(conditionTypes(job), ["FailureTarget:PodFailurePolicy", "Failed:PodFailurePolicy"]);
  t.equal(
    job.status?.conditions?.[1]?.message,
    "Container main for pod ns/a failed with exit code 42 matching FailJob rule at index 0",
  );
});

t.test("pod failure policy: Ignore does not count the failure (the back-off still applies)", async (t) => {
  const s = setup(
    {
      parallelism: 1,
      completions: 1,
      backoffLimit: 0,
      podFailurePolicy: {
        rules: [{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] }],
      },
    },
    [["a", { phase: "Failed", conditions: [{ type: "DisruptionTarget", status: "True" }] }]],
  );
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  const job = jobNow(s);
  t.equal(job.status?.failed ?? 0, 0, "not counted");
  t.same(conditionTypes(job), []);
  t.notOk(
    podsNow(s)
      .find((p) => p.metadata.name === "a")
      ?.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER),
  );
  // kube's newBackoffRecord takes every new failed pod, ignored or not.
  t.equal(creates(s).length, 0, "replaced after the back-off");
  resyncCaches(s);
  s.h.clock.step(10_000);
  await s.c.sync(`${NS}/pi`);
  t.equal(creates(s).length, 1, "replaced");
  t.same(conditionTypes(jobNow(s)), [], "backoffLimit 0 is not exceeded");
});

t.test(
  "pod failure policy: Count counts; FailIndex fails only the index (backoffLimitPerIndex)",
  async (t) => {
    const s = setup(
      {
        parallelism: 2,
        completions: 2,
        completionMode: "Indexed",
        backoffLimitPerIndex: 1,
        backoffLimit: 2147483647,
        podFailurePolicy: { rules: [{ action: "FailIndex", onExitCodes: { operator: "In", values: [3] } }] },
      },
      [
        ["a", { phase: "Failed", exitCode: 3, index: 0 }],
        ["b", { phase: "Running", index: 1 }],
      ],
    );
    t.teardown(() => s.h.close());
    await s.c.sync(`${NS}/pi`);
    const job = jobNow(s);
    t.equal(job.status?.failedIndexes, "0");
    t.equal(creates(s).length, 0, "a failed index is not retried");
    t.same(conditionTypes(job), []);
  },
);

t.test("suspend deletes the active pods; resume restarts the clock", async (t) => {
  const s = setup({ parallelism: 2, completions: 2, suspend: true }, [["a", { phase: "Running" }]], {
    status: { startTime: new Date(T0 - 60_000).toISOString() },
  });
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  t.same(
    deletes(s).map((a) => a.name),
    ["a"],
  );
  t.same(conditionTypes(jobNow(s)), ["Suspended:JobSuspended"]);
  t.equal(jobNow(s).status?.active, 0);

  const resumed = jobNow(s);
  resumed.spec.suspend = false;
  s.h.client.tracker.add(resumed);
  resyncCaches(s);
  s.c.expectations.deleteExpectations(`${NS}/pi`);
  s.h.clock.step(5000);
  s.h.client.clearActions();
  await s.c.sync(`${NS}/pi`);
  const job = jobNow(s);
  t.equal(job.status?.conditions?.[0]?.status, "False");
  t.equal(job.status?.conditions?.[0]?.reason, "JobResumed");
  t.equal(job.status?.startTime, new Date(T0 + 5000).toISOString().replace(".000", ""));
  t.equal(creates(s).length, 2);
  t.same(await s.h.reasons(), [
    "SuccessfulDelete",
    "Suspended",
    "SuccessfulCreate",
    "SuccessfulCreate",
    "Resumed",
  ]);
});

t.test("an orphan pod with the finalizer loses it; a matching orphan is adopted", async (t) => {
  const s = setup({ parallelism: 1, completions: 1 }, [["orphan", { owned: false, finalizer: false }]]);
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  const adopt = s.h.client.actions.find((a) => a.verb === "patch" && a.name === "orphan");
  t.same(adopt?.patch, {
    metadata: {
      ownerReferences: [
        {
          apiVersion: "batch/v1",
          kind: "Job",
          name: "pi",
          uid: "uid-pi",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      uid: "uid-orphan",
      finalizers: [JOB_TRACKING_FINALIZER],
    },
  });
  t.equal(creates(s).length, 0, "the adopted pod is the one the Job wanted");

  const stray = newPod(s.job, "stray", { owned: false, phase: "Succeeded" });
  s.h.seed(s.c.pods, stray);
  await s.c.syncOrphanPod(`${NS}/stray`);
  t.same(s.h.get<Pod>("v1", "pods", "stray").metadata.finalizers ?? [], []);
});

t.test("a failed create lowers the expectations, records FailedCreate and retries", async (t) => {
  const s = setup({ parallelism: 3, completions: 3 });
  t.teardown(() => s.h.close());
  s.h.client.prependReactor("create", "pods", () => ({ handled: true, error: new Error("quota exceeded") }));
  await t.rejects(s.c.sync(`${NS}/pi`), /quota exceeded/);
  t.equal(creates(s).length, 1, "slow start: one try, not three");
  t.ok(s.c.expectations.satisfiedExpectations(`${NS}/pi`), "nothing left expected");
  t.equal(jobNow(s).status?.active, 0);
  t.same(await s.h.reasons(), ["FailedCreate"]);
});

t.test("a Job managed by another controller is left alone", async (t) => {
  const s = setup({ managedBy: "example.com/other" });
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  t.same(s.h.client.writes(), []);
});

t.test("restartPolicy OnFailure: container restarts count towards backoffLimit", async (t) => {
  const s = setup(
    {
      backoffLimit: 2,
      template: {
        ...newJob("pi").spec.template,
        spec: { restartPolicy: "OnFailure", containers: [{ name: "main" }] },
      },
    },
    [["a", { phase: "Running", restartCount: 2 }]],
  );
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  t.same(conditionTypes(jobNow(s)), ["FailureTarget:BackoffLimitExceeded"]);
});

t.test("a deleted Job's expectations and back-off are forgotten", async (t) => {
  const s = setup({}, [["a", { phase: "Failed" }]]);
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  t.ok(s.c.backoffStore.get(`${NS}/pi`));
  s.c.jobs.indexer.replace([]);
  await s.c.sync(`${NS}/pi`);
  t.equal(s.c.backoffStore.get(`${NS}/pi`), undefined);
});

t.test("pod failure policy: a Count rule counts, the first matching rule wins", async (t) => {
  const s = setup(
    {
      parallelism: 1,
      completions: 1,
      backoffLimit: 0,
      podFailurePolicy: {
        rules: [
          { action: "Count", onExitCodes: { operator: "In", values: [5] } },
          { action: "Ignore", onExitCodes: { operator: "NotIn", values: [0] } },
        ],
      },
    },
    [["a", { phase: "Failed", exitCode: 5 }]],
  );
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  const job = jobNow(s);
  t.equal(job.status?.failed, 1);
  t.same(conditionTypes(job), ["FailureTarget:BackoffLimitExceeded", "Failed:BackoffLimitExceeded"]);
});

t.test("completed indexes as intervals, and the success policy", async (t) => {
  const parsed = OrderedIntervals.parse("0,2-4,5,7,9-20", 12);
  t.equal(parsed.toString(), "0,2-5,7,9-11", "adjacent joined, cut at completions");
  t.equal(parsed.total(), 1 + 4 + 1 + 3);
  t.ok(parsed.has(3));
  t.notOk(parsed.has(6));
  t.equal(new OrderedIntervals().withOrderedIndexes([1, 2]).toString(), "1,2", "two adjacent are a list");
  t.equal(parsed.withOrderedIndexes([1, 6, 8]).toString(), "0-11");
  t.equal(OrderedIntervals.parse("x,3", 5).toString(), "3", "a malformed part is skipped");

  const done = OrderedIntervals.parse("0-2,5", 10);
  t.same(matchSuccessPolicy({ rules: [{ succeededIndexes: "0,1" }] }, 10, done), [
    "Matched rules at index 0",
    true,
  ]);
  t.same(matchSuccessPolicy({ rules: [{ succeededIndexes: "4-6" }] }, 10, done), ["", false]);
  t.same(
    matchSuccessPolicy(
      { rules: [{ succeededIndexes: "4-6" }, { succeededIndexes: "3-6", succeededCount: 1 }] },
      10,
      done,
    ),
    ["Matched rules at index 1", true],
  );
  t.same(matchSuccessPolicy({ rules: [{ succeededCount: 4 }] }, 10, done), [
    "Matched rules at index 0",
    true,
  ]);
  t.same(matchSuccessPolicy({ rules: [{ succeededCount: 5 }] }, 10, done), ["", false]);
});

t.test("Indexed with a success policy: SuccessCriteriaMet, the rest deleted, then Complete", async (t) => {
  const s = setup(
    {
      parallelism: 3,
      completions: 3,
      completionMode: "Indexed",
      successPolicy: { rules: [{ succeededIndexes: "0" }] },
    },
    [
      ["a", { phase: "Succeeded", index: 0 }],
      ["b", { phase: "Running", index: 1 }],
    ],
  );
  t.teardown(() => s.h.close());
  await s.c.sync(`${NS}/pi`);
  t.same(
    deletes(s).map((a) => a.name),
    ["b"],
  );
  t.same(conditionTypes(jobNow(s)), ["SuccessCriteriaMet:SuccessPolicy"]);
  resyncCaches(s);
  await s.c.sync(`${NS}/pi`);
  t.same(conditionTypes(jobNow(s)), ["SuccessCriteriaMet:SuccessPolicy", "Complete:SuccessPolicy"]);
});
