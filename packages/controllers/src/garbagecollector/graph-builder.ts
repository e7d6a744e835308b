/**
 * kube's GraphBuilder (garbagecollector/graph_builder.go): a monitor per deletable resource (a
 * handler on the shared metadata-only informer of that resource) funnels every add, update and
 * delete into the graphChanges queue; one loop takes them in order and changes the graph
 * (graph-changes.ts), feeding the attemptToDelete and attemptToOrphan queues the collector's
 * workers drain.
 */
import type { ObjectMeta } from "@skiff/api";
import {
  type Clock,
  type EventRecorder,
  type Informer,
  type PartialObjectMetadata,
  RateLimitingQueue,
  type ResourceEventHandlerRegistration,
  type SharedInformerFactory,
} from "@skiff/client";
import type { Logger } from "@skiff/component-base";
import type { Registry } from "prom-client";
import type { MonitoredResource } from "./discovery.js";
import {
  formatReference,
  type GraphNode,
  type ObjectReference,
  ownerReferenceCoordinates,
  UIDToNode,
} from "./graph.js";
import { type GraphEvent, type GraphState, processGraphEvent } from "./graph-changes.js";
import { ReferenceCache } from "./reference-cache.js";

/** kube's monitor: a resource's handler registration on its shared informer. */
interface Monitor {
  readonly resource: MonitoredResource;
  readonly informer: Informer<PartialObjectMetadata>;
  readonly registration: ResourceEventHandlerRegistration;
}

export interface GraphBuilderOptions {
  informers: SharedInformerFactory;
  recorder: EventRecorder;
  log: Logger;
  metrics: Registry;
  clock?: Clock;
}

export class GraphBuilder implements GraphState {
  readonly uidToNode = new UIDToNode();
  /** Owners known to be absent, shared with the collector (kube: 500 entries). */
  readonly absentOwnerCache = new ReferenceCache(500);
  readonly graphChanges: RateLimitingQueue<GraphEvent>;
  readonly attemptToDeleteQueue: RateLimitingQueue<GraphNode>;
  readonly attemptToOrphanQueue: RateLimitingQueue<GraphNode>;
  readonly log: Logger;
  private monitors = new Map<string, Monitor>();
  private readonly informers: SharedInformerFactory;
  private readonly recorder: EventRecorder;

  constructor(o: GraphBuilderOptions) {
    this.informers = o.informers;
    this.recorder = o.recorder;
    this.log = o.log;
    const q = (name: string) => ({
      name,
      registry: o.metrics,
      ...(o.clock === undefined ? {} : { clock: o.clock }),
    });
    // kube's queue names (the `name` label of the workqueue_* metrics).
    this.graphChanges = new RateLimitingQueue<GraphEvent>(q("garbage_collector_graph_changes"));
    this.attemptToDeleteQueue = new RateLimitingQueue<GraphNode>(q("garbage_collector_attempt_to_delete"));
    this.attemptToOrphanQueue = new RateLimitingQueue<GraphNode>(q("garbage_collector_attempt_to_orphan"));
  }

  attemptToDelete(n: GraphNode, rateLimited = false): void {
    if (rateLimited) this.attemptToDeleteQueue.addRateLimited(n);
    else this.attemptToDeleteQueue.add(n);
  }

  attemptToOrphan(n: GraphNode): void {
    this.attemptToOrphanQueue.add(n);
  }

  reportInvalidNamespaceOwnerRef(n: GraphNode, ownerUid: string): void {
    const ref = n.owners.find((o) => o.uid === ownerUid);
    if (ref === undefined) return;
    const id = n.identity;
    const invalid = formatReference({ ...ownerReferenceCoordinates(ref), namespace: id.namespace });
    this.recorder.eventf(
      { apiVersion: id.apiVersion, kind: id.kind, namespace: id.namespace, name: id.name, uid: id.uid },
      "Warning",
      "OwnerRefInvalidNamespace",
      "ownerRef %s does not exist in namespace %q",
      invalid,
      id.namespace,
    );
  }

  /** The handlers of a monitor: every change becomes a graph event with the resource's kind. */
  private handlersFor(r: MonitoredResource) {
    const gvk = { apiVersion: r.apiVersion, kind: r.kind };
    const add = (
      type: GraphEvent["type"],
      obj: { metadata: ObjectMeta },
      oldObj?: { metadata: ObjectMeta },
    ) =>
      this.graphChanges.add({ type, virtual: false, obj, ...(oldObj === undefined ? {} : { oldObj }), gvk });
    return {
      onAdd: (obj: PartialObjectMetadata) => add("add", obj),
      onUpdate: (oldObj: PartialObjectMetadata, obj: PartialObjectMetadata) => add("update", obj, oldObj),
      // A tombstone's object is the last state seen, which is what kube's handler unwraps too.
      onDelete: (obj: PartialObjectMetadata) => add("delete", obj),
    };
  }

  /**
   * kube's syncMonitors: a monitor for every resource given (kept if it exists), the monitors of
   * resources no longer given removed. Monitors are not started here (startMonitors).
   */
  syncMonitors(resources: ReadonlyMap<string, MonitoredResource>): {
    added: number;
    kept: number;
    removed: number;
  } {
    const current = new Map<string, Monitor>();
    const toRemove = new Map(this.monitors);
    let added = 0;
    for (const [key, r] of resources) {
      const m = toRemove.get(key);
      if (m !== undefined) {
        current.set(key, m);
        toRemove.delete(key);
        continue;
      }
      const informer = this.informers.informerFor<PartialObjectMetadata>(r.apiVersion, r.resource, {
        metadataOnly: true,
      });
      current.set(key, {
        resource: r,
        informer,
        registration: informer.addEventHandler(this.handlersFor(r)),
      });
      added++;
    }
    this.monitors = current;
    // A shared informer may serve others: stop listening rather than stopping it.
    for (const m of toRemove.values()) m.registration.remove();
    return { added, kept: current.size - added, removed: toRemove.size };
  }

  /** kube's startMonitors: starts the informers of new monitors (the factory starts only those). */
  startMonitors(): void {
    this.informers.start();
  }

  /** kube's IsSynced: some monitors, all synced. */
  isSynced(): boolean {
    if (this.monitors.size === 0) return false;
    for (const m of this.monitors.values()) if (!m.informer.hasSynced()) return false;
    return true;
  }

  /** Resolves true once every current monitor has synced; false if one stops or the signal aborts. */
  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    const synced = await Promise.all([...this.monitors.values()].map((m) => m.informer.waitForSync(signal)));
    return synced.length > 0 && synced.every((s) => s);
  }

  /** kube's IsResourceSynced. */
  isResourceSynced(key: string): boolean {
    return this.monitors.get(key)?.informer.hasSynced() === true;
  }

  /** The keys of the resources monitored ("apps/v1/deployments", ...). */
  monitoredResources(): string[] {
    return [...this.monitors.keys()];
  }

  /** Stops listening to every informer (kube's stopMonitors; the factory stops the informers). */
  stopMonitors(): void {
    for (const m of this.monitors.values()) m.registration.remove();
    this.monitors = new Map();
  }

  /** kube's enqueueVirtualDeleteEvent: a GET proved this identity absent. */
  enqueueVirtualDeleteEvent(ref: ObjectReference): void {
    this.graphChanges.add({
      type: "delete",
      virtual: true,
      gvk: { apiVersion: ref.apiVersion, kind: ref.kind },
      obj: { metadata: { namespace: ref.namespace, name: ref.name, uid: ref.uid } },
    });
  }

  /** Takes one event and applies it (false once the queue is shut down). For tests too. */
  async processGraphChanges(): Promise<boolean> {
    const e = await this.graphChanges.get();
    if (e === undefined) return false;
    try {
      processGraphEvent(this, e);
    } catch (err) {
      this.log.error(
        { err: err instanceof Error ? err.message : String(err), uid: e.obj.metadata.uid },
        "garbage collector: processing a graph change failed",
      );
    } finally {
      this.graphChanges.done(e);
    }
    return true;
  }

  /** Applies every event queued now, without waiting (for tests). */
  async drainGraphChanges(): Promise<void> {
    while (this.graphChanges.len() > 0) await this.processGraphChanges();
  }

  /** kube's runProcessGraphChanges: until the queue shuts down. */
  async run(): Promise<void> {
    while (await this.processGraphChanges()) {
      // next event
    }
  }

  shutDown(): void {
    this.graphChanges.shutDown();
    this.attemptToDeleteQueue.shutDown();
    this.attemptToOrphanQueue.shutDown();
  }
}
