/**
 * The pods of every hollow node, from one informer over all pods bound to any node
 * (fieldSelector spec.nodeName!=) dispatched to the hollow node by name, rather than 5,000 watches
 * (one per kubelet, spec.nodeName=<name>, as upstream). A pod bound to a hollow node is made
 * Running and Ready with a pod IP from the node's CIDR and no containers; a pod marked for deletion
 * is deleted for good (grace 0, uid precondition: what the kubelet's status manager does once the
 * containers are stopped); a pod bound elsewhere is left alone. Level-triggered: sync(key) reads
 * the pod from the informer and takes one step; events only say which key to look at.
 */
import type { Pod } from "@skiff/api";
import { Informer, isConflict, isNotFound, type KubeClient, keyOf, type ResourceClient } from "@skiff/client";
import type { Logger } from "@skiff/component-base";
import type { Clock } from "./clock.js";
import type { HollowNode } from "./hollow-node.js";
import { PodIPAllocator } from "./ipam.js";
import { LimiterClosed, type RequestLimiter } from "./limiter.js";
import type { HollowMetrics } from "./metrics.js";
import {
  exitPlan,
  isRunningAndReady,
  isTerminal,
  runningStatusPatch,
  terminatedStatusPatch,
} from "./pod-status.js";
import { WorkQueue } from "./workqueue.js";

/** A pod a hollow node "runs": the IP it holds and when it started. */
interface PodRecord {
  uid: string;
  node: HollowNode;
  ip: string;
  /** Whether the IP is the node's allocator's to release (not a host-network pod's node IP). */
  owned: boolean;
  startedAt: number;
}

export interface PodWorkerOptions {
  /** Pods synced at once (their writes also wait for the limiter). */
  workers: number;
}

export class PodWorker {
  private readonly informer: Informer<Pod>;
  private readonly queue: WorkQueue;
  private readonly records = new Map<string, PodRecord>();
  private readonly byNamespace = new Map<string, ResourceClient<Pod>>();

  constructor(
    private readonly nodes: ReadonlyMap<string, HollowNode>,
    private readonly client: KubeClient,
    private readonly limiter: RequestLimiter,
    private readonly clock: Clock,
    log: Logger,
    private readonly metrics: HollowMetrics,
    o: PodWorkerOptions,
  ) {
    this.queue = new WorkQueue((key) => this.sync(key), {
      workers: o.workers,
      clock,
      onError: (key, e, retries) => {
        if (e instanceof LimiterClosed) return;
        metrics.queueRetries.inc({ name: "hollow-node-pods" });
        // The first failure is worth a line; later ones of the same pod only at debug.
        (retries === 1 ? log.warn : log.debug).call(
          log,
          { pod: key, retries, err: String(e) },
          "pod sync failed",
        );
      },
    });
    this.informer = new Informer<Pod>(client.resource<Pod>("v1", "pods"), {
      fieldSelector: "spec.nodeName!=",
      onAdd: (pod) => this.enqueue(pod),
      onUpdate: (_old, pod) => this.enqueue(pod),
      onDelete: (pod) => this.forget(keyOf(pod), pod.metadata.uid),
      onError: (e) => log.warn({ err: String(e) }, "pod informer"),
    });
  }

  /** Pods holding an IP of a hollow node. */
  get running(): number {
    return this.records.size;
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  start(): void {
    this.informer.start();
  }

  waitForSync(): Promise<boolean> {
    return this.informer.waitForSync();
  }

  hasSynced(): boolean {
    return this.informer.hasSynced();
  }

  /** Stops the informer and the queue; resolves once no sync is running. */
  async stop(): Promise<void> {
    await this.informer.stop();
    await this.queue.shutDown();
  }

  private enqueue(pod: Pod): void {
    if (this.nodes.has(pod.spec?.nodeName ?? "")) this.queue.add(keyOf(pod));
  }

  private pods(namespace: string): ResourceClient<Pod> {
    let c = this.byNamespace.get(namespace);
    if (c === undefined) {
      c = this.client.resource<Pod>("v1", "pods", namespace);
      this.byNamespace.set(namespace, c);
    }
    return c;
  }

  /** Releases the pod's IP (the sandbox is gone); with a uid, only if the record is that pod's. */
  private forget(key: string, uid?: string): void {
    const r = this.records.get(key);
    if (r === undefined || (uid !== undefined && r.uid !== uid)) return;
    if (r.owned) r.node.ipam?.release(r.ip);
    this.records.delete(key);
  }

  private async sync(key: string): Promise<void> {
    const pod = this.informer.get(key);
    const node = pod === undefined ? undefined : this.nodes.get(pod.spec?.nodeName ?? "");
    if (pod === undefined || node === undefined || isTerminal(pod)) {
      this.forget(key);
      return;
    }
    if (pod.metadata.deletionTimestamp !== undefined) {
      await this.finishDeletion(pod);
      return;
    }
    const r = this.record(key, pod, node);
    const running = isRunningAndReady(pod);
    const exit = exitPlan(pod);
    let exitCode: number | undefined;
    if (exit !== undefined) {
      // The test knob: the pod "exits" exitAfterMs after it started (see pod-status.ts).
      const due = r.startedAt + exit.afterMs - this.clock.now();
      if (due > 0) this.queue.addAfter(key, due);
      else if (running) exitCode = exit.code;
    }
    if (running && exitCode === undefined) return;
    const at = { hostIP: node.internalIP, podIP: r.ip, startedAt: r.startedAt };
    const patch =
      exitCode === undefined
        ? runningStatusPatch(pod, at, this.clock.now())
        : terminatedStatusPatch(pod, at, this.clock.now(), exitCode);
    try {
      await this.limiter.run("pod", () =>
        this.pods(pod.metadata.namespace).patch(pod.metadata.name, patch, "strategic", {
          subresource: "status",
        }),
      );
      this.metrics.podStatusUpdates.inc({ result: "success" });
    } catch (e) {
      this.metrics.podStatusUpdates.inc({ result: "error" });
      // Gone meanwhile: its DELETED event releases the IP. Anything else is retried with backoff
      // (a 409 is a pod recreated under the same name: the informer brings the new one).
      if (isNotFound(e)) return;
      throw e;
    }
  }

  /** The pod's record, made (taking an IP) on first sight; a recreated pod drops the old one's. */
  private record(key: string, pod: Pod, node: HollowNode): PodRecord {
    const uid = pod.metadata.uid ?? "";
    const known = this.records.get(key);
    if (known !== undefined && known.uid === uid && known.node === node) return known;
    this.forget(key);
    const started = Date.parse(pod.status?.startTime ?? "");
    const r: PodRecord = {
      uid,
      node,
      ip: node.internalIP,
      owned: false,
      startedAt: Number.isNaN(started) ? this.clock.now() : started,
    };
    if (pod.spec.hostNetwork !== true) {
      node.ipam ??= new PodIPAllocator(node.podCidr);
      const has = pod.status?.podIP;
      if (has !== undefined && has !== "" && node.ipam.claim(has)) {
        r.ip = has;
        r.owned = true;
      } else if (has !== undefined && has !== "" && isRunningAndReady(pod)) {
        // Running with an IP this run did not give (another CIDR): leave it, hold nothing.
        r.ip = has;
      } else {
        r.ip = node.ipam.allocate();
        r.owned = true;
      }
    }
    this.records.set(key, r);
    return r;
  }

  private async finishDeletion(pod: Pod): Promise<void> {
    const { name, namespace, uid } = pod.metadata;
    try {
      await this.limiter.run("pod", () =>
        this.pods(namespace).delete(name, {
          gracePeriodSeconds: 0,
          preconditions: uid === undefined ? {} : { uid },
        }),
      );
      this.metrics.podDeletions.inc({ result: "success" });
    } catch (e) {
      // Already gone, or a new pod under the name (the uid precondition failed): nothing to do.
      if (isNotFound(e) || isConflict(e)) return;
      this.metrics.podDeletions.inc({ result: "error" });
      throw e;
    }
  }
}
