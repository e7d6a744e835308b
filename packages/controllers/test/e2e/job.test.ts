/**
 * Jobs, CronJobs and TTL on a real API server with hollow nodes and the scheduler. Hollow pods
 * "exit" through the hollow.skiff.dev/exit-after-ms and exit-code annotations; the pod failure
 * back-off is shortened through the configuration. A watcher checks that a Job never runs more
 * pods at once than its parallelism.
 */
import type { Pod } from "@skiff/api";
import { isNotFound } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { cronJobControllerDescriptor } from "../../src/cronjob/index.js";
import type { CronJob } from "../../src/cronjob/types.js";
import { jobControllerDescriptor } from "../../src/job/index.js";
import type { Job, JobSpec } from "../../src/job/types.js";
import { ttlAfterFinishedControllerDescriptor } from "../../src/ttlafterfinished/index.js";
import { startCluster } from "./cluster.js";

const NS = "batch";
const c = await startCluster({
  nodes: 2,
  controllers: [jobControllerDescriptor, cronJobControllerDescriptor, ttlAfterFinishedControllerDescriptor],
  config: { jobPodFailureBackoffMs: 200, jobPodFailureBackoffMaxMs: 1_000, jobSyncBatchPeriodMs: 50 },
});
t.teardown(() => c.stop());
await c.namespace(NS);

const jobs = c.client.resource<Job>("batch/v1", "jobs", NS);
const pods = c.client.resource<Pod>("v1", "pods", NS);

/** A Job whose pods exit `exitCode` after `ms`. */
function newJob(name: string, spec: Partial<JobSpec>, exitCode = 0, ms = 300): Job {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: NS },
    spec: {
      template: {
        metadata: {
          annotations: {
            "hollow.skiff.dev/exit-after-ms": String(ms),
            "hollow.skiff.dev/exit-code": String(exitCode),
          },
        },
        spec: { restartPolicy: "Never", containers: [{ name: "work", image: "busybox" }] },
      },
      ...spec,
    },
  };
}

const condition = (j: Job, type: string) =>
  j.status?.conditions?.find((x) => x.type === type && x.status === "True");
const finished = (name: string, type: "Complete" | "Failed") =>
  waitFor(
    async () => {
      const j = await jobs.get(name);
      return condition(j, type) === undefined ? undefined : j;
    },
    { what: `Job ${name} ${type}`, timeoutMs: 40_000 },
  );
const podsOf = async (job: Job) =>
  (await pods.list({ labelSelector: `batch.kubernetes.io/controller-uid=${job.metadata.uid}` })).items;

t.test("completions 3, parallelism 2: three pods succeed, never more than two at once", async (t) => {
  const running = new Map<string, boolean>();
  let most = 0;
  const w = pods.watch({
    resourceVersion: "0",
    labelSelector: "batch.kubernetes.io/job-name=three",
    onEvent: (e) => {
      if (e.type === "BOOKMARK" || e.type === "ERROR") return;
      const p = e.object;
      const active =
        e.type !== "DELETED" &&
        p.metadata.deletionTimestamp === undefined &&
        p.status?.phase !== "Succeeded" &&
        p.status?.phase !== "Failed";
      running.set(p.metadata.uid ?? "", active);
      most = Math.max(most, [...running.values()].filter(Boolean).length);
    },
  });
  t.teardown(() => w.stop());
  await jobs.create(newJob("three", { completions: 3, parallelism: 2 }));
  const job = await finished("three", "Complete");
  t.equal(job.status?.succeeded, 3);
  t.equal(job.status?.active ?? 0, 0);
  t.ok(job.status?.completionTime);
  t.same(
    job.status?.conditions?.map((x) => x.type),
    ["SuccessCriteriaMet", "Complete"],
  );
  t.equal(job.spec.template.metadata?.labels?.["batch.kubernetes.io/job-name"], "three", "labels generated");
  const list = await podsOf(job);
  t.equal(list.length, 3);
  for (const p of list) {
    t.equal(p.status?.phase, "Succeeded");
    t.same(p.metadata.finalizers ?? [], [], `${p.metadata.name} was counted and released`);
  }
  t.ok(most <= 2, `at most 2 pods ran at once (saw ${most})`);
});

t.test("a failing Job is retried after back-off until BackoffLimitExceeded", async (t) => {
  await jobs.create(newJob("flaky", { completions: 1, parallelism: 1, backoffLimit: 2 }, 1, 50));
  const job = await finished("flaky", "Failed");
  t.equal(condition(job, "Failed")?.reason, "BackoffLimitExceeded");
  t.equal(job.status?.failed, 3, "backoffLimit 2: the third failure ends it");
  const list = await podsOf(job);
  t.equal(list.length, 3, "one pod per try");
  t.ok(
    list.every((p) => p.status?.phase === "Failed"),
    "every try failed",
  );
});

t.test("an Indexed Job runs each index once and completes", async (t) => {
  await jobs.create(newJob("indexed", { completions: 3, parallelism: 3, completionMode: "Indexed" }));
  const job = await finished("indexed", "Complete");
  t.equal(job.status?.completedIndexes, "0-2");
  const list = await podsOf(job);
  t.same(list.map((p) => p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"]).sort(), [
    "0",
    "1",
    "2",
  ]);
  t.same(list.map((p) => p.spec.hostname).sort(), ["indexed-0", "indexed-1", "indexed-2"]);
});

t.test("a finished Job with ttlSecondsAfterFinished 0 is deleted", async (t) => {
  await jobs.create(newJob("short-lived", { ttlSecondsAfterFinished: 0 }));
  // Foreground deletion: without the garbage collector running here, the Job keeps its
  // foregroundDeletion finalizer; the TTL controller's part is the delete itself.
  const state = await waitFor(
    async () => {
      try {
        const j = await jobs.get("short-lived");
        if (j.metadata.deletionTimestamp === undefined) return undefined;
        t.ok(condition(j, "Complete"), "deleted once finished");
        return j.metadata.finalizers?.includes("foregroundDeletion") === true
          ? "deleting (foreground)"
          : "deleting";
      } catch (e) {
        if (isNotFound(e)) return "gone";
        throw e;
      }
    },
    { what: "the Job deleted after its TTL", timeoutMs: 40_000 },
  );
  t.not(state, "deleting", "a foreground delete (or already gone)");
});

t.test("a CronJob (@every 1s) starts a Job that runs to completion", async (t) => {
  const cronJobs = c.client.resource<CronJob>("batch/v1", "cronjobs", NS);
  await cronJobs.create({
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "tick", namespace: NS },
    spec: {
      schedule: "@every 1s",
      concurrencyPolicy: "Forbid",
      jobTemplate: { spec: newJob("unused", {}, 0, 100).spec },
    },
  });
  const cj = await waitFor(
    async () => {
      const x = await cronJobs.get("tick");
      return x.status?.lastSuccessfulTime === undefined ? undefined : x;
    },
    { what: "a Job of the CronJob succeeded", timeoutMs: 40_000 },
  );
  const made = (await jobs.list()).items.filter(
    (j) => j.metadata.ownerReferences?.[0]?.uid === cj.metadata.uid,
  );
  t.ok(made.length >= 1, "a Job owned by the CronJob");
  t.match(made[0]?.metadata.name, /^tick-\d+$/, "named by the minute of its schedule time");
  t.ok(made[0]?.metadata.annotations?.["batch.kubernetes.io/cronjob-scheduled-timestamp"]);
  t.ok(cj.status?.lastScheduleTime);
  await cronJobs.delete("tick");
});
