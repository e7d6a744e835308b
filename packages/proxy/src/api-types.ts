/**
 * The core/v1 and discovery/v1 fields kube-proxy and the cluster DNS read, as typed views over
 * the API's objects (the rest of each object is kept by KubeObject's index signature).
 */
import type { KubeObject, ObjectMeta } from "@skiff/api";

export type Protocol = "TCP" | "UDP" | "SCTP";

/** core/v1 ServicePort. */
export interface ServicePort {
  name?: string;
  protocol?: Protocol;
  port: number;
  /** A number, or the name of a container port (resolved by the EndpointSlice controller). */
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export interface ServiceSpec {
  type?: "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: ServicePort[];
  selector?: Record<string, string>;
  sessionAffinity?: "None" | "ClientIP";
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  externalTrafficPolicy?: "Cluster" | "Local";
  internalTrafficPolicy?: "Cluster" | "Local";
  externalIPs?: string[];
  externalName?: string;
  publishNotReadyAddresses?: boolean;
  [field: string]: unknown;
}

export interface Service extends KubeObject {
  metadata: ObjectMeta & { name: string; namespace: string };
  spec?: ServiceSpec;
}

/** discovery/v1 EndpointConditions: ready, serving, terminating (nil ready means ready). */
export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface Endpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  hostname?: string;
  nodeName?: string;
  zone?: string;
  targetRef?: { kind?: string; name?: string; namespace?: string; uid?: string };
}

export interface EndpointPort {
  name?: string;
  protocol?: Protocol;
  port?: number;
  appProtocol?: string;
}

export interface EndpointSlice extends KubeObject {
  metadata: ObjectMeta & { name: string; namespace: string };
  addressType: "IPv4" | "IPv6" | "FQDN";
  endpoints: Endpoint[] | null;
  ports?: EndpointPort[] | null;
}

/** The label naming an EndpointSlice's Service. */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
