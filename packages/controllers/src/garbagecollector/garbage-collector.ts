/**
 * kube's GarbageCollector (pkg/controller/garbagecollector): the graph builder keeps the
 * ownerReferences graph of every object of every deletable resource (metadata-only informers,
 * resources found by API discovery and re-discovered every 30 s, so new kinds are picked up);
 * workers drain its two queues: attemptToDelete (objects whose owners may all be gone, and
 * owners deleting in foreground) and attemptToOrphan (owners deleted with the orphan finalizer).
 * Not a QueueController: it has three queues of nodes and events, as kube's.
 */
import { sleep } from "@skiff/client";
import type { Logger } from "@skiff/component-base";
import { Counter, type Registry } from "prom-client";
import type { ControllerContext } from "../context.js";
import type { Controller } from "../controller.js";
import type { DiscoveryInterface } from "../util/discovery.js";
import { type AttemptContext, attemptToDeleteItem, attemptToOrphan } from "./attempt.js";
import {
  DEFAULT_IGNORED_RESOURCES,
  deletableResources,
  type MonitoredResource,
  RestMapper,
  RestMappingError,
} from "./discovery.js";
import { EnqueuedVirtualDeleteEvent, NamespacedOwnerOfClusterScopedObject } from "./errors.js";
import type { GraphNode } from "./graph.js";
import { GraphBuilder } from "./graph-builder.js";
import { Operations } from "./operations.js";

/** kube's garbagecollector_controller_resources_sync_error_total. */
const SYNC_ERROR_METRIC = "garbagecollector_controller_resources_sync_error_total";

/** kube-controller-manager's period of the garbage collector's discovery resync (hard-coded 30 s). */
export const GC_RESOURCE_RESYNC_PERIOD_MS = 30_000;

export interface GarbageCollectorOptions {
  discovery: DiscoveryInterface;
  /** Group resources never monitored ("events", "events.events.k8s.io"; kube's ignoredResources). */
  ignoredResources?: ReadonlySet<string>;
  /** How often discovery is read again (kube: 30 s); also the first sync's wait, as kube's Run. */
  resyncPeriodMs?: number;
}

type Action = "forget" | "requeue";

function syncErrorCounter(registry: Registry): Counter {
  const existing = registry.getSingleMetric(SYNC_ERROR_METRIC);
  if (existing !== undefined) return existing as Counter;
  return new Counter({
    name: SYNC_ERROR_METRIC,
    help: "Number of garbage collector resources sync errors",
    registers: [registry],
  });
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class GarbageCollector implements Controller {
  readonly name = "garbage-collector-controller";
  readonly graphBuilder: GraphBuilder;
  readonly ops: Operations;
  private readonly attempt: AttemptContext;
  private mapper = new RestMapper();
  private readonly discovery: DiscoveryInterface;
  private readonly ignored: ReadonlySet<string>;
  private readonly periodMs: number;
  private readonly log: Logger;
  private readonly syncErrors: Counter;
  /** The resources of the last completed sync (kube's oldResources). */
  private oldResources = new Map<string, MonitoredResource>();

  constructor(
    private readonly ctx: ControllerContext,
    o: GarbageCollectorOptions,
  ) {
    this.log = ctx.log;
    this.discovery = o.discovery;
    this.ignored = o.ignoredResources ?? DEFAULT_IGNORED_RESOURCES;
    this.periodMs = o.resyncPeriodMs ?? GC_RESOURCE_RESYNC_PERIOD_MS;
    this.syncErrors = syncErrorCounter(ctx.metrics);
    this.graphBuilder = new GraphBuilder({
      informers: ctx.informers,
      recorder: ctx.recorder("garbage-collector-controller"),
      log: ctx.log,
      metrics: ctx.metrics,
      clock: ctx.clock,
    });
    this.ops = new Operations(
      ctx.client,
      () => this.mapper,
      (ms) => sleep(ctx.clock, ms),
    );
    this.attempt = { ops: this.ops, graph: this.graphBuilder, log: ctx.log };
  }

  /**
   * kube's Run + Sync: the graph loop, a first discovery sync (waiting at most one period for the
   * monitors' caches, then going on anyway), `workers` workers on each of the two queues, and a
   * discovery resync every period, until the signal aborts.
   */
  async run(workers: number, signal: AbortSignal): Promise<void> {
    const loops: Promise<void>[] = [this.graphBuilder.run()];
    const stop = () => this.graphBuilder.shutDown();
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
    await this.sync(signal);
    for (let i = 0; i < Math.max(1, workers) && !signal.aborted; i++) {
      loops.push(this.runWorker(() => this.processAttemptToDeleteWorker()));
      loops.push(this.runWorker(() => this.processAttemptToOrphanWorker()));
    }
    while (await sleep(this.ctx.clock, this.periodMs, signal)) await this.sync(signal);
    stop();
    await Promise.all(loops);
    this.graphBuilder.stopMonitors();
  }

  private async runWorker(step: () => Promise<boolean>): Promise<void> {
    while (await step()) {
      // next item
    }
  }

  /**
   * One discovery resync (kube's Sync body): the deletable resources now served; if they changed,
   * reset the REST mapper, add and start monitors for new ones, drop those gone, and wait (at most
   * a period) for the new monitors to sync. Resources of group versions whose discovery failed
   * keep their synced monitors.
   */
  async sync(signal?: AbortSignal): Promise<void> {
    let sr: Awaited<ReturnType<DiscoveryInterface["serverResources"]>>;
    try {
      sr = await this.discovery.serverResources();
    } catch (e) {
      this.log.warn({ err: message(e) }, "garbage collector: failed to discover preferred resources");
      this.syncErrors.inc();
      return;
    }
    const resources = deletableResources(sr, this.ignored);
    if (resources.size === 0) {
      this.log.info({}, "garbage collector: no resources reported by discovery, skipping sync");
      this.syncErrors.inc();
      return;
    }
    if (sr.failed.size > 0) {
      this.log.warn({ groups: [...sr.failed.keys()] }, "garbage collector: failed to discover some groups");
      for (const [key, r] of this.oldResources)
        if (sr.failed.has(r.apiVersion) && this.graphBuilder.isResourceSynced(key)) resources.set(key, r);
    }
    this.mapper.reset(sr);
    if (sameKeys(this.oldResources, resources)) return;
    const added = [...resources.keys()].filter((k) => !this.oldResources.has(k));
    const removed = [...this.oldResources.keys()].filter((k) => !resources.has(k));
    this.log.info({ added, removed }, "garbage collector: syncing with updated resources from discovery");
    this.graphBuilder.syncMonitors(resources);
    this.graphBuilder.startMonitors();
    if (!(await this.waitForMonitorsSynced(signal)) && signal?.aborted !== true) {
      this.log.warn({}, "garbage collector: timed out waiting for the dependency graph builder to sync");
      this.syncErrors.inc();
    }
    // Monitors that did not sync in time are kept: a later sync drops them if their resource goes.
    this.oldResources = resources;
  }

  /** Whether every monitor synced within one period (false if the signal aborts first). */
  private async waitForMonitorsSynced(signal?: AbortSignal): Promise<boolean> {
    const ac = new AbortController();
    const abort = () => ac.abort();
    signal?.addEventListener("abort", abort, { once: true });
    try {
      return await Promise.race([
        this.graphBuilder.waitForSync(ac.signal),
        sleep(this.ctx.clock, this.periodMs, ac.signal).then(() => false),
      ]);
    } finally {
      ac.abort();
      signal?.removeEventListener("abort", abort);
    }
  }

  /** kube's IsSynced. */
  isSynced(): boolean {
    return this.graphBuilder.isSynced();
  }

  /** kube's processAttemptToDeleteWorker: one node of the attemptToDelete queue. For tests too. */
  async processAttemptToDeleteWorker(): Promise<boolean> {
    const q = this.graphBuilder.attemptToDeleteQueue;
    const n = await q.get();
    if (n === undefined) return false;
    try {
      const action = await this.attemptToDeleteWorker(n);
      if (action === "forget") q.forget(n);
      else q.addRateLimited(n);
    } finally {
      q.done(n);
    }
    return true;
  }

  /** kube's attemptToDeleteWorker: what to do with the node once attemptToDeleteItem is done. */
  private async attemptToDeleteWorker(queued: GraphNode): Promise<Action> {
    let n = queued;
    const fromGraph = this.graphBuilder.uidToNode.read(n.identity.uid);
    // A requeued virtual node may have been removed, or observed for real, meanwhile.
    if (!n.isObserved() && (fromGraph === undefined || fromGraph.isObserved())) return "forget";
    if (
      fromGraph !== undefined &&
      (fromGraph.identity.apiVersion !== n.identity.apiVersion || fromGraph.identity.kind !== n.identity.kind)
    ) {
      n = n.clone();
      n.identity = {
        ...n.identity,
        apiVersion: fromGraph.identity.apiVersion,
        kind: fromGraph.identity.kind,
      };
    }
    try {
      await attemptToDeleteItem(this.attempt, n);
    } catch (e) {
      if (e instanceof EnqueuedVirtualDeleteEvent || e instanceof NamespacedOwnerOfClusterScopedObject)
        return "forget";
      const level = e instanceof RestMappingError ? "info" : "warn";
      this.log[level]({ item: String(n), err: message(e) }, "garbage collector: error syncing item");
      return "requeue";
    }
    // A virtual node not yet observed is checked again (kube issue 56121).
    return n.isObserved() ? "forget" : "requeue";
  }

  /** kube's processAttemptToOrphanWorker: one owner of the attemptToOrphan queue. For tests too. */
  async processAttemptToOrphanWorker(): Promise<boolean> {
    const q = this.graphBuilder.attemptToOrphanQueue;
    const owner = await q.get();
    if (owner === undefined) return false;
    try {
      await attemptToOrphan(this.attempt, owner);
      q.forget(owner);
    } catch (e) {
      this.log.warn(
        { owner: String(owner), err: message(e) },
        "garbage collector: orphaning dependents failed",
      );
      q.addRateLimited(owner);
    } finally {
      q.done(owner);
    }
    return true;
  }

  /** Whether the graph holds a node for this uid (kube's GraphHasUID, for tests). */
  graphHasUID(uid: string): boolean {
    return this.graphBuilder.uidToNode.read(uid) !== undefined;
  }
}

function sameKeys(a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a.keys()) if (!b.has(k)) return false;
  return true;
}
