/**
 * The EndpointSlice reconciler's helpers (kube's k8s.io/endpointslice utils.go): a pod as an
 * Endpoint, a pod's resolved ports, a new slice for a Service, the slice labels derived from the
 * Service's, the address types a Service wants, and the slice to fill with the fewest writes.
 */
import { isIPv6 } from "node:net";
import type { Node, Pod } from "@skiff/api";
import { newControllerRef } from "../util/controller-ref.js";
import { isPodReady } from "../util/pod.js";
import {
  type AddressType,
  CLUSTER_IP_NONE,
  type CoreEndpointPort,
  ENDPOINTS_LAST_CHANGE_TRIGGER_TIME,
  type Endpoint,
  type EndpointPort,
  type EndpointSlice,
  IS_HEADLESS_SERVICE,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  LABEL_TOPOLOGY_ZONE,
  type Service,
} from "./types.js";
import { findPort, podTargetRef, shouldSetHostname } from "./util/controller-utils.js";
import { formatTriggerTime } from "./util/trigger-time-tracker.js";

/** The pod's IPs of one family (podIPs; podIP when the list is missing). */
export function getEndpointAddresses(pod: Pod, addressType: AddressType): string[] {
  const ips = pod.status?.podIPs?.map((p) => p.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
  return ips.filter((ip) => (addressType === "IPv6") === isIPv6(ip));
}

/**
 * podToEndpoint: serving is the pod's readiness, terminating its deletionTimestamp; ready is
 * serving and not terminating, or always true with publishNotReadyAddresses.
 */
export function podToEndpoint(
  pod: Pod,
  node: Node | undefined,
  svc: Service,
  addressType: AddressType,
): Endpoint {
  const serving = isPodReady(pod);
  const terminating = pod.metadata.deletionTimestamp !== undefined;
  const ready = svc.spec?.publishNotReadyAddresses === true || (serving && !terminating);
  const ep: Endpoint = {
    addresses: getEndpointAddresses(pod, addressType),
    conditions: { ready, serving, terminating },
    targetRef: podTargetRef(pod),
  };
  if ((pod.spec.nodeName ?? "") !== "") ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata.labels?.[LABEL_TOPOLOGY_ZONE];
  if (zone !== undefined && zone !== "") ep.zone = zone;
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec.hostname as string;
  return ep;
}

/**
 * getEndpointPorts: each Service port resolved in this pod; a port the pod lacks (a named
 * targetPort none of its containers has) is left out, so pods differ in their port sets. A
 * resolved port has its number, so it is a core/v1 EndpointPort (the Endpoints controller's
 * endpointPortFromServicePort) as well as a discovery/v1 one.
 */
export function getEndpointPorts(svc: Service, pod: Pod): CoreEndpointPort[] {
  const ports = svc.spec?.ports ?? [];
  if (ports.length === 0 && svc.spec?.clusterIP === CLUSTER_IP_NONE) return [];
  const out: CoreEndpointPort[] = [];
  for (const sp of ports) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const ep: CoreEndpointPort = { name: sp.name ?? "", port, protocol: sp.protocol ?? "TCP" };
    if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

/** isServiceIPSet: a cluster IP that is neither empty nor None. */
export function isServiceIPSet(svc: Service): boolean {
  const ip = svc.spec?.clusterIP ?? "";
  return ip !== "" && ip !== CLUSTER_IP_NONE;
}

const isReservedLabelKey = (k: string) =>
  k === LABEL_SERVICE_NAME || k === LABEL_MANAGED_BY || k === IS_HEADLESS_SERVICE;

/**
 * setEndpointSliceLabels: the Service's labels (reserved keys skipped), the headless label for a
 * Service without cluster IP, and the service-name and managed-by labels; plus whether the
 * slice's own non-reserved labels differ from the Service's.
 */
export function setEndpointSliceLabels(
  slice: EndpointSlice,
  svc: Service,
  controllerName: string,
): [Record<string, string>, boolean] {
  const sliceLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(slice.metadata.labels ?? {}))
    if (!isReservedLabelKey(k)) sliceLabels[k] = v;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata.labels ?? {})) if (!isReservedLabelKey(k)) labels[k] = v;
  const updated = !sameMap(sliceLabels, labels);
  if (!isServiceIPSet(svc)) labels[IS_HEADLESS_SERVICE] = "";
  labels[LABEL_SERVICE_NAME] = svc.metadata.name;
  labels[LABEL_MANAGED_BY] = controllerName;
  return [labels, updated];
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
}

/** getEndpointSlicePrefix: `<service>-`, the name's generateName. */
export function getEndpointSlicePrefix(serviceName: string): string {
  const prefix = `${serviceName}-`;
  return prefix.length <= 253 ? prefix : serviceName;
}

/** newEndpointSlice: an empty slice for these ports, owned by the Service, not yet named. */
export function newEndpointSlice(
  svc: Service,
  ports: EndpointPort[],
  addressType: AddressType,
  controllerName: string,
): EndpointSlice {
  const slice: EndpointSlice = {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      labels: {},
      generateName: getEndpointSlicePrefix(svc.metadata.name),
      ownerReferences: [newControllerRef(svc, { apiVersion: "v1", kind: "Service" })],
      namespace: svc.metadata.namespace,
    },
    ports,
    addressType,
    endpoints: [],
  };
  slice.metadata.labels = setEndpointSliceLabels(slice, svc, controllerName)[0];
  return slice;
}

/** ownedBy: the slice has an owner reference to this Service (by uid). */
export function ownedBy(slice: EndpointSlice, svc: Service): boolean {
  return (slice.metadata.ownerReferences ?? []).some(
    (o) => o.uid === svc.metadata.uid && o.kind === "Service" && o.apiVersion === "v1",
  );
}

/** getSliceToFill: the slice closest to full once `numEndpoints` more are in it, if one has room. */
export function getSliceToFill(
  slices: readonly EndpointSlice[],
  numEndpoints: number,
  maxEndpoints: number,
): EndpointSlice | undefined {
  let closestDiff = maxEndpoints;
  let closest: EndpointSlice | undefined;
  for (const s of slices) {
    const diff = maxEndpoints - (numEndpoints + s.endpoints.length);
    if (diff >= 0 && diff < closestDiff) {
      closestDiff = diff;
      closest = s;
      if (diff === 0) return closest;
    }
  }
  return closest;
}

/** addTriggerTimeAnnotation: set, or removed when there is no new trigger time. */
export function addTriggerTimeAnnotation(slice: EndpointSlice, triggerTime: number | undefined): void {
  const annotations = { ...slice.metadata.annotations };
  if (triggerTime !== undefined)
    annotations[ENDPOINTS_LAST_CHANGE_TRIGGER_TIME] = formatTriggerTime(triggerTime);
  else delete annotations[ENDPOINTS_LAST_CHANGE_TRIGGER_TIME];
  slice.metadata.annotations = annotations;
}

/** ServiceControllerKey: the Service key of a slice, from its service-name label. */
export function serviceControllerKey(slice: EndpointSlice): string | undefined {
  const name = slice.metadata.labels?.[LABEL_SERVICE_NAME];
  if (name === undefined || name === "") return undefined;
  return `${slice.metadata.namespace ?? ""}/${name}`;
}

/**
 * getAddressTypesForService: from spec.ipFamilies; without them (an old API server), the
 * cluster IP's family, or both families for a headless Service.
 */
export function getAddressTypesForService(svc: Service): Set<AddressType> {
  const out = new Set<AddressType>();
  for (const f of svc.spec?.ipFamilies ?? []) {
    if (f === "IPv4") out.add("IPv4");
    if (f === "IPv6") out.add("IPv6");
  }
  if (out.size > 0) return out;
  if (isServiceIPSet(svc)) {
    out.add(isIPv6(svc.spec?.clusterIP ?? "") ? "IPv6" : "IPv4");
    return out;
  }
  out.add("IPv4");
  out.add("IPv6");
  return out;
}
