/**
 * Graceful node shutdown (pkg/kubelet/nodeshutdown/nodeshutdown_manager_linux.go). kube learns
 * of a shutdown from systemd-logind (PrepareForShutdown, holding a delay inhibitor for the grace
 * period); Skiff's agent has no logind inhibitor: the agent's SIGTERM handler calls shutdown().
 * Then the node turns NotReady ("node is shutting down"), new pods are refused, and pods are
 * killed in priority groups, lowest first: regular pods within shutdownGracePeriod -
 * shutdownGracePeriodCriticalPods, then critical pods (priority >= system-critical) within
 * shutdownGracePeriodCriticalPods. A pod's own terminationGracePeriodSeconds wins when shorter.
 * A group that outlives its budget is left running and the next group starts (kube logs
 * "Shutdown manager pod killing time out" and goes on).
 */
import type { Pod } from "@skiff/api";
import { type Clock, realClock } from "@skiff/client";
import { type Logger, silentLogger } from "@skiff/component-base";
import { systemCriticalPriority } from "./eviction/rank.js";

export const nodeShutdownReason = "Terminated";
export const nodeShutdownMessage = "Pod was terminated in response to imminent node shutdown.";
export const nodeShutdownNotAdmittedReason = "NodeShutdown";
export const nodeShutdownNotAdmittedMessage = "Pod was rejected as the node is shutting down.";
/** The Ready condition's message while shutting down (ShutdownStatus). */
export const nodeShuttingDownMessage = "node is shutting down";

export interface ShutdownManagerOptions {
  /** --shutdown-grace-period in seconds; 0 disables graceful shutdown, as in kube. */
  shutdownGracePeriodSeconds: number;
  /** --shutdown-grace-period-critical-pods in seconds (part of the total). */
  shutdownGracePeriodCriticalPodsSeconds: number;
  activePods: () => readonly Pod[];
  /** Kills the pod with this grace period; resolves once its containers are gone. */
  killPod: (pod: Pod, gracePeriodSeconds: number, reason: string, message: string) => Promise<void>;
  clock?: Clock;
  logger?: Logger;
}

interface PriorityGroup {
  /** Pods with priority at or above this (and below the next group's) belong here. */
  priority: number;
  gracePeriodSeconds: number;
}

export class ShutdownManager {
  private readonly clock: Clock;
  private readonly log: Logger;
  private shuttingDown = false;
  private done: Promise<void> | undefined;

  constructor(private readonly o: ShutdownManagerOptions) {
    this.clock = o.clock ?? realClock;
    this.log = o.logger ?? silentLogger;
    if (o.shutdownGracePeriodCriticalPodsSeconds > o.shutdownGracePeriodSeconds)
      throw new Error("shutdownGracePeriodCriticalPods must be <= shutdownGracePeriod");
  }

  get enabled(): boolean {
    return this.o.shutdownGracePeriodSeconds > 0;
  }

  /** ShutdownStatus: the Ready condition's error while shutting down. */
  readyErrors(): string[] {
    return this.shuttingDown ? [nodeShuttingDownMessage] : [];
  }

  /** Admit: no new pods once the shutdown began. */
  admit(_pod: Pod): { admit: true } | { admit: false; reason: string; message: string } {
    return this.shuttingDown
      ? { admit: false, reason: nodeShutdownNotAdmittedReason, message: nodeShutdownNotAdmittedMessage }
      : { admit: true };
  }

  /** The groups of kube's migrateConfig: regular pods, then critical pods. */
  groups(): PriorityGroup[] {
    const critical = this.o.shutdownGracePeriodCriticalPodsSeconds;
    return [
      {
        priority: Number.NEGATIVE_INFINITY,
        gracePeriodSeconds: this.o.shutdownGracePeriodSeconds - critical,
      },
      { priority: systemCriticalPriority, gracePeriodSeconds: critical },
    ];
  }

  /** Starts the shutdown (idempotent); resolves once every group is done or timed out. */
  shutdown(): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    this.done ??= this.processShutdownEvent();
    return this.done;
  }

  private async processShutdownEvent(): Promise<void> {
    this.shuttingDown = true;
    this.log.info(
      { gracePeriodSeconds: this.o.shutdownGracePeriodSeconds },
      "Shutdown manager processing shutdown event",
    );
    const pods = this.o.activePods();
    const groups = this.groups();
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as PriorityGroup;
      const next = groups[i + 1]?.priority ?? Number.POSITIVE_INFINITY;
      const members = pods.filter(
        (p) => (p.spec.priority ?? 0) >= g.priority && (p.spec.priority ?? 0) < next,
      );
      if (members.length === 0) continue;
      this.log.info(
        { pods: members.length, gracePeriodSeconds: g.gracePeriodSeconds },
        "Shutdown manager killing pod group",
      );
      const kills = members.map((pod) => {
        const own = pod.spec.terminationGracePeriodSeconds;
        const grace = own !== undefined && own <= g.gracePeriodSeconds ? own : g.gracePeriodSeconds;
        return this.o
          .killPod(pod, grace, nodeShutdownReason, nodeShutdownMessage)
          .catch((e: unknown) =>
            this.log.error(
              { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, err: String(e) },
              "Shutdown manager failed killing pod",
            ),
          );
      });
      let timer: object | undefined;
      const timedOut = await Promise.race([
        Promise.all(kills).then(() => false),
        new Promise<boolean>((resolve) => {
          timer = this.clock.setTimeout(() => resolve(true), g.gracePeriodSeconds * 1000);
        }),
      ]);
      if (timer !== undefined) this.clock.clearTimeout(timer);
      if (timedOut)
        this.log.warn({ gracePeriodSeconds: g.gracePeriodSeconds }, "Shutdown manager pod killing time out");
    }
    this.log.info({}, "Shutdown manager completed processing shutdown event, node will shutdown shortly");
  }
}
