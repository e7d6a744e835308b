/**
 * kube-scheduler's PriorityQueue (pkg/scheduler/backend/queue/scheduling_queue.go, 1.32, with
 * SchedulerQueueingHints on): the pods waiting to be scheduled, in three places.
 *   - activeQ: pods ready to be tried, ordered by the QueueSort plugin; pop() takes the head.
 *   - backoffQ: pods that failed and wait out their backoff (1 s doubling per attempt up to 10 s).
 *   - unschedulablePods: pods that were rejected, or that a PreEnqueue plugin gates, waiting for a
 *     cluster event one of their rejecting plugins registered, or for the 5 minute leftover flush.
 * A popped pod is in flight until done(); events that arrive meanwhile are kept, so a pod whose
 * attempt fails goes back to the backoffQ at once if one of them may have helped it.
 * The queue also is the PodNominator. It is single-threaded: every method runs to completion.
 */
import type { Pod } from "@skiff/api";
import { ActionType, type ClusterEvent, type PodNominator } from "../framework/interface.js";
import { PodInfo, type QueuedPodInfo } from "../framework/pod-info.js";
import type { ActiveQueue, RecordedEvent } from "./active-queue.js";
import type { BackoffQueue } from "./backoff-queue.js";
import { type Clock, realClock, type TimerHandle } from "./clock.js";
import { mayBeHelpedByAssignedPod, type NamespaceLabels } from "./cross-topology.js";
import {
  BackoffComplete,
  clusterEventLabel,
  EventAssignedPodAdd,
  EventForceActivate,
  EventUnschedulableTimeout,
  EventUnscheduledPodSpecUpdate,
  ForceActivate,
  isPodUpdated,
  matchClusterEvents,
  PodAdd,
  PodUpdate,
  podSchedulingPropertiesChange,
  ScheduleAttemptFailure,
} from "./events.js";
import { podKey, queuedPodKey } from "./keys.js";
import type { PendingCounts } from "./metrics.js";
import { Nominator } from "./nominator.js";
import {
  BACKOFF_FLUSH_INTERVAL_MS,
  DEFAULT_MAX_IN_FLIGHT_EVENTS,
  DEFAULT_POD_INITIAL_BACKOFF_SECONDS,
  DEFAULT_POD_MAX_BACKOFF_SECONDS,
  DEFAULT_POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION_MS,
  type PreEnqueueCheck,
  type PriorityQueueOptions,
  UNSCHEDULABLE_FLUSH_INTERVAL_MS,
} from "./options.js";
import { PodQueues, type QueueLocation } from "./pod-queues.js";
import {
  ClusterEventMap,
  isPodWorthRequeuing,
  QueueingStrategy,
  strategyForInFlightPod,
} from "./queueing-hint.js";
import type { UnschedulablePods } from "./unschedulable-pods.js";

export class PriorityQueue implements PodNominator {
  private readonly clock: Clock;
  private readonly queues: PodQueues;
  /** Shorthands for the queues' parts. */
  private readonly activeQ: ActiveQueue;
  private readonly backoffQ: BackoffQueue;
  private readonly unschedulablePods: UnschedulablePods;
  private readonly nominator: Nominator;
  private readonly eventMap: ClusterEventMap;
  private readonly podMaxInUnschedulablePodsDurationMs: number;
  private readonly namespaceLabels: NamespaceLabels;
  /** In-flight pods deleted meanwhile: addUnschedulableIfNotPresent drops them. Cleared by done(). */
  private readonly deletedInFlight = new Set<string>();
  /** kube's moveRequestCycle: the scheduling cycle of the last move; used for pods not in flight. */
  private moveRequestCycle = -1;
  private readonly timers: TimerHandle[] = [];
  private running = false;

  constructor(opts: PriorityQueueOptions) {
    this.clock = opts.clock ?? realClock;
    this.nominator = new Nominator(opts.podLookup);
    this.queues = new PodQueues({
      less: opts.less,
      clock: this.clock,
      podInitialBackoffMs: (opts.podInitialBackoffSeconds ?? DEFAULT_POD_INITIAL_BACKOFF_SECONDS) * 1000,
      podMaxBackoffMs: (opts.podMaxBackoffSeconds ?? DEFAULT_POD_MAX_BACKOFF_SECONDS) * 1000,
      maxInFlightEvents: opts.maxInFlightEvents ?? DEFAULT_MAX_IN_FLIGHT_EVENTS,
      preEnqueuePlugins: opts.preEnqueuePlugins ?? [],
      registry: opts.registry,
      nominator: this.nominator,
    });
    this.activeQ = this.queues.activeQ;
    this.backoffQ = this.queues.backoffQ;
    this.unschedulablePods = this.queues.unschedulablePods;
    this.eventMap = new ClusterEventMap(opts.clusterEventMap);
    this.podMaxInUnschedulablePodsDurationMs =
      opts.podMaxInUnschedulablePodsDurationMs ?? DEFAULT_POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION_MS;
    this.namespaceLabels = opts.namespaceLabels ?? (() => undefined);
  }

  /** Starts the two periodic flushes (kube's Run). */
  run(): void {
    if (this.running || this.activeQ.closed) return;
    this.running = true;
    this.every(0, BACKOFF_FLUSH_INTERVAL_MS, () => this.flushBackoffQCompleted());
    this.every(1, UNSCHEDULABLE_FLUSH_INTERVAL_MS, () => this.flushUnschedulablePodsLeftover());
  }

  private every(slot: number, ms: number, f: () => void): void {
    const h = this.clock.setTimeout(() => {
      if (!this.running) return;
      f();
      this.every(slot, ms, f);
    }, ms);
    // The flushes alone must not keep a process alive.
    (h as { unref?: () => void } | null)?.unref?.();
    this.timers[slot] = h;
  }

  /** Stops the flushes and wakes every pop() with undefined (kube's Close). */
  close(): void {
    this.running = false;
    for (const h of this.timers) this.clock.clearTimeout(h);
    this.activeQ.close();
  }

  /** A new pending pod (kube's Add); a pod the queue already knows is treated as an update. */
  add(pod: Pod): void {
    const existing = this.queues.knownPod(podKey(pod));
    if (existing !== undefined) {
      this.update(existing, pod);
      return;
    }
    const qpi = this.queues.newQueuedPodInfo(pod);
    if (this.queues.moveToActiveQ(qpi, PodAdd)) this.activeQ.broadcast();
  }

  /** The head of the activeQ, now in flight; waits for one; undefined once closed. */
  pop(): Promise<QueuedPodInfo | undefined> {
    return this.activeQ.pop();
  }

  /** The attempt on this pod is over (scheduled, or handed back): it is no longer in flight. */
  done(uid: string): void {
    this.activeQ.done(uid);
    this.deletedInFlight.delete(uid);
  }

  /** kube's SchedulingCycle: incremented by every pop. */
  schedulingCycle(): number {
    return this.activeQ.schedulingCycle;
  }

  /**
   * Hands back a pod whose attempt failed (kube's AddUnschedulableIfNotPresent), and calls done()
   * for it. A pod rejected by plugins (qpi.unschedulablePlugins / pendingPlugins set by the cycle)
   * goes to unschedulablePods, unless an event one of them registered arrived during the attempt:
   * then to the backoffQ. A pod that failed with an error (no rejecting plugin) goes to the backoffQ.
   * Throws if the pod is already queued.
   */
  addUnschedulableIfNotPresent(qpi: QueuedPodInfo, podSchedulingCycle: number): void {
    const key = queuedPodKey(qpi);
    try {
      if (this.deletedInFlight.has(key)) return;
      const where = this.queues.locate(key);
      if (where !== undefined && where !== "inFlight")
        throw new Error(`pod ${qpi.podInfo.key} is already present in the ${where} queue`);
      this.refreshPodInfo(qpi, this.activeQ.inFlightPod(key));
      qpi.timestamp = this.clock.now();
      let strategy: QueueingStrategy;
      if (this.activeQ.isInFlight(key)) {
        strategy = strategyForInFlightPod(this.eventMap, qpi, this.activeQ.clusterEventsForPod(key));
      } else {
        // Not tracked (done() was called first): the older moveRequestCycle rule.
        const rejected = qpi.unschedulablePlugins.size + qpi.pendingPlugins.size > 0;
        strategy =
          !rejected || this.moveRequestCycle >= podSchedulingCycle
            ? QueueingStrategy.QueueAfterBackoff
            : QueueingStrategy.QueueSkip;
      }
      if (this.queues.requeue(qpi, strategy, ScheduleAttemptFailure) === "active") this.activeQ.broadcast();
    } finally {
      this.done(key);
    }
  }

  /**
   * A pending pod changed (kube's Update). In the activeQ or backoffQ it is updated in place; in
   * unschedulablePods it moves back (backoffQ or activeQ) when more than its status changed; in
   * flight, the change is kept for when it comes back; unknown, it is added.
   */
  update(oldPod: Pod, newPod: Pod): void {
    const key = podKey(newPod);
    const pi = new PodInfo(newPod);
    if (this.activeQ.isInFlight(key)) {
      const events: RecordedEvent[] = podSchedulingPropertiesChange(newPod, oldPod).map((event) => ({
        event,
        oldObj: oldPod,
        newObj: newPod,
      }));
      // Beyond kube: any spec change sends the pod to the backoffQ if its attempt fails, as it
      // would move it out of unschedulablePods below.
      if (isPodUpdated(oldPod, newPod))
        events.push({ event: EventUnscheduledPodSpecUpdate, oldObj: oldPod, newObj: newPod });
      this.activeQ.addEventsIfPodInFlight(key, events, newPod);
      return;
    }
    const queued = this.activeQ.get(key) ?? this.backoffQ.get(key);
    if (queued !== undefined) {
      queued.podInfo = pi;
      if (this.activeQ.has(key)) this.activeQ.add(queued);
      else this.backoffQ.update(queued);
      this.nominator.updateNominatedPod(oldPod, pi);
      return;
    }
    const unschedulable = this.unschedulablePods.get(key);
    if (unschedulable !== undefined) {
      unschedulable.podInfo = pi;
      this.nominator.updateNominatedPod(oldPod, pi);
      if (!isPodUpdated(oldPod, newPod)) return;
      if (this.backoffQ.isPodBackingoff(unschedulable)) this.queues.moveToBackoffQ(unschedulable, PodUpdate);
      else if (this.queues.moveToActiveQ(unschedulable, PodUpdate)) this.activeQ.broadcast();
      return;
    }
    const qpi = this.queues.newQueuedPodInfo(newPod, pi);
    if (this.queues.moveToActiveQ(qpi, PodUpdate)) this.activeQ.broadcast();
  }

  /** The pod is gone (kube's Delete); if it is in flight, it is not queued again when handed back. */
  delete(pod: Pod): void {
    const key = podKey(pod);
    this.nominator.deleteNominatedPodIfExists(pod);
    this.queues.delete(key);
    if (this.activeQ.isInFlight(key)) this.deletedInFlight.add(key);
  }

  /**
   * Moves these pods from unschedulablePods or the backoffQ to the activeQ (kube's Activate); for
   * an in-flight pod, remembers it so that it is re-queued if its attempt fails. Others are ignored.
   */
  activate(pods: Iterable<Pod>): void {
    let activated = false;
    for (const pod of pods) {
      const key = podKey(pod);
      const qpi = this.unschedulablePods.get(key) ?? this.backoffQ.get(key);
      if (qpi === undefined) {
        this.activeQ.addEventsIfPodInFlight(key, [
          { event: EventForceActivate, oldObj: undefined, newObj: pod },
        ]);
        this.moveRequestCycle = this.activeQ.schedulingCycle;
        continue;
      }
      if (this.queues.moveToActiveQ(qpi, ForceActivate)) activated = true;
    }
    if (activated) this.activeQ.broadcast();
  }

  /**
   * A cluster event happened (kube's MoveAllToActiveOrBackoffQueue): every unschedulable pod that
   * passes preCheck and that the event may help (see isPodWorthRequeuing) moves to the backoffQ if
   * still backing off, else to the activeQ. In-flight pods get the event recorded.
   */
  moveAllToActiveOrBackoffQueue(
    event: ClusterEvent,
    oldObj?: unknown,
    newObj?: unknown,
    preCheck?: PreEnqueueCheck,
  ): void {
    this.movePods(
      this.unschedulablePods.list().filter((q) => preCheck === undefined || preCheck(q.podInfo.pod)),
      event,
      oldObj,
      newObj,
    );
  }

  /** A bound pod appeared (kube's AssignedPodAdded): it may satisfy pods' affinity or spreading. */
  assignedPodAdded(pod: Pod): void {
    this.movePods(this.helpedBy(pod), EventAssignedPodAdd, undefined, pod);
  }

  /**
   * A bound pod changed (kube's AssignedPodUpdated), with the event(s) the change amounts to
   * (computed when not given). A scale-down may free room for anyone; other changes only help the
   * pods whose affinity or spreading the pod takes part in.
   */
  assignedPodUpdated(oldPod: Pod, newPod: Pod, event?: ClusterEvent): void {
    for (const e of event === undefined ? podSchedulingPropertiesChange(newPod, oldPod) : [event]) {
      const scaleDown = matchClusterEvents({ resource: "Pod", actionType: ActionType.UpdatePodScaleDown }, e);
      this.movePods(scaleDown ? this.unschedulablePods.list() : this.helpedBy(newPod), e, oldPod, newPod);
    }
  }

  private helpedBy(assigned: Pod): QueuedPodInfo[] {
    return this.unschedulablePods
      .list()
      .filter((q) => mayBeHelpedByAssignedPod(q, assigned, this.namespaceLabels));
  }

  /** Moves the pods whose backoff has expired from the backoffQ to the activeQ. */
  flushBackoffQCompleted(): void {
    let activated = false;
    for (const qpi of this.backoffQ.popAllBackoffCompleted())
      if (this.queues.moveToActiveQ(qpi, BackoffComplete)) activated = true;
    if (activated) this.activeQ.broadcast();
  }

  /** Moves pods that stayed in unschedulablePods longer than podMaxInUnschedulablePodsDuration. */
  flushUnschedulablePodsLeftover(): void {
    const now = this.clock.now();
    const stale = this.unschedulablePods
      .list()
      .filter((q) => now - q.timestamp > this.podMaxInUnschedulablePodsDurationMs);
    if (stale.length > 0) this.movePods(stale, EventUnschedulableTimeout, undefined, undefined);
  }

  private movePods(
    pods: readonly QueuedPodInfo[],
    event: ClusterEvent,
    oldObj: unknown,
    newObj: unknown,
  ): void {
    const e: RecordedEvent = { event, oldObj, newObj };
    const label = clusterEventLabel(event);
    let activated = false;
    for (const qpi of pods) {
      const key = queuedPodKey(qpi);
      if (qpi.gated) {
        // Only an event its gating plugin registered may lift a gate (kube's GatingPluginEvents).
        const gate = this.queues.gatingPlugin(key);
        if (gate !== undefined && !this.eventMap.gatingPluginInterested(gate, event)) continue;
      }
      const strategy = isPodWorthRequeuing(this.eventMap, qpi, e);
      if (strategy === QueueingStrategy.QueueSkip) continue;
      this.unschedulablePods.delete(key);
      if (this.queues.requeue(qpi, strategy, label) === "active") activated = true;
    }
    this.moveRequestCycle = this.activeQ.schedulingCycle;
    this.activeQ.addEventIfAnyInFlight(e);
    if (activated) this.activeQ.broadcast();
  }

  /** The attempt ran on the pod as popped; it comes back as the informer last showed it. */
  private refreshPodInfo(qpi: QueuedPodInfo, latest: Pod | undefined): void {
    if (latest === undefined || latest === qpi.podInfo.pod) return;
    try {
      qpi.podInfo = new PodInfo(latest);
    } catch {
      // A malformed update keeps the attempted object; the next update replaces it.
    }
  }

  // PodNominator (kube's nominator, embedded in PriorityQueue).

  nominatedPodsForNode(nodeName: string): readonly PodInfo[] {
    return this.nominator.nominatedPodsForNode(nodeName);
  }

  /** Nominates the pod to nodeName (preemption's result); "" clears its nomination. */
  addNominatedPod(pi: PodInfo, nodeName: string): void {
    this.nominator.addNominatedPod(pi, nodeName);
  }

  deleteNominatedPodIfExists(pod: Pod): void {
    this.nominator.deleteNominatedPodIfExists(pod);
  }

  updateNominatedPod(oldPod: Pod, newPodInfo: PodInfo): void {
    this.nominator.updateNominatedPod(oldPod, newPodInfo);
  }

  // For tests and debugging (kube's PendingPods, PodsInActiveQ, GetPod ...).

  /** Where the pod with this uid is, if the queue knows it. */
  whereIs(uid: string): QueueLocation | undefined {
    return this.queues.locate(uid);
  }

  /** The queued pod info with this uid (not for in-flight pods: the scheduler holds those). */
  getQueuedPodInfo(uid: string): QueuedPodInfo | undefined {
    return this.queues.get(uid);
  }

  podsInActiveQ(): Pod[] {
    return this.activeQ.list().map((q) => q.podInfo.pod);
  }

  podsInBackoffQ(): Pod[] {
    return this.backoffQ.list().map((q) => q.podInfo.pod);
  }

  unschedulablePodList(): Pod[] {
    return this.unschedulablePods.list().map((q) => q.podInfo.pod);
  }

  inFlightPods(): Pod[] {
    return this.activeQ.inFlightPodList();
  }

  /** Every pending pod: activeQ, backoffQ, unschedulablePods (kube's PendingPods). */
  pendingPods(): Pod[] {
    return [...this.podsInActiveQ(), ...this.podsInBackoffQ(), ...this.unschedulablePodList()];
  }

  pendingCounts(): PendingCounts {
    return this.queues.pendingCounts();
  }

  /** Events kept for in-flight pods (bounded by maxInFlightEvents). */
  inFlightEventCount(): number {
    return this.activeQ.inFlightEventCount;
  }
}
