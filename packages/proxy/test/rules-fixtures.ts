/** Small builders of Services and EndpointSlices for the rules tests. */
import type {
  Endpoint,
  EndpointPort,
  EndpointSlice,
  ProxyRulesInput,
  ProxyRulesOptions,
  Service,
  ServicePort,
  ServiceSpec,
} from "../src/index.js";

export const OPTIONS: ProxyRulesOptions = { table: "skiff-proxy", masqueradeBit: 14 };

export function service(
  name: string,
  clusterIP: string,
  ports: ServicePort[],
  spec: Partial<ServiceSpec> = {},
  namespace = "default",
): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace },
    spec: { type: "ClusterIP", clusterIP, clusterIPs: [clusterIP], ports, ...spec },
  };
}

export function slice(
  name: string,
  serviceName: string,
  endpoints: Endpoint[],
  ports: EndpointPort[],
  namespace = "default",
  addressType: EndpointSlice["addressType"] = "IPv4",
): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace, labels: { "kubernetes.io/service-name": serviceName } },
    addressType,
    endpoints,
    ports,
  };
}

export function ep(ip: string, nodeName = "node-a", conditions?: Endpoint["conditions"]): Endpoint {
  return conditions === undefined ? { addresses: [ip], nodeName } : { addresses: [ip], nodeName, conditions };
}

export function input(
  services: Service[],
  endpointSlices: EndpointSlice[],
  options: Partial<ProxyRulesOptions> = {},
  nodeName = "node-a",
): ProxyRulesInput {
  return { nodeName, services, endpointSlices, options: { ...OPTIONS, ...options } };
}
