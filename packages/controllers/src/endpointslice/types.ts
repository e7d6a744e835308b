/**
 * TypeScript shapes of what the endpoint controllers read and write: core/v1 Service and
 * Endpoints, discovery.k8s.io/v1 EndpointSlice (field names as k8s.io/api spells them), and the
 * well-known labels and annotations on them (k8s.io/api/core/v1 and discovery/v1 constants).
 */
import type { KubeObject, ObjectMeta, ObjectReference } from "@skiff/api";

export interface ServicePort {
  name?: string;
  protocol?: "TCP" | "UDP" | "SCTP";
  appProtocol?: string;
  port: number;
  /** A number, or the name of a container port looked up in each pod. */
  targetPort?: number | string;
  nodePort?: number;
}

export interface ServiceSpec {
  type?: "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";
  /** Pods with all of these labels back the Service; no selector: endpoints are managed by hand. */
  selector?: Record<string, string>;
  ports?: ServicePort[];
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: ("IPv4" | "IPv6")[];
  publishNotReadyAddresses?: boolean;
  [field: string]: unknown;
}

export interface Service extends KubeObject {
  metadata: ObjectMeta & { name: string; namespace: string };
  spec?: ServiceSpec;
}

export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

/** discovery/v1 Endpoint. */
export interface Endpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  hostname?: string;
  targetRef?: ObjectReference;
  nodeName?: string;
  zone?: string;
  hints?: unknown;
}

/** discovery/v1 EndpointPort. */
export interface EndpointPort {
  name?: string;
  protocol?: string;
  port?: number;
  appProtocol?: string;
}

export type AddressType = "IPv4" | "IPv6" | "FQDN";

export interface EndpointSlice extends KubeObject {
  metadata: ObjectMeta & { namespace?: string };
  addressType: AddressType;
  endpoints: Endpoint[];
  ports?: EndpointPort[];
}

/** core/v1 EndpointAddress. */
export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectReference;
}

/** core/v1 EndpointPort (name, port, protocol, appProtocol). */
export interface CoreEndpointPort {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: CoreEndpointPort[];
}

/** core/v1 Endpoints. */
export interface Endpoints extends KubeObject {
  metadata: ObjectMeta;
  subsets?: EndpointSubset[];
}

/** discovery.LabelServiceName. */
export const LABEL_SERVICE_NAME = "kubernetes.io/service-name";
/** discovery.LabelManagedBy. */
export const LABEL_MANAGED_BY = "endpointslice.kubernetes.io/managed-by";
/** v1.IsHeadlessService. */
export const IS_HEADLESS_SERVICE = "service.kubernetes.io/headless";
/** v1.EndpointsLastChangeTriggerTime. */
export const ENDPOINTS_LAST_CHANGE_TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time";
/** v1.EndpointsOverCapacity. */
export const ENDPOINTS_OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity";
/** v1.LabelTopologyZone. */
export const LABEL_TOPOLOGY_ZONE = "topology.kubernetes.io/zone";
/** v1.ClusterIPNone: a headless Service. */
export const CLUSTER_IP_NONE = "None";
