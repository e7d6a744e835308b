/**
 * The eviction manager (pkg/kubelet/eviction/eviction_manager.go's synchronize): every
 * monitoring interval (10 s) it observes the signals, finds the hard thresholds met, keeps each
 * pressure condition for the pressure transition period (5 min) after it was last observed, and
 * when a threshold is met first reclaims node-level resources (image GC for disk signals), then
 * evicts at most one pod, ranked as kube ranks them, with kube's message. It also answers pod
 * admission under pressure (Admit).
 */
import type { Pod } from "@skiff/api";
import { type Clock, realClock } from "@skiff/client";
import { type Logger, silentLogger } from "@skiff/component-base";
import { formatBytes } from "../machine.js";
import { Periodic } from "../periodic.js";
import {
  type ContainerUsage,
  evictionMessage,
  isBestEffort,
  isCriticalPod,
  rankByPriority,
  rankByResource,
} from "./rank.js";
import {
  defaultEvictionHard,
  isBytes,
  parseEvictionHard,
  type Signal,
  signalCondition,
  signalResource,
  type Threshold,
  thresholdQuantity,
} from "./thresholds.js";

/** One signal's observation: what is left and of how much. */
export interface SignalObservation {
  available: number;
  capacity: number;
}
export type SignalObservations = Partial<Record<Signal, SignalObservation>>;

/** kube's hard-eviction grace period override (immediateEvictionGracePeriodSeconds). */
export const immediateEvictionGracePeriodSeconds = 1;

export interface EvictionManagerOptions {
  /** Hard thresholds; default kube's DefaultEvictionHard. */
  thresholds?: readonly Threshold[];
  /** The signals now (nodeSignalObserver reads them from the machine). */
  observe: () => Promise<SignalObservations>;
  /** The pods the kubelet runs and has not yet terminated. */
  activePods: () => readonly Pod[];
  /** Memory working set per container of a pod, by pod uid; undefined: no stats. */
  podMemoryUsage?: (uid: string) => ContainerUsage | undefined;
  /** Ephemeral storage a pod uses (logs, writable layers, emptyDirs), by pod uid. */
  podDiskUsage?: (uid: string) => number | undefined;
  /** Kills the pod; the pod workers set status Failed, reason Evicted, this message. */
  evictPod: (pod: Pod, message: string, gracePeriodSeconds: number) => Promise<void> | void;
  /** Frees disk before evicting for a disk signal (the image GC's deleteUnusedImages). */
  reclaimDisk?: () => Promise<void>;
  /** Default 10 s. */
  monitoringIntervalMs?: number;
  /** Default 5 min (evictionPressureTransitionPeriod). */
  pressureTransitionPeriodMs?: number;
  clock?: Clock;
  logger?: Logger;
}

type Condition = "MemoryPressure" | "DiskPressure" | "PIDPressure";

export class EvictionManager {
  private readonly thresholds: readonly Threshold[];
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly lastObservedAt = new Map<Condition, number>();
  private conditions: Condition[] = [];
  private readonly periodic: Periodic;

  constructor(private readonly o: EvictionManagerOptions) {
    this.thresholds = o.thresholds ?? parseEvictionHard(defaultEvictionHard);
    this.clock = o.clock ?? realClock;
    this.log = o.logger ?? silentLogger;
    this.periodic = new Periodic({
      clock: this.clock,
      periodMs: o.monitoringIntervalMs ?? 10_000,
      run: () => this.synchronize(),
      onError: (e) => this.log.error({ err: String(e) }, "Eviction manager: failed to synchronize"),
    });
  }

  /** The pressure conditions now in force (for the node status). */
  pressure(): { memory: boolean; disk: boolean; pid: boolean } {
    return {
      memory: this.conditions.includes("MemoryPressure"),
      disk: this.conditions.includes("DiskPressure"),
      pid: this.conditions.includes("PIDPressure"),
    };
  }

  /**
   * Admit: no pods while a pressure condition holds, except critical ones, and under memory
   * pressure alone pods that are not BestEffort or tolerate the memory-pressure taint.
   */
  admit(pod: Pod): { admit: true } | { admit: false; reason: string; message: string } {
    if (this.conditions.length === 0 || isCriticalPod(pod)) return { admit: true };
    if (this.conditions.length === 1 && this.conditions[0] === "MemoryPressure") {
      const tolerates = (pod.spec.tolerations ?? []).some(
        (t) =>
          (t.effect === undefined || t.effect === "" || t.effect === "NoSchedule") &&
          ((t.operator === "Exists" && (t.key === undefined || t.key === "")) ||
            t.key === "node.kubernetes.io/memory-pressure"),
      );
      if (!isBestEffort(pod) || tolerates) return { admit: true };
    }
    return {
      admit: false,
      reason: "Evicted",
      message: `The node had condition: [${this.conditions.join(" ")}]. `,
    };
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  private met(observations: SignalObservations): Threshold[] {
    return this.thresholds.filter((t) => {
      const obs = observations[t.signal];
      return obs !== undefined && obs.available < thresholdQuantity(t, obs.capacity);
    });
  }

  /** One pass; returns the pods evicted (none or one). */
  async synchronize(): Promise<Pod[]> {
    let observations = await this.o.observe();
    const met = this.met(observations);
    const now = this.clock.now();
    for (const t of met) this.lastObservedAt.set(signalCondition(t.signal), now);
    const period = this.o.pressureTransitionPeriodMs ?? 300_000;
    const conditions = [...this.lastObservedAt].filter(([, at]) => now - at < period).map(([c]) => c);
    const order: Condition[] = ["MemoryPressure", "DiskPressure", "PIDPressure"];
    conditions.sort((a, b) => order.indexOf(a) - order.indexOf(b));
    if (conditions.join() !== this.conditions.join())
      this.log.info({ conditions }, "Eviction manager: node conditions changed");
    this.conditions = conditions;
    if (met.length === 0) return [];

    // byEvictionPriority: memory before the others.
    const memoryFirst = (t: Threshold) => (signalResource(t.signal) === "memory" ? 0 : 1);
    const toReclaim = [...met].sort((a, b) => memoryFirst(a) - memoryFirst(b))[0] as Threshold;
    const resource = signalResource(toReclaim.signal);
    this.log.warn({ signal: toReclaim.signal, resource }, "Eviction manager: attempting to reclaim");

    if ((resource === "ephemeral-storage" || resource === "inodes") && this.o.reclaimDisk !== undefined) {
      await this.o.reclaimDisk();
      observations = await this.o.observe();
      if (!this.met(observations).some((t) => t.signal === toReclaim.signal)) {
        this.log.info(
          { resource },
          "Eviction manager: able to reduce resource pressure without evicting pods",
        );
        return [];
      }
    }

    const pods = this.o.activePods();
    if (pods.length === 0) {
      this.log.error(
        { resource },
        "Eviction manager: eviction thresholds have been met, but no pods are active to evict",
      );
      return [];
    }
    const ranked = this.rank(pods, resource);
    const obs = observations[toReclaim.signal];
    const threshold =
      obs === undefined
        ? undefined
        : {
            quantity: this.format(
              toReclaim.signal,
              toReclaim.quantityText,
              thresholdQuantity(toReclaim, obs.capacity),
            ),
            available: this.format(toReclaim.signal, undefined, obs.available),
          };
    for (const pod of ranked) {
      if (isCriticalPod(pod)) {
        this.log.error(
          { pod: `${pod.metadata.namespace}/${pod.metadata.name}` },
          "Eviction manager: cannot evict a critical pod",
        );
        continue;
      }
      const usage = resource === "memory" ? this.o.podMemoryUsage?.(pod.metadata.uid ?? "") : undefined;
      const message = evictionMessage(resource, pod, threshold, usage);
      await this.o.evictPod(pod, message, immediateEvictionGracePeriodSeconds);
      this.log.info(
        { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, message },
        "Eviction manager: pod is evicted successfully",
      );
      return [pod];
    }
    this.log.info({ resource }, "Eviction manager: unable to evict any pods from the node");
    return [];
  }

  private format(signal: Signal, text: string | undefined, n: number): string {
    if (text !== undefined) return text;
    return isBytes(signal) ? formatBytes(n) : String(Math.trunc(n));
  }

  private rank(pods: readonly Pod[], resource: string): Pod[] {
    if (resource === "memory") {
      return rankByResource(
        pods,
        (p) => {
          const u = this.o.podMemoryUsage?.(p.metadata.uid ?? "");
          return u === undefined ? undefined : Object.values(u).reduce((s, n) => s + n, 0);
        },
        "memory",
      );
    }
    if (resource === "pids") return rankByPriority(pods);
    return rankByResource(pods, (p) => this.o.podDiskUsage?.(p.metadata.uid ?? ""), "ephemeral-storage");
  }
}
