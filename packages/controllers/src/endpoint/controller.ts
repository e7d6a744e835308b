/**
 * The Endpoints controller (kube's pkg/controller/endpoint): the legacy core/v1 Endpoints of every
 * Service with a selector, one object named as the Service, mirroring what the EndpointSlice
 * controller writes: ready pods under `addresses`, the others under `notReadyAddresses` (all
 * ready with publishNotReadyAddresses), terminating pods left out, one subset per set of ports,
 * packed canonically so an unchanged set is never rewritten. Labels are the Service's plus
 * `service.kubernetes.io/headless` for a headless Service; the last-change-trigger-time annotation
 * as the EndpointSlice controller's; over 1000 addresses it is truncated and says so. A deleted
 * Service's Endpoints are deleted; at start every Endpoints object is checked once, so those
 * left by a Service deleted while the controller was down go too.
 */
import { isIPv6 } from "node:net";
import type { Pod } from "@skiff/api";
import { type EventRecorder, isNotFound, type Lister, splitMetaNamespaceKey } from "@skiff/client";
import type { ControllerContext } from "../context.js";
import { deletedObject, QueueController } from "../controller.js";
import {
  CLUSTER_IP_NONE,
  type CoreEndpointPort,
  ENDPOINTS_LAST_CHANGE_TRIGGER_TIME,
  ENDPOINTS_OVER_CAPACITY,
  type EndpointAddress,
  type EndpointSubset,
  type Endpoints,
  IS_HEADLESS_SERVICE,
  type Service,
} from "../endpointslice/types.js";
import {
  podTargetRef,
  servicesForPodHandlers,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from "../endpointslice/util/controller-utils.js";
import { formatTriggerTime, TriggerTimeTracker } from "../endpointslice/util/trigger-time-tracker.js";
import { getEndpointAddresses, getEndpointPorts, isServiceIPSet } from "../endpointslice/utils.js";
import type { ControllerDescriptor } from "../registry.js";
import { isNamespaceTerminating } from "../util/errors.js";
import { isPodReady } from "../util/pod.js";
import { capacityAnnotationSetCorrectly, TRUNCATED, truncateEndpoints } from "./capacity.js";
import { repackSubsets } from "./repack.js";
import { semanticEqual } from "./semantic.js";

/** maxRetries, as the EndpointSlice controller's. */
export const MAX_RETRIES = 15;
/** resourcelock.LeaderElectionRecordAnnotationKey: old leader-election Endpoints, never touched. */
const LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader";

/**
 * kube's staleEndpointsTracker: the resourceVersion an Endpoints object had before this
 * controller last replaced it. Seeing it again in the cache means the cache lags the write.
 */
class StaleEndpointsTracker {
  private readonly staleResourceVersion = new Map<string, string>();

  stale(ep: Endpoints): void {
    this.staleResourceVersion.set(
      `${ep.metadata.namespace}/${ep.metadata.name}`,
      ep.metadata.resourceVersion ?? "",
    );
  }

  isStale(ep: Endpoints): boolean {
    return (
      this.staleResourceVersion.get(`${ep.metadata.namespace}/${ep.metadata.name}`) ===
      ep.metadata.resourceVersion
    );
  }

  delete(namespace: string, name: string): void {
    this.staleResourceVersion.delete(`${namespace}/${name}`);
  }
}

/**
 * podToEndpointAddressForService: the pod's IP of the Service's (first) IP family, its node and
 * a reference to it; undefined when the pod has no IP of that family.
 */
export function podToEndpointAddress(svc: Service, pod: Pod): EndpointAddress | undefined {
  let v6: boolean;
  const families = svc.spec?.ipFamilies ?? [];
  if (families.length > 0) v6 = families[0] === "IPv6";
  else if (isServiceIPSet(svc)) v6 = isIPv6(svc.spec?.clusterIP ?? "");
  else v6 = isIPv6(pod.status?.podIP ?? "");
  const ip = getEndpointAddresses(pod, v6 ? "IPv6" : "IPv4")[0];
  if (ip === undefined) return undefined;
  return { ip, nodeName: pod.spec.nodeName ?? "", targetRef: podTargetRef(pod) };
}

export class EndpointsController extends QueueController {
  private readonly triggerTimeTracker = new TriggerTimeTracker();
  private readonly staleEndpoints = new StaleEndpointsTracker();
  private readonly services: Lister<Service>;
  private readonly pods: Lister<Pod>;
  private readonly endpoints: Lister<Endpoints>;
  private readonly recorder: EventRecorder;
  private readonly batchPeriodMs: number;

  constructor(ctx: ControllerContext) {
    super("endpoints-controller", ctx, { queueName: "endpoint", maxRetries: MAX_RETRIES });
    this.recorder = ctx.recorder("endpoint-controller");
    this.batchPeriodMs = ctx.config.endpointUpdatesBatchPeriodMs;
    const svcInformer = ctx.informers.informerFor<Service>("v1", "services");
    const podInformer = ctx.informers.informerFor<Pod>("v1", "pods");
    const epInformer = ctx.informers.informerFor<Endpoints>("v1", "endpoints");
    this.services = svcInformer.lister();
    this.pods = podInformer.lister();
    this.endpoints = epInformer.lister();
    svcInformer.addEventHandler({
      onAdd: (svc) => this.enqueue(svc),
      onUpdate: (_old, svc) => this.enqueue(svc),
      onDelete: (svc, tombstone) => this.enqueue(deletedObject(svc, tombstone)),
    });
    podInformer.addEventHandler(
      servicesForPodHandlers(this.services, (key) => this.queue.addAfter(key, this.batchPeriodMs)),
    );
    // A deleted Endpoints object is written again (if its Service still wants one).
    epInformer.addEventHandler({ onDelete: (ep, tombstone) => this.enqueue(deletedObject(ep, tombstone)) });
  }

  override async run(workers: number, signal: AbortSignal): Promise<void> {
    const running = super.run(workers, signal);
    this.checkLeftoverEndpoints();
    await running;
  }

  /** checkLeftoverEndpoints: queue every Endpoints object once, so orphans are found and deleted. */
  checkLeftoverEndpoints(): void {
    for (const ep of this.endpoints.list())
      if (!Object.hasOwn(ep.metadata.annotations ?? {}, LEADER_ANNOTATION)) this.enqueue(ep);
  }

  /** syncService. */
  async sync(key: string): Promise<void> {
    const [namespace, name] = splitMetaNamespaceKey(key);
    const client = this.ctx.client.resource<Endpoints>("v1", "endpoints", namespace);
    const svc = this.services.namespace(namespace).get(name);
    if (svc === undefined) {
      try {
        await client.delete(name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      this.triggerTimeTracker.deleteService(namespace, name);
      this.staleEndpoints.delete(namespace, name);
      return;
    }
    if (svc.spec?.type === "ExternalName") return;
    const selector = svc.spec?.selector;
    if (selector === undefined) return;
    const pods = this.pods.namespace(namespace).list({ matchLabels: selector });
    const triggerTime = this.triggerTimeTracker.computeEndpointLastChangeTriggerTime(namespace, svc, pods);
    const subsets = repackSubsets(this.desiredSubsets(svc, pods));

    let current = this.endpoints.namespace(namespace).get(name);
    if (current !== undefined && this.staleEndpoints.isStale(current))
      throw new Error(
        `endpoints informer cache is out of date, resource version ${current.metadata.resourceVersion} already processed for endpoints ${key}`,
      );
    current ??= {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name, ...(svc.metadata.labels === undefined ? {} : { labels: svc.metadata.labels }) },
    };
    const create = (current.metadata.resourceVersion ?? "") === "";
    const { [IS_HEADLESS_SERVICE]: _headless, ...compareLabels } = current.metadata.labels ?? {};
    if (
      !create &&
      semanticEqual(current.subsets, subsets) &&
      semanticEqual(compareLabels, svc.metadata.labels) &&
      capacityAnnotationSetCorrectly(current.metadata.annotations, current.subsets ?? [])
    )
      return;

    const next: Endpoints = {
      ...current,
      metadata: { ...current.metadata, labels: { ...svc.metadata.labels } },
      subsets,
    };
    const annotations = { ...current.metadata.annotations };
    if (triggerTime !== undefined)
      annotations[ENDPOINTS_LAST_CHANGE_TRIGGER_TIME] = formatTriggerTime(triggerTime);
    else delete annotations[ENDPOINTS_LAST_CHANGE_TRIGGER_TIME];
    if (truncateEndpoints(next)) annotations[ENDPOINTS_OVER_CAPACITY] = TRUNCATED;
    else delete annotations[ENDPOINTS_OVER_CAPACITY];
    next.metadata.annotations = annotations;
    const labels = next.metadata.labels as Record<string, string>;
    if (!isServiceIPSet(svc)) labels[IS_HEADLESS_SERVICE] = "";
    else delete labels[IS_HEADLESS_SERVICE];

    try {
      if (create) await client.create(next);
      else {
        const updated = await client.update(next);
        // The cache may show the replaced version for a while: syncing on it would undo this write.
        if (updated.metadata.resourceVersion !== current.metadata.resourceVersion)
          this.staleEndpoints.stale(current);
      }
    } catch (e) {
      // A terminating namespace refuses creates for good: nothing to retry.
      if (create && isNamespaceTerminating(e)) return;
      const msg = e instanceof Error ? e.message : String(e);
      if (create)
        this.recorder.eventf(
          next,
          "Warning",
          "FailedToCreateEndpoint",
          "Failed to create endpoint for service %v/%v: %v",
          namespace,
          name,
          msg,
        );
      else
        this.recorder.eventf(
          next,
          "Warning",
          "FailedToUpdateEndpoint",
          "Failed to update endpoint %v/%v: %v",
          namespace,
          name,
          msg,
        );
      throw e;
    }
  }

  /** One subset per pod and Service port (addEndpointSubset), before repacking. */
  private desiredSubsets(svc: Service, pods: readonly Pod[]): EndpointSubset[] {
    const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
    const ports = svc.spec?.ports ?? [];
    const subsets: EndpointSubset[] = [];
    const add = (pod: Pod, addr: EndpointAddress, port: CoreEndpointPort | undefined) => {
      const ss: EndpointSubset =
        publishNotReady || isPodReady(pod) ? { addresses: [addr] } : { notReadyAddresses: [addr] };
      if (port !== undefined) ss.ports = [port];
      subsets.push(ss);
    };
    for (const pod of pods) {
      if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
      const addr = podToEndpointAddress(svc, pod);
      if (addr === undefined) continue;
      if (shouldSetHostname(pod, svc)) addr.hostname = pod.spec.hostname as string;
      // A headless Service may have no ports.
      if (ports.length === 0) {
        if (svc.spec?.clusterIP === CLUSTER_IP_NONE) add(pod, addr, undefined);
        continue;
      }
      for (const port of getEndpointPorts(svc, pod)) add(pod, addr, port);
    }
    return subsets;
  }
}

/** kube 1.32's newEndpointsControllerDescriptor (--concurrent-endpoint-syncs workers). */
export const endpointsControllerDescriptor: ControllerDescriptor = {
  name: "endpoints-controller",
  aliases: ["endpoint"],
  concurrencyKey: "endpoint",
  init: (ctx) => new EndpointsController(ctx),
};
