/**
 * kube-scheduler as a component (component-base): informers for pods, nodes and what the plugins
 * read (PDBs, PVCs, PVs, namespaces) from one shared factory, a profile per schedulerName, one
 * queue, one cache, and the scheduling loop, run only while this instance holds the
 * kube-system/kube-scheduler Lease when leader election is on. Losing the lease stops scheduling
 * at once (the client's write guard refuses any write after the renew deadline) and ends the
 * component, as kube-scheduler exits on "leaderelection lost".
 */
import type {
  KubeObject,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  PodDisruptionBudget,
} from "@skiff/api";
import {
  type ClientConfig,
  EventBroadcaster,
  type Informer,
  KubeClient,
  LeaderElector,
  SharedInformerFactory,
} from "@skiff/client";
import { type Component, Health, type Logger, newLogger, once, Readiness } from "@skiff/component-base";
import { Registry } from "prom-client";
import { SchedulerCache } from "./cache/cache.js";
import { ClientSchedulerApi } from "./client-api.js";
import { SchedulerEventHandlers } from "./event-handlers.js";
import type { CycleState } from "./framework/cycle-state.js";
import {
  ActionType,
  type ClusterEventWithHint,
  type EventRecorderLike,
  type Handle,
} from "./framework/interface.js";
import type { NodeInfo } from "./framework/node-info.js";
import type { PodInfo } from "./framework/pod-info.js";
import type { SchedulerConfig } from "./framework/profile.js";
import { Framework } from "./framework/runtime.js";
import { SchedulerMetrics } from "./metrics.js";
import { inTreeRegistry } from "./plugins/registry.js";
import { PriorityQueue } from "./queue/scheduling-queue.js";
import { Scheduler } from "./scheduler.js";

export interface LeaderElectionOptions {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  namespace: string;
  name: string;
  identity?: string;
}

export interface SchedulerComponentOptions {
  client: ClientConfig;
  config: SchedulerConfig;
  /** Undefined: no leader election (the instance schedules as soon as its caches sync). */
  leaderElection?: LeaderElectionOptions;
  /** Seconds between cache/informer comparisons (kube's comparer); 0 disables. Default 300. */
  compareIntervalSeconds?: number;
  logger?: Logger;
  /** Where the scheduler_* metrics go (`skiff server` passes the API server's registry). */
  metrics?: Registry;
}

/** Pods in a terminal phase are never scheduled and hold no resources (kube's pod informer selector). */
const NON_TERMINAL = "status.phase!=Succeeded,status.phase!=Failed";

export class SchedulerComponent implements Component {
  readonly name = "kube-scheduler";
  readonly health = new Health();
  readonly metrics: Registry;
  readonly stop: () => Promise<void>;
  private readonly readiness = new Readiness();
  private readonly log: Logger;
  private client: KubeClient | undefined;
  private factory: SharedInformerFactory | undefined;
  private elector: LeaderElector | undefined;
  private scheduler: Scheduler | undefined;
  private queue: PriorityQueue | undefined;
  private broadcaster: EventBroadcaster | undefined;
  private compareTimer: NodeJS.Timeout | undefined;
  private lostResolve!: () => void;
  /** Resolves when leadership is lost (the command then exits non-zero). */
  readonly lost = new Promise<void>((r) => {
    this.lostResolve = r;
  });
  leaseLost = false;

  constructor(readonly options: SchedulerComponentOptions) {
    this.log = options.logger ?? newLogger("kube-scheduler", "info");
    this.metrics = options.metrics ?? new Registry();
    this.stop = once(() => this.shutdown());
  }

  get ready(): Promise<void> {
    return this.readiness.promise;
  }

  /** Pods this instance bound (the benchmark and tests read it). */
  get scheduledCount(): number {
    return this.scheduler?.scheduledCount ?? 0;
  }

  isLeader(): boolean {
    return this.options.leaderElection === undefined
      ? this.scheduler !== undefined
      : (this.elector?.isLeader() ?? false);
  }

  describe(): Record<string, unknown> {
    return {
      server: this.options.client.server,
      profiles: this.options.config.profiles.map((p) => p.schedulerName),
      leaderElect: this.options.leaderElection !== undefined,
    };
  }

  async start(): Promise<void> {
    try {
      await this.open();
      this.readiness.resolve();
    } catch (e) {
      this.readiness.reject(e);
      throw e;
    }
  }

  private async open(): Promise<void> {
    const o = this.options;
    // Writes are fenced: after the renew deadline without a renewal none leaves this process.
    const guard = () => this.elector?.assertLeader();
    const client = new KubeClient(
      o.leaderElection === undefined ? o.client : { ...o.client, writeGuard: guard },
    );
    this.client = client;
    const onError = (e: unknown, what = "informer") =>
      this.log.warn({ err: String(e), what }, "scheduler error");
    const factory = new SharedInformerFactory(client, { onError: (e) => onError(e) });
    this.factory = factory;
    const pods = factory.informerFor<Pod>("v1", "pods", { fieldSelector: NON_TERMINAL });
    const nodes = factory.informerFor<Node>("v1", "nodes");
    const pdbs = factory.informerFor<PodDisruptionBudget>("policy/v1", "poddisruptionbudgets");
    const pvcs = factory.informerFor<PersistentVolumeClaim>("v1", "persistentvolumeclaims");
    const pvs = factory.informerFor<PersistentVolume>("v1", "persistentvolumes");
    const namespaces = factory.informerFor<KubeObject>("v1", "namespaces");

    this.broadcaster = new EventBroadcaster({ client });
    const events = this.broadcaster.newEventsRecorder("default-scheduler", o.leaderElection?.identity);
    // Notes are plain text: never read as a format string.
    const recorder: EventRecorderLike = {
      eventf: (regarding, related, type, reason, action, note) =>
        events.eventf(regarding as never, (related ?? undefined) as never, type, reason, action, "%s", note),
    };
    const api = new ClientSchedulerApi(client);
    const metrics = new SchedulerMetrics(this.metrics);
    const cache = new SchedulerCache();
    const scheduler: { current?: Scheduler } = {};
    const frameworks = new Map<string, Framework>();
    let queue: PriorityQueue | undefined;
    const handleFor = (fwk: () => Framework): Handle => ({
      snapshotSharedLister: () => (scheduler.current as Scheduler).snapshot,
      api,
      eventRecorder: recorder,
      get podNominator() {
        return queue as PriorityQueue;
      },
      namespaceLabels: (ns) => namespaces.get(ns)?.metadata.labels,
      pdbs: () => pdbs.list(),
      pvc: (ns, name) => {
        const c = pvcs.get(`${ns}/${name}`);
        return c === undefined
          ? undefined
          : {
              volumeName: c.spec?.volumeName,
              phase: c.status?.phase,
              deletionTimestamp: c.metadata.deletionTimestamp,
            };
      },
      pv: (name) => {
        const v = pvs.get(name);
        return v === undefined
          ? undefined
          : { ...(v.spec?.nodeAffinity === undefined ? {} : { nodeAffinity: v.spec.nodeAffinity }) };
      },
      runFilterPlugins: (s: CycleState, p: Pod, ni: NodeInfo) =>
        fwk().runFilterPluginsWithNominatedPods(s, p, ni),
      runPreFilterExtensionAddPod: (s: CycleState, p: Pod, pi: PodInfo, ni: NodeInfo) =>
        fwk().runPreFilterExtensionAddPod(s, p, pi, ni),
      runPreFilterExtensionRemovePod: (s: CycleState, p: Pod, pi: PodInfo, ni: NodeInfo) =>
        fwk().runPreFilterExtensionRemovePod(s, p, pi, ni),
      imageStatesFilled: true,
      now: () => Date.now(),
    });
    const registry = inTreeRegistry();
    for (const profile of o.config.profiles) {
      let fwk: Framework | undefined;
      fwk = new Framework(
        profile,
        registry,
        handleFor(() => fwk as Framework),
      );
      frameworks.set(profile.schedulerName, fwk);
    }
    const first = frameworks.values().next().value as Framework;
    const clusterEvents = new Map<string, ClusterEventWithHint[]>();
    for (const f of frameworks.values()) for (const [k, v] of f.eventsToRegister()) clusterEvents.set(k, v);
    queue = new PriorityQueue({
      less: first.less,
      preEnqueuePlugins: first.preEnqueue,
      clusterEventMap: clusterEvents,
      podInitialBackoffSeconds: o.config.podInitialBackoffSeconds,
      podMaxBackoffSeconds: o.config.podMaxBackoffSeconds,
      registry: this.metrics,
      podLookup: (ns, name) => pods.get(`${ns}/${name}`),
      namespaceLabels: (ns) => namespaces.get(ns)?.metadata.labels,
    });
    const q = queue;
    scheduler.current = new Scheduler({
      profiles: frameworks,
      cache,
      queue: q,
      nominator: q,
      statusWriter: api,
      recorder,
      metrics,
      currentPod: (p) => pods.get(`${p.metadata.namespace}/${p.metadata.name}`),
      percentageOfNodesToScore: o.config.percentageOfNodesToScore,
      onError: (e, what) => onError(e, what),
    });
    const handlers = new SchedulerEventHandlers(
      cache,
      q,
      (p) => frameworks.has(p.spec.schedulerName ?? "default-scheduler"),
      recorder,
      (e, what) => onError(e, what),
    );
    pods.addEventHandler({
      onAdd: handlers.onPodAdd,
      onUpdate: handlers.onPodUpdate,
      onDelete: handlers.onPodDelete,
    });
    nodes.addEventHandler({
      onAdd: handlers.onNodeAdd,
      onUpdate: handlers.onNodeUpdate,
      onDelete: handlers.onNodeDelete,
    });
    const other = (
      inf: Informer<KubeObject>,
      resource: "PersistentVolumeClaim" | "PersistentVolume" | "Namespace",
    ) =>
      inf.addEventHandler({
        onAdd: (n) => handlers.onOther(resource, ActionType.Add, undefined, n),
        onUpdate: (a, b) => handlers.onOther(resource, ActionType.UpdateOther, a, b),
        onDelete: (a) => handlers.onOther(resource, ActionType.Delete, a, undefined),
      });
    other(pvcs as unknown as Informer<KubeObject>, "PersistentVolumeClaim");
    other(pvs as unknown as Informer<KubeObject>, "PersistentVolume");
    other(namespaces, "Namespace");
    factory.start();
    const synced = await factory.waitForCacheSync();
    if (Object.values(synced).some((s) => !s)) throw new Error("kube-scheduler: caches did not sync");
    this.scheduler = scheduler.current;
    this.queue = q;
    const interval = o.compareIntervalSeconds ?? 300;
    if (interval > 0) {
      this.compareTimer = setInterval(() => {
        const assigned = pods.list().filter((p) => (p.spec.nodeName ?? "") !== "");
        const d = cache.compare(nodes.list(), assigned);
        if (d.missedNodes.length + d.redundantNodes.length + d.missedPods.length + d.redundantPods.length > 0)
          this.log.warn({ ...d }, "cache comparer: the scheduler cache and the informers disagree");
      }, interval * 1000);
      this.compareTimer.unref();
    }
    const le = o.leaderElection;
    if (le === undefined) {
      q.run();
      this.scheduler.run();
      return;
    }
    this.elector = new LeaderElector({
      lock: { namespace: le.namespace, name: le.name },
      client,
      ...(le.identity === undefined ? {} : { identity: le.identity }),
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      releaseOnCancel: true,
      registry: this.metrics,
      logger: this.log,
      callbacks: {
        onStartedLeading: (signal) => {
          this.log.info({ identity: this.elector?.identity }, "successfully acquired lease, scheduling");
          this.queue?.run();
          this.scheduler?.run();
          signal.addEventListener("abort", () => {
            // Stop at once; a new leader takes over. kube-scheduler exits here.
            void this.scheduler?.stop();
          });
        },
        onStoppedLeading: () => {
          if (this.stopping) return;
          this.leaseLost = true;
          this.log.error({ identity: this.elector?.identity }, "leaderelection lost");
          this.lostResolve();
        },
      },
    });
    void this.elector.run();
  }

  private stopping = false;

  private async shutdown(): Promise<void> {
    this.stopping = true;
    if (this.compareTimer !== undefined) clearInterval(this.compareTimer);
    await this.scheduler?.stop();
    await this.elector?.stop();
    await this.broadcaster?.shutdown();
    await this.factory?.shutdown();
    await this.client?.close();
  }
}
