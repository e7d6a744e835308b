/** A DnsStore over fixed objects, and the objects the DNS tests answer from. */
import type { EndpointSlice, Service } from "../src/api-types.js";
import type { DnsStore } from "../src/dns/records.js";

export function staticStore(services: Service[], slices: EndpointSlice[], serial = 1700000000): DnsStore {
  return {
    clusterDomain: "cluster.local",
    nameserverIP: "10.96.0.10",
    service: (ns, name) => services.find((s) => s.metadata.namespace === ns && s.metadata.name === name),
    endpointSlices: (ns, name) =>
      slices.filter(
        (e) => e.metadata.namespace === ns && e.metadata.labels?.["kubernetes.io/service-name"] === name,
      ),
    servicesByClusterIP: (ip) => services.filter((s) => s.spec?.clusterIPs?.includes(ip)),
    serial: () => serial,
  };
}

export function service(ns: string, name: string, spec: Service["spec"]): Service {
  return { apiVersion: "v1", kind: "Service", metadata: { namespace: ns, name }, spec };
}

export function slice(ns: string, svc: string, name: string, body: Partial<EndpointSlice>): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { namespace: ns, name, labels: { "kubernetes.io/service-name": svc } },
    addressType: "IPv4",
    endpoints: [],
    ...body,
  };
}

export const fixtureServices: Service[] = [
  service("default", "web", {
    clusterIP: "10.96.0.20",
    clusterIPs: ["10.96.0.20"],
    ports: [
      { name: "http", protocol: "TCP", port: 80 },
      { name: "dns", protocol: "UDP", port: 53 },
    ],
  }),
  service("default", "db", {
    clusterIP: "None",
    clusterIPs: ["None"],
    ports: [{ name: "pg", protocol: "TCP", port: 5432 }],
  }),
  service("default", "empty-headless", { clusterIP: "None", ports: [{ name: "x", port: 1 }] }),
  service("default", "ext", { type: "ExternalName", externalName: "example.com" }),
  service("default", "ext-ip", { type: "ExternalName", externalName: "1.2.3.4" }),
  service("kube-system", "kube-dns", {
    clusterIP: "10.96.0.10",
    clusterIPs: ["10.96.0.10"],
    ports: [
      { name: "dns", protocol: "UDP", port: 53 },
      { name: "dns-tcp", protocol: "TCP", port: 53 },
    ],
  }),
];

export const fixtureSlices: EndpointSlice[] = [
  slice("default", "db", "db-abc", {
    endpoints: [
      { addresses: ["10.244.0.5"], hostname: "db-0", conditions: { ready: true } },
      { addresses: ["10.244.0.6"], conditions: {} },
      { addresses: ["10.244.0.7"], hostname: "db-2", conditions: { ready: false } },
    ],
    ports: [{ name: "pg", protocol: "TCP", port: 5432 }],
  }),
  slice("default", "web", "web-abc", {
    endpoints: [{ addresses: ["10.244.0.9"], hostname: "web-0", conditions: { ready: true } }],
    ports: [{ name: "http", protocol: "TCP", port: 8080 }],
  }),
];
