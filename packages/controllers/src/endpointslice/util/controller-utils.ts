/**
 * What the EndpointSlice and Endpoints controllers share about pods and Services (kube's
 * k8s.io/endpointslice/util controller_utils.go and podutil.FindPort): which pods belong in
 * endpoints, which Services a pod event concerns, a pod as an endpoint's target, and how a
 * Service's targetPort resolves in a pod.
 */
import type { ObjectReference, Pod } from "@skiff/api";
import type { InformerHandlers, Lister } from "@skiff/client";
import { deletedObject } from "../../controller.js";
import { isPodReady, isPodTerminal } from "../../util/pod.js";
import type { Endpoint, Service, ServicePort } from "../types.js";

/**
 * ShouldPodBeInEndpoints: not terminal, has an IP, and (unless includeTerminating) not being
 * deleted. Terminal is the pod's phase; terminating is its deletionTimestamp.
 */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if ((pod.status?.podIP ?? "") === "" && (pod.status?.podIPs ?? []).length === 0) return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp !== undefined) return false;
  return true;
}

/** ShouldSetHostname: the pod's hostname is published when its subdomain is the Service. */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  const hostname = pod.spec.hostname;
  return (
    typeof hostname === "string" &&
    hostname !== "" &&
    pod.spec.subdomain === svc.metadata.name &&
    svc.metadata.namespace === pod.metadata.namespace
  );
}

/** Whether a Service's selector (a map, matched as labels.Set(selector).AsSelector()) selects the labels. */
export function serviceSelects(svc: Service, labels: Readonly<Record<string, string>> | undefined): boolean {
  const selector = svc.spec?.selector;
  if (selector === undefined) return false;
  const l = labels ?? {};
  return Object.entries(selector).every(([k, v]) => Object.hasOwn(l, k) && l[k] === v);
}

/**
 * GetPodServiceMemberships: the keys of the Services in the pod's namespace whose selector
 * selects it (Services without a selector select nothing).
 */
export function getPodServiceMemberships(services: Lister<Service>, pod: Pod): Set<string> {
  const keys = new Set<string>();
  for (const svc of services.namespace(pod.metadata.namespace).list())
    if (serviceSelects(svc, pod.metadata.labels)) keys.add(`${svc.metadata.namespace}/${svc.metadata.name}`);
  return keys;
}

const sameLabels = (a: Pod, b: Pod) =>
  JSON.stringify(Object.entries(a.metadata.labels ?? {}).sort()) ===
  JSON.stringify(Object.entries(b.metadata.labels ?? {}).sort());

/**
 * podEndpointsChanged: [whether the pod changed in a way its endpoints show (deletion, readiness,
 * IPs), whether it changed in a way that may change which Services select it (labels, hostname,
 * subdomain)]. Name, namespace and uid never change, nor nodeName once the pod has an IP.
 */
export function podEndpointsChanged(oldPod: Pod, newPod: Pod): [boolean, boolean] {
  const labelsChanged =
    !sameLabels(oldPod, newPod) ||
    oldPod.spec.hostname !== newPod.spec.hostname ||
    oldPod.spec.subdomain !== newPod.spec.subdomain;
  if (oldPod.metadata.deletionTimestamp !== newPod.metadata.deletionTimestamp) return [true, labelsChanged];
  if (isPodReady(oldPod) !== isPodReady(newPod)) return [true, labelsChanged];
  const oldIPs = oldPod.status?.podIPs ?? [];
  const newIPs = newPod.status?.podIPs ?? [];
  if (oldIPs.length !== newIPs.length) return [true, labelsChanged];
  for (let i = 0; i < oldIPs.length; i++) if (oldIPs[i]?.ip !== newIPs[i]?.ip) return [true, labelsChanged];
  return [false, labelsChanged];
}

/**
 * GetServicesToUpdateOnPodChange: the Services to sync after a pod update. A resync (same
 * resourceVersion) concerns none; a label change concerns the Services the pod joined or left
 * (all of the old and new ones if its endpoints changed too).
 */
export function getServicesToUpdateOnPodChange(
  services: Lister<Service>,
  oldPod: Pod,
  newPod: Pod,
): Set<string> {
  if (newPod.metadata.resourceVersion === oldPod.metadata.resourceVersion) return new Set();
  const [podChanged, labelsChanged] = podEndpointsChanged(oldPod, newPod);
  if (!podChanged && !labelsChanged) return new Set();
  const now = getPodServiceMemberships(services, newPod);
  if (!labelsChanged) return now;
  const before = getPodServiceMemberships(services, oldPod);
  if (podChanged) return new Set([...now, ...before]);
  // Only the labels changed: the symmetric difference, as determineNeededServiceUpdates.
  const out = new Set<string>();
  for (const k of now) if (!before.has(k)) out.add(k);
  for (const k of before) if (!now.has(k)) out.add(k);
  return out;
}

/**
 * The pod handlers of both controllers (kube's addPod, updatePod and deletePod in each): an added
 * or deleted pod concerns the Services that select it, an update those
 * GetServicesToUpdateOnPodChange names; `queueService` gets each Service's key.
 */
export function servicesForPodHandlers(
  services: Lister<Service>,
  queueService: (key: string) => void,
): InformerHandlers<Pod> {
  const queueAll = (keys: Set<string>) => {
    for (const key of keys) queueService(key);
  };
  return {
    onAdd: (pod) => queueAll(getPodServiceMemberships(services, pod)),
    onUpdate: (old, cur) => queueAll(getServicesToUpdateOnPodChange(services, old, cur)),
    onDelete: (pod, tombstone) => queueAll(getPodServiceMemberships(services, deletedObject(pod, tombstone))),
  };
}

/** The pod as an endpoint's targetRef (kind, namespace, name and uid, as both controllers set it). */
export function podTargetRef(pod: Pod): ObjectReference {
  return {
    kind: "Pod",
    namespace: pod.metadata.namespace,
    name: pod.metadata.name,
    uid: pod.metadata.uid ?? "",
  };
}

/**
 * FindPort: a numeric targetPort is the port; a named one is looked up among the containers'
 * ports (then restartable init containers', the sidecars) with the Service port's protocol.
 * Undefined when the pod has no such port (the pod then has no endpoint for that port).
 */
export function findPort(pod: Pod, svcPort: ServicePort): number | undefined {
  const target = svcPort.targetPort ?? svcPort.port;
  if (typeof target === "number") return target;
  const protocol = svcPort.protocol ?? "TCP";
  const sidecars = (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
  for (const c of [...pod.spec.containers, ...sidecars])
    for (const p of c.ports ?? [])
      if (p.name === target && (p.protocol ?? "TCP") === protocol) return p.containerPort;
  return undefined;
}

/**
 * EndpointsEqualBeyondHash: two endpoints with the same hash (addresses, hostname, target) are
 * the same unless their node, zone, conditions, hints or target reference differ.
 */
export function endpointsEqualBeyondHash(a: Endpoint, b: Endpoint): boolean {
  if (a.nodeName !== b.nodeName || a.zone !== b.zone) return false;
  const ca = a.conditions ?? {};
  const cb = b.conditions ?? {};
  if (ca.ready !== cb.ready || ca.serving !== cb.serving || ca.terminating !== cb.terminating) return false;
  if (JSON.stringify(a.hints) !== JSON.stringify(b.hints)) return false;
  return targetRefKey(a) === targetRefKey(b);
}

/** A target reference compared as semanticIgnoreResourceVersion does. */
function targetRefKey(e: Endpoint): string {
  const r = e.targetRef;
  if (r === undefined) return "";
  return JSON.stringify([r.kind, r.namespace, r.name, r.uid, r.apiVersion, r.fieldPath]);
}
