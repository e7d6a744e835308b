/**
 * Leader election on a Lease, as client-go's tools/leaderelection LeaderElector: a candidate
 * takes the lease when nobody holds it or when its holder has not renewed it for the lease
 * duration, then renews it every retry period and stops leading when renewals have not succeeded
 * for the renew deadline.
 *
 * Expiry is judged on the local clock, never by comparing clocks across machines: a candidate
 * notes when it last saw the record change (observedTime) and takes the lease only once
 * leaseDuration has passed since then, as client-go's isLeaseValid.
 *
 * Fencing: isLeader() turns false as soon as the clock passes the start of the last successful
 * renewal plus the renew deadline, whatever the timers did, and the leader's AbortSignal aborts
 * then. Since renewDeadline < leaseDuration and the others start counting only once they saw
 * that renewal, the old leader stops before anyone else may start.
 */
import { hostname } from "node:os";
import type { Lease } from "@skiff/api";
import { Gauge, type Registry } from "prom-client";
import { KubeClient } from "../client.js";
import { isNotFound } from "../errors.js";
import { silentLogger } from "../logging.js";
import type { ResourceClient } from "../resource.js";
import { type Clock, realClock, sleep, type TimerHandle } from "../workqueue/clock.js";
import {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  type ElectionLogger,
  JITTER_FACTOR,
  type LeaderElectionConfig,
  NotLeaderError,
  validateElectionConfig,
} from "./config.js";
import { type LeaderElectionRecord, LeaseLock } from "./lease-lock.js";

const emptyRecord = (): LeaderElectionRecord => ({
  holderIdentity: "",
  leaseDurationSeconds: 0,
  acquireTime: 0,
  renewTime: 0,
  leaderTransitions: 0,
});

export class LeaderElector {
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  private readonly lock: LeaseLock;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: ElectionLogger;
  private readonly status: Gauge | undefined;

  /** The record as last seen or written, and when (local clock): client-go's observed state. */
  private observedRecord = emptyRecord();
  private observedRaw = "";
  private observedTime = 0;
  private reportedLeader = "";

  /** While leading: the signal given to onStartedLeading, and the fencing deadline. */
  private leading: { ac: AbortController; fenceAt: number; timer: TimerHandle | undefined } | undefined;
  private everLed = false;
  private readonly stopper = new AbortController();
  private running: Promise<void> | undefined;

  constructor(private readonly config: LeaderElectionConfig) {
    this.identity = config.identity ?? `${hostname()}_${crypto.randomUUID()}`;
    this.leaseDurationMs = config.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewDeadlineMs = config.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryPeriodMs = config.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
    validateElectionConfig(this.leaseDurationMs, this.renewDeadlineMs, this.retryPeriodMs, this.identity);
    const { namespace, name } = config.lock;
    const leases: ResourceClient<Lease> =
      config.client instanceof KubeClient
        ? config.client.withoutWriteGuard().resource<Lease>("coordination.k8s.io/v1", "leases", namespace)
        : config.client;
    this.lock = new LeaseLock(namespace, name, leases);
    this.clock = config.clock ?? realClock;
    this.random = config.random ?? Math.random;
    this.log = config.logger ?? silentLogger;
    this.status = config.registry === undefined ? undefined : leaderStatusGauge(config.registry);
    this.status?.set({ name: config.name ?? name }, 0);
  }

  /**
   * Campaigns, leads, and resolves once leading has ended (lost, or stop()) or stop() came
   * first. An elector runs once: after losing, a component makes a new one (kube's exit).
   */
  run(): Promise<void> {
    if (this.running !== undefined) throw new Error("LeaderElector.run: already run");
    this.running = this.campaign();
    return this.running;
  }

  /** Stops campaigning or leading (releasing the lease first if releaseOnCancel); waits for run(). */
  async stop(): Promise<void> {
    this.stopper.abort();
    this.fence("stopped");
    await this.running;
  }

  /** Leading now, by the clock: false from the renew deadline on, even before any timer fired. */
  isLeader(): boolean {
    return this.leading !== undefined && this.clock.now() < this.leading.fenceAt;
  }

  /** Throws NotLeaderError unless isLeader(): a KubeClient writeGuard. */
  assertLeader(): void {
    if (!this.isLeader())
      throw new NotLeaderError(`not the leader of lease ${this.lock.describe()} (identity ${this.identity})`);
  }

  /** The holder last observed ("" for none). */
  getLeader(): string {
    return this.observedRecord.holderIdentity;
  }

  private async campaign(): Promise<void> {
    try {
      if (!(await this.acquire())) return;
      await this.renew();
    } finally {
      this.fence("leading ended");
      if (this.config.releaseOnCancel === true && this.stopper.signal.aborted) await this.release();
      if (this.everLed) this.callback("onStoppedLeading", () => this.config.callbacks.onStoppedLeading?.());
    }
  }

  /** Tries every retryPeriod (jittered) until the lease is ours; false if stopped first. */
  private async acquire(): Promise<boolean> {
    const desc = this.lock.describe();
    this.log.info({ lease: desc, identity: this.identity }, "attempting to acquire leader lease");
    for (;;) {
      if (this.stopper.signal.aborted) return false;
      const started = this.clock.now();
      const ok = await this.tryAcquireOrRenew();
      this.maybeReportTransition();
      if (ok && !this.stopper.signal.aborted) {
        this.log.info({ lease: desc, identity: this.identity }, "successfully acquired lease");
        this.startLeading(started);
        return true;
      }
      const wait = this.retryPeriodMs * (1 + this.random() * JITTER_FACTOR);
      if (!(await sleep(this.clock, wait, this.stopper.signal))) return false;
    }
  }

  /** Renews every retryPeriod until stopped or the renew deadline passes without success. */
  private async renew(): Promise<void> {
    const desc = this.lock.describe();
    while (this.isLeader()) {
      if (!(await sleep(this.clock, this.retryPeriodMs, this.stopper.signal))) return;
      if (!this.isLeader()) break;
      const started = this.clock.now();
      const ok = await this.tryAcquireOrRenew();
      this.maybeReportTransition();
      if (ok && this.isLeader()) this.renewed(started);
      // Someone else holds it now: no point waiting for the deadline.
      else if (!this.holdsObserved())
        this.fence(`lease held by ${this.observedRecord.holderIdentity || "nobody"}`);
    }
    if (!this.stopper.signal.aborted)
      this.log.info({ lease: desc, identity: this.identity }, "failed to renew lease");
  }

  private startLeading(renewStarted: number): void {
    const ac = new AbortController();
    this.leading = { ac, fenceAt: renewStarted, timer: undefined };
    this.renewed(renewStarted);
    this.everLed = true;
    this.status?.set({ name: this.config.name ?? this.lock.name }, 1);
    this.config.eventRecorder?.eventf(
      this.lock.reference(),
      "Normal",
      "LeaderElection",
      "%s became leader",
      this.identity,
    );
    this.callback("onStartedLeading", () => this.config.callbacks.onStartedLeading(ac.signal));
  }

  /**
   * A renewal that started at `started` succeeded: leading holds until started + renewDeadline.
   * The start, not the answer's arrival, because others start counting when they see it.
   */
  private renewed(started: number): void {
    const l = this.leading;
    if (l === undefined) return;
    if (l.timer !== undefined) this.clock.clearTimeout(l.timer);
    l.fenceAt = started + this.renewDeadlineMs;
    l.timer = this.clock.setTimeout(() => this.fence("renew deadline passed"), l.fenceAt - this.clock.now());
  }

  /** Ends leading now: the signal aborts, isLeader() is false. */
  private fence(why: string): void {
    const l = this.leading;
    if (l === undefined) return;
    this.leading = undefined;
    if (l.timer !== undefined) this.clock.clearTimeout(l.timer);
    this.status?.set({ name: this.config.name ?? this.lock.name }, 0);
    this.log.info({ lease: this.lock.describe(), identity: this.identity, why }, "stopped leading");
    l.ac.abort(new NotLeaderError(`leadership of lease ${this.lock.describe()} ended: ${why}`));
  }

  /** client-go's tryAcquireOrRenew: one attempt; true when the lease is ours afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const desired: LeaderElectionRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.floor(this.leaseDurationMs / 1000),
      renewTime: now,
      acquireTime: now,
      leaderTransitions: 0,
    };
    // 1. Fast path: the leader updates the record it last wrote, assuming it is still current.
    if (this.holdsObserved() && this.isLeaseValid(now)) {
      desired.acquireTime = this.observedRecord.acquireTime;
      desired.leaderTransitions = this.observedRecord.leaderTransitions;
      try {
        await this.lock.update(desired);
        this.setObserved(desired);
        return true;
      } catch (e) {
        this.log.warn(
          { lease: this.lock.describe(), err: String(e) },
          "failed to update lock optimistically, falling back to slow path",
        );
      }
    }
    // 2. Read the record, or create it.
    let got: { record: LeaderElectionRecord; raw: string };
    try {
      got = await this.lock.get();
    } catch (e) {
      if (!isNotFound(e)) {
        this.log.error({ lease: this.lock.describe(), err: String(e) }, "error retrieving resource lock");
        return false;
      }
      try {
        await this.lock.create(desired);
      } catch (e2) {
        this.log.error(
          { lease: this.lock.describe(), err: String(e2) },
          "error initially creating leader election record",
        );
        return false;
      }
      this.setObserved(desired);
      return true;
    }
    // 3. Note a change (and when we saw it); a valid lease held by another is left alone.
    if (got.raw !== this.observedRaw) {
      this.setObserved(got.record);
      this.observedRaw = got.raw;
    }
    const old = got.record;
    if (old.holderIdentity !== "" && this.isLeaseValid(now) && !this.holdsObserved()) return false;
    // 4. Take or renew it: a change of holder is a transition.
    if (this.holdsObserved()) {
      desired.acquireTime = old.acquireTime;
      desired.leaderTransitions = old.leaderTransitions;
    } else {
      desired.leaderTransitions = old.leaderTransitions + 1;
    }
    try {
      await this.lock.update(desired);
    } catch (e) {
      // 409 Conflict: another candidate wrote first.
      this.log.error({ lease: this.lock.describe(), err: String(e) }, "failed to update lock");
      return false;
    }
    this.setObserved(desired);
    return true;
  }

  /** client-go's release: holder cleared and a 1 s lease, so others take it at once. */
  private async release(): Promise<void> {
    if (!this.holdsObserved()) return;
    const now = this.clock.now();
    const record: LeaderElectionRecord = {
      holderIdentity: "",
      leaseDurationSeconds: 1,
      renewTime: now,
      acquireTime: now,
      leaderTransitions: this.observedRecord.leaderTransitions,
    };
    try {
      await this.lock.update(record);
      this.setObserved(record);
      this.log.info({ lease: this.lock.describe(), identity: this.identity }, "released leader lease");
    } catch (e) {
      this.log.error({ lease: this.lock.describe(), err: String(e) }, "failed to release lock");
    }
  }

  /** client-go's IsLeader: the record last observed names this candidate. */
  private holdsObserved(): boolean {
    return this.observedRecord.holderIdentity === this.identity;
  }

  private isLeaseValid(now: number): boolean {
    return this.observedTime + this.observedRecord.leaseDurationSeconds * 1000 > now;
  }

  private setObserved(r: LeaderElectionRecord): void {
    this.observedRecord = r;
    this.observedTime = this.clock.now();
  }

  private maybeReportTransition(): void {
    const holder = this.observedRecord.holderIdentity;
    if (holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    if (holder === "") return;
    this.log.info({ lease: this.lock.describe(), leader: holder }, "new leader elected");
    const cb = this.config.callbacks.onNewLeader;
    if (cb !== undefined) this.callback("onNewLeader", () => cb(holder));
  }

  /** Runs a callback after the current step; its failure is logged, never thrown into the loop. */
  private callback(which: string, f: () => unknown): void {
    queueMicrotask(() => {
      try {
        Promise.resolve(f()).catch((e: unknown) => this.log.error({ err: String(e) }, `${which} failed`));
      } catch (e) {
        this.log.error({ err: String(e) }, `${which} failed`);
      }
    });
  }
}

const gauges = new WeakMap<Registry, Gauge>();

/** client-go's leader_election_master_status, once per registry. */
function leaderStatusGauge(registry: Registry): Gauge {
  let g = gauges.get(registry);
  if (g === undefined) {
    g = new Gauge({
      name: "leader_election_master_status",
      help:
        "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. " +
        "'name' is the string used to identify the lease. Please make sure to group by name.",
      labelNames: ["name"],
      registers: [registry],
    });
    gauges.set(registry, g);
  }
  return g;
}
