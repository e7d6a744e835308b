/**
 * The EndpointSlice controller (kube's pkg/controller/endpointslice): for every Service with a
 * selector, EndpointSlices listing the pods it selects, kept by the Reconciler with the fewest
 * writes. Keys are Services; pod changes queue the Services that select the pod (before and
 * after), slice changes queue their Service unless they are this controller's own writes (the
 * EndpointSliceTracker knows their generations) and arrive after endpointSliceChangeMinSyncDelay
 * so a burst of slice events costs one sync. Services without a selector (the API server's
 * `default/kubernetes` among them) and ExternalName Services are left alone: their slices are
 * written by whoever manages them.
 */
import type { Node, Pod } from "@skiff/api";
import {
  BucketRateLimiter,
  type EventRecorder,
  ItemExponentialFailureRateLimiter,
  type Lister,
  MaxOfRateLimiter,
  splitMetaNamespaceKey,
} from "@skiff/client";
import type { ControllerContext } from "../context.js";
import { deletedObject, QueueController } from "../controller.js";
import type { ControllerDescriptor } from "../registry.js";
import { Reconciler } from "./reconciler.js";
import { type EndpointSlice, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, type Service } from "./types.js";
import { findPort, servicesForPodHandlers } from "./util/controller-utils.js";
import { EndpointSliceTracker } from "./util/endpointslice-tracker.js";
import { TriggerTimeTracker } from "./util/trigger-time-tracker.js";
import { serviceControllerKey } from "./utils.js";

/** controllerQualifiedName: the managed-by label value of this controller's slices. */
export const CONTROLLER_QUALIFIED_NAME = "endpointslice-controller.k8s.io";
/** maxRetries: a Service failing this many syncs in a row is dropped until its next event. */
export const MAX_RETRIES = 15;
/** endpointSliceChangeMinSyncDelay. */
export const ENDPOINT_SLICE_CHANGE_MIN_SYNC_DELAY_MS = 1000;
/** defaultSyncBackOff and maxSyncBackOff: the per-Service retry backoff. */
const DEFAULT_SYNC_BACKOFF_MS = 1000;
const MAX_SYNC_BACKOFF_MS = 1000 * 1000;

export class EndpointSliceController extends QueueController {
  readonly reconciler: Reconciler;
  readonly tracker = new EndpointSliceTracker();
  private readonly triggerTimeTracker = new TriggerTimeTracker();
  private readonly services: Lister<Service>;
  private readonly pods: Lister<Pod>;
  private readonly slices: Lister<EndpointSlice>;
  private readonly recorder: EventRecorder;
  private readonly batchPeriodMs: number;
  /** Per Service, the named target ports last reported as defined by none of its pods. */
  private readonly unresolvedPorts = new Map<string, string>();

  constructor(ctx: ControllerContext) {
    super("endpointslice-controller", ctx, {
      queueName: "endpoint_slice",
      // As kube: a higher base backoff than the default (1 s, not 5 ms): a sync can rewrite many slices.
      rateLimiter: new MaxOfRateLimiter<string>(
        new ItemExponentialFailureRateLimiter<string>(DEFAULT_SYNC_BACKOFF_MS, MAX_SYNC_BACKOFF_MS),
        new BucketRateLimiter<string>(10, 100, ctx.clock),
      ),
      maxRetries: MAX_RETRIES,
    });
    this.recorder = ctx.recorder("endpoint-slice-controller");
    this.batchPeriodMs = ctx.config.endpointUpdatesBatchPeriodMs;
    const svcInformer = ctx.informers.informerFor<Service>("v1", "services");
    const podInformer = ctx.informers.informerFor<Pod>("v1", "pods");
    const nodeInformer = ctx.informers.informerFor<Node>("v1", "nodes");
    const sliceInformer = ctx.informers.informerFor<EndpointSlice>("discovery.k8s.io/v1", "endpointslices");
    this.services = svcInformer.lister();
    this.pods = podInformer.lister();
    this.slices = sliceInformer.lister();
    this.reconciler = new Reconciler({
      client: ctx.client,
      nodes: nodeInformer.lister(),
      maxEndpointsPerSlice: ctx.config.maxEndpointsPerSlice,
      tracker: this.tracker,
      controllerName: CONTROLLER_QUALIFIED_NAME,
      log: ctx.log,
    });
    svcInformer.addEventHandler({
      onAdd: (svc) => this.enqueue(svc),
      onUpdate: (_old, svc) => this.enqueue(svc),
      onDelete: (svc, tombstone) => this.enqueue(deletedObject(svc, tombstone)),
    });
    podInformer.addEventHandler(
      servicesForPodHandlers(this.services, (key) => this.queue.addAfter(key, this.batchPeriodMs)),
    );
    sliceInformer.addEventHandler({
      onAdd: (s) => {
        if (this.reconciler.managedByController(s) && this.tracker.shouldSync(s))
          this.queueServiceForSlice(s);
      },
      onUpdate: (prev, s) => this.onEndpointSliceUpdate(prev, s),
      onDelete: (obj, tombstone) => {
        const s = deletedObject(obj, tombstone);
        // A deletion this controller did not ask for: recreate what is missing.
        if (this.reconciler.managedByController(s) && this.tracker.has(s) && !this.tracker.handleDeletion(s))
          this.queueServiceForSlice(s);
      },
    });
  }

  /**
   * onEndpointSliceUpdate: a changed service-name label queues both Services; otherwise the
   * Service is queued when the slice moved to or from this controller, or is one of ours at a
   * generation the tracker has not seen (someone else changed it).
   */
  private onEndpointSliceUpdate(prev: EndpointSlice, s: EndpointSlice): void {
    if (prev.metadata.labels?.[LABEL_SERVICE_NAME] !== s.metadata.labels?.[LABEL_SERVICE_NAME]) {
      this.queueServiceForSlice(s);
      this.queueServiceForSlice(prev);
      return;
    }
    if (
      this.reconciler.managedByChanged(prev, s) ||
      (this.reconciler.managedByController(s) && this.tracker.shouldSync(s))
    )
      this.queueServiceForSlice(s);
  }

  private queueServiceForSlice(s: EndpointSlice): void {
    const key = serviceControllerKey(s);
    if (key === undefined) return;
    this.queue.addAfter(key, Math.max(ENDPOINT_SLICE_CHANGE_MIN_SYNC_DELAY_MS, this.batchPeriodMs));
  }

  private reportUnresolvedPorts(key: string, svc: Service, pods: Pod[]): void {
    const names = unresolvedPortNames(svc, pods);
    const seen = names.join(",");
    if ((this.unresolvedPorts.get(key) ?? "") === seen) return;
    this.unresolvedPorts.set(key, seen);
    for (const n of names) {
      const [portName, target] = n.split(":");
      this.recorder.eventf(
        svc,
        "Warning",
        "FailedToResolveTargetPort",
        "Service port %q has targetPort %q, which none of the %d selected pods defines (for protocol %s): it has no endpoints",
        portName,
        target,
        pods.length,
        svc.spec?.ports?.find((p) => p.name === portName)?.protocol ?? "TCP",
      );
    }
  }

  /** syncService. */
  async sync(key: string): Promise<void> {
    const [namespace, name] = splitMetaNamespaceKey(key);
    const svc = this.services.namespace(namespace).get(name);
    if (svc === undefined) {
      // Gone: its slices go with it through their owner reference (the garbage collector).
      this.triggerTimeTracker.deleteService(namespace, name);
      this.tracker.deleteService(namespace, name);
      this.unresolvedPorts.delete(key);
      return;
    }
    if (svc.spec?.type === "ExternalName") return;
    const selector = svc.spec?.selector;
    if (selector === undefined) return;
    const pods = this.pods.namespace(namespace).list({ matchLabels: selector });
    const slices = this.slices
      .namespace(namespace)
      .list({
        matchLabels: { [LABEL_SERVICE_NAME]: name, [LABEL_MANAGED_BY]: this.reconciler.controllerName },
      })
      // Slices being deleted are ignored, so a finalizer on one cannot wedge the Service.
      .filter((s) => s.metadata.deletionTimestamp === undefined);
    if (this.tracker.staleSlices(namespace, name, slices))
      throw new Error("EndpointSlice informer cache is out of date");
    this.reportUnresolvedPorts(key, svc, pods);
    const triggerTime = this.triggerTimeTracker.computeEndpointLastChangeTriggerTime(namespace, svc, pods);
    try {
      await this.reconciler.reconcile(svc, pods, slices, triggerTime);
    } catch (e) {
      this.recorder.eventf(
        svc,
        "Warning",
        "FailedToUpdateEndpointSlices",
        "Error updating Endpoint Slices for Service %s/%s: %v",
        namespace,
        name,
        e instanceof Error ? e.message : String(e),
      );
      throw e;
    }
  }
}

/**
 * A Service port whose named targetPort none of the selected pods defines has no endpoints (kube
 * leaves it out of every slice, silently); Skiff says so with a Warning Event on the Service,
 * once per change of the set of such ports, so that a typo in a port name is not a mystery.
 */
function unresolvedPortNames(svc: Service, pods: Pod[]): string[] {
  if (pods.length === 0) return [];
  return (svc.spec?.ports ?? [])
    .filter((p) => typeof p.targetPort === "string" && pods.every((pod) => findPort(pod, p) === undefined))
    .map((p) => `${p.name ?? ""}:${String(p.targetPort)}`);
}

/** kube 1.32's newEndpointSliceControllerDescriptor (--concurrent-service-endpoint-syncs workers). */
export const endpointSliceControllerDescriptor: ControllerDescriptor = {
  name: "endpointslice-controller",
  aliases: ["endpointslice"],
  concurrencyKey: "endpointslice",
  init: (ctx) => new EndpointSliceController(ctx),
};
