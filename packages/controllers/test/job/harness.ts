/**
 * Fixtures for the batch controllers' unit tests (client-go's style): a FakeClient, a FakeClock,
 * a context whose events are kept in a list, and Job and Pod objects added to both the fake
 * client's tracker and an informer's cache, so that sync(key) reads the cache and writes the
 * tracker.
 */
import type { KubeObject, Pod } from "@skiff/api";
import type { CoreEvent, FakeClient, FakeClock, Informer } from "@skiff/client";
import type { ControllerManagerConfig } from "../../src/config.js";
import type { ControllerContext } from "../../src/context.js";
import {
  CONTROLLER_UID_LABEL,
  JOB_NAME_LABEL,
  JOB_TRACKING_FINALIZER,
  type Job,
  type JobSpec,
} from "../../src/job/types.js";
import { newFakeContext } from "../fake-context.js";

export const T0 = Date.parse("2024-05-01T12:00:00Z");
export const NS = "ns";

export interface Harness {
  clock: FakeClock;
  client: FakeClient;
  events: CoreEvent[];
  ctx: ControllerContext;
  /** Adds to the tracker and to the cache; returns the tracker's copy. */
  seed<T extends KubeObject>(informer: Informer<T>, obj: T): T;
  /** The tracker's current object. */
  get<T extends KubeObject>(apiVersion: string, resource: string, name: string): T;
  /** Writes queued events (the broadcaster is asynchronous). */
  flushEvents(): Promise<CoreEvent[]>;
  reasons(): Promise<string[]>;
  close(): Promise<void>;
}

export function newHarness(config: Partial<ControllerManagerConfig> = {}, start = T0): Harness {
  const { clock, client, broadcaster, ctx, events } = newFakeContext({ start, config, recordPatches: false });
  const h: Harness = {
    clock,
    client,
    events,
    ctx,
    seed(informer, obj) {
      const stored = client.tracker.add(obj) as typeof obj;
      informer.indexer.add(stored);
      return stored;
    },
    get: (apiVersion, resource, name) => client.tracker.get(apiVersion, resource, NS, name) as never,
    async flushEvents() {
      await broadcaster.flush();
      return events;
    },
    async reasons() {
      await broadcaster.flush();
      return events.map((e) => e.reason ?? "");
    },
    close: () => broadcaster.shutdown(),
  };
  return h;
}

/** A Job as the API server stores it after defaulting (selector generated from the uid). */
export function newJob(name: string, spec: Partial<JobSpec> = {}, extra: Partial<Job> = {}): Job {
  const uid = `uid-${name}`;
  const labels = { [CONTROLLER_UID_LABEL]: uid, [JOB_NAME_LABEL]: name };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: NS, uid, generation: 1, creationTimestamp: new Date(T0).toISOString() },
    spec: {
      parallelism: 1,
      completions: 1,
      backoffLimit: 6,
      completionMode: "NonIndexed",
      suspend: false,
      podReplacementPolicy: spec.podFailurePolicy === undefined ? "TerminatingOrFailed" : "Failed",
      selector: { matchLabels: { [CONTROLLER_UID_LABEL]: uid } },
      template: {
        metadata: { labels },
        spec: { restartPolicy: "Never", containers: [{ name: "main", image: "busybox" }] },
      },
      ...spec,
    },
    ...extra,
  };
}

export interface PodOptions {
  phase?: "Pending" | "Running" | "Succeeded" | "Failed";
  ready?: boolean;
  /** When its container finished (terminal pods); default: the clock's start. */
  finishedAt?: number;
  exitCode?: number;
  index?: number;
  finalizer?: boolean;
  deleted?: boolean;
  owned?: boolean;
  conditions?: { type: string; status: "True" | "False" }[];
  restartCount?: number;
  annotations?: Record<string, string>;
}

/** A pod of the Job, with the tracking finalizer unless told otherwise. */
export function newPod(job: Job, name: string, o: PodOptions = {}): Pod {
  const phase = o.phase ?? "Running";
  const terminal = phase === "Succeeded" || phase === "Failed";
  const at = new Date(o.finishedAt ?? T0).toISOString();
  const annotations: Record<string, string> = { ...o.annotations };
  const labels = { ...job.spec.template.metadata?.labels };
  if (o.index !== undefined) {
    annotations["batch.kubernetes.io/job-completion-index"] = String(o.index);
    labels["batch.kubernetes.io/job-completion-index"] = String(o.index);
  }
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${name}`,
      labels,
      annotations,
      creationTimestamp: new Date(T0).toISOString(),
      ...(o.finalizer === false ? {} : { finalizers: [JOB_TRACKING_FINALIZER] }),
      ...(o.owned === false
        ? {}
        : {
            ownerReferences: [
              {
                apiVersion: "batch/v1",
                kind: "Job",
                name: job.metadata.name,
                uid: job.metadata.uid as string,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }),
      ...(o.deleted === true ? { deletionTimestamp: at, deletionGracePeriodSeconds: 0 } : {}),
    },
    spec: { nodeName: "node-1", containers: [{ name: "main", image: "busybox" }] },
    status: {
      phase,
      conditions: [
        { type: "Ready", status: o.ready === true ? "True" : "False", lastTransitionTime: at },
        ...(o.conditions ?? []),
      ],
      containerStatuses: [
        {
          name: "main",
          restartCount: o.restartCount ?? 0,
          state: terminal
            ? { terminated: { exitCode: o.exitCode ?? (phase === "Succeeded" ? 0 : 1), finishedAt: at } }
            : { running: { startedAt: at } },
        },
      ],
    },
  };
  return pod;
}
