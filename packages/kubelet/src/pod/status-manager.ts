/**
 * The kubelet's status manager (pkg/kubelet/status/status_manager.go): the pod workers hand it
 * the status they computed; it keeps the last one per pod, carries lastTransitionTime over for
 * conditions whose status did not change, and writes to the API only when something changed, as
 * a strategic merge patch on pods/status that carries metadata.uid as a precondition. It reads
 * the pod first and never writes to a pod whose uid is not the one the status is for (a pod
 * deleted and recreated under the same name). A failed write is retried with back-off. When the
 * pod is being deleted and the pod workers say nothing of it is left on the node, it deletes the
 * pod object with gracePeriodSeconds 0 and a uid precondition, as kube's canBeDeleted path does.
 */
import type { Pod, PodCondition } from "@skiff/api";
import { type ClientInterface, type Clock, isNotFound, realClock, type TimerHandle } from "@skiff/client";
import type { KubeletPodStatus } from "../api-types.js";
import { KUBELET_CONDITIONS } from "./conditions.js";
import { rfc3339 } from "./status.js";
import { podStatusPatch } from "./status-patch.js";

export interface StatusManagerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface StatusManagerOptions {
  client: ClientInterface;
  clock?: Clock;
  logger?: StatusManagerLogger;
  /** First retry delay after a failed write (doubles up to retryMaxMs). Default 500 ms. */
  retryInitialMs?: number;
  /** Default 10 s (kube's status sync period). */
  retryMaxMs?: number;
}

interface Entry {
  uid: string;
  namespace: string;
  name: string;
  status: KubeletPodStatus;
  version: number;
  written: number;
  syncing: boolean;
  again: boolean;
  retryMs: number;
  timer?: TimerHandle;
}

const silent: StatusManagerLogger = { info() {}, warn() {}, debug() {} };

export class StatusManager {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly log: StatusManagerLogger;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private canBeDeleted: (uid: string) => boolean = () => false;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly opts: StatusManagerOptions) {
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger ?? silent;
    this.retryInitialMs = opts.retryInitialMs ?? 500;
    this.retryMaxMs = opts.retryMaxMs ?? 10_000;
  }

  /** kube's PodDeletionSafetyProvider: whether nothing of the pod is left on the node. */
  setPodDeletionSafety(fn: (uid: string) => boolean): void {
    this.canBeDeleted = fn;
  }

  getPodStatus(uid: string): KubeletPodStatus | undefined {
    return this.entries.get(uid)?.status;
  }

  /** Records the pod's new status (SetPodStatus); writes it if it differs from the last one. */
  setPodStatus(pod: Pod, status: KubeletPodStatus): void {
    const uid = pod.metadata.uid ?? "";
    const prev = this.entries.get(uid);
    const oldStatus = prev?.status ?? (pod.status as KubeletPodStatus | undefined);
    const next = structuredClone(status);
    next.conditions = next.conditions.map((c) =>
      withTransitionTime(c, oldStatus?.conditions, this.clock.now()),
    );
    if (oldStatus?.startTime !== undefined) next.startTime = oldStatus.startTime;
    if (prev !== undefined && JSON.stringify(prev.status) === JSON.stringify(next)) return;
    const e: Entry = prev ?? {
      uid,
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      status: next,
      version: 0,
      written: 0,
      syncing: false,
      again: false,
      retryMs: this.retryInitialMs,
    };
    e.status = next;
    e.version++;
    this.entries.set(uid, e);
    this.sync(e);
  }

  /** Runs the pod's sync again (e.g. once its resources are reclaimed, to delete it). */
  requestSync(uid: string): void {
    const e = this.entries.get(uid);
    if (e !== undefined) this.sync(e);
  }

  /** Forgets a pod (RemoveOrphanedStatuses / the pod is gone). */
  forget(uid: string): void {
    const e = this.entries.get(uid);
    if (e?.timer !== undefined) this.clock.clearTimeout(e.timer);
    this.entries.delete(uid);
  }

  /** Resolves once no write is in flight (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) if (e.timer !== undefined) this.clock.clearTimeout(e.timer);
  }

  private sync(e: Entry): void {
    if (this.stopped) return;
    if (e.syncing) {
      e.again = true;
      return;
    }
    if (e.timer !== undefined) {
      this.clock.clearTimeout(e.timer);
      delete e.timer;
    }
    e.syncing = true;
    const p = this.syncPod(e)
      .then(
        () => {
          e.retryMs = this.retryInitialMs;
        },
        (err) => {
          this.log.warn(
            { pod: `${e.namespace}/${e.name}`, uid: e.uid, err: String(err) },
            "status write failed",
          );
          if (this.entries.get(e.uid) === e && !this.stopped) {
            e.timer = this.clock.setTimeout(() => this.sync(e), e.retryMs);
            e.retryMs = Math.min(e.retryMs * 2, this.retryMaxMs);
          }
        },
      )
      .finally(() => {
        e.syncing = false;
        this.inFlight.delete(p);
        if (e.again) {
          e.again = false;
          if (this.entries.get(e.uid) === e) this.sync(e);
        }
      });
    this.inFlight.add(p);
  }

  private async syncPod(e: Entry): Promise<void> {
    const pods = this.opts.client.resource<Pod>("v1", "pods", e.namespace);
    let pod: Pod;
    try {
      pod = await pods.get(e.name);
    } catch (err) {
      if (isNotFound(err)) {
        this.log.debug({ pod: `${e.namespace}/${e.name}`, uid: e.uid }, "pod not found; status not written");
        return;
      }
      throw err;
    }
    if (pod.metadata.uid !== e.uid) {
      this.log.info({ pod: `${e.namespace}/${e.name}`, uid: e.uid }, "pod was recreated; status not written");
      return;
    }
    if (e.written < e.version) {
      const version = e.version;
      const apiStatus = (pod.status ?? {}) as Record<string, unknown>;
      const merged = mergePodStatus(apiStatus, e.status);
      const patch = podStatusPatch(e.uid, apiStatus, merged as unknown as Record<string, unknown>);
      if (patch !== undefined) {
        pod = await pods.patch(e.name, patch, "strategic", { subresource: "status" });
        this.log.debug(
          { pod: `${e.namespace}/${e.name}`, uid: e.uid, phase: e.status.phase },
          "status written",
        );
      }
      e.written = Math.max(e.written, version);
    }
    if (pod.metadata.deletionTimestamp !== undefined && this.canBeDeleted(e.uid)) {
      await pods.delete(e.name, { gracePeriodSeconds: 0, preconditions: { uid: e.uid } }).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
      this.log.info({ pod: `${e.namespace}/${e.name}`, uid: e.uid }, "pod deleted from the API");
      this.forget(e.uid);
    }
  }
}

/**
 * mergePodStatus: the kubelet's own conditions over the API's others (PodScheduled,
 * DisruptionTarget ... as their writers last set them), and the fields only the API server or
 * the scheduler set left as they are.
 */
function mergePodStatus(apiStatus: Record<string, unknown>, status: KubeletPodStatus): KubeletPodStatus {
  const theirs = ((apiStatus.conditions as PodCondition[] | undefined) ?? []).filter(
    (c) => !KUBELET_CONDITIONS.has(c.type),
  );
  const out = {
    ...status,
    conditions: [...theirs, ...status.conditions.filter((c) => KUBELET_CONDITIONS.has(c.type))],
  };
  for (const k of ["nominatedNodeName", "resize", "resourceClaimStatuses"]) {
    if (apiStatus[k] !== undefined) (out as Record<string, unknown>)[k] = apiStatus[k];
  }
  return out;
}

/** updateLastTransitionTime: kept while the condition's status stays the same. */
function withTransitionTime(
  c: PodCondition,
  old: readonly PodCondition[] | undefined,
  now: number,
): PodCondition {
  const prev = old?.find((o) => o.type === c.type);
  const lastTransitionTime =
    prev !== undefined && prev.status === c.status && prev.lastTransitionTime !== undefined
      ? prev.lastTransitionTime
      : c.lastTransitionTime !== undefined && prev === undefined
        ? c.lastTransitionTime
        : rfc3339(now);
  return { ...c, lastProbeTime: null, lastTransitionTime };
}
