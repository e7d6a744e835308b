/** Fixtures shared by the endpoint controllers' unit tests: Services, pods, nodes. */
import type { Node, Pod } from "@skiff/api";
import type { Service } from "../../src/endpointslice/types.js";

let uid = 0;

export interface PodOptions {
  ip?: string;
  ready?: boolean;
  node?: string;
  labels?: Record<string, string>;
  ports?: { name: string; containerPort: number; protocol?: "TCP" | "UDP" }[];
  deleting?: boolean;
  phase?: "Pending" | "Running" | "Succeeded" | "Failed";
  readySince?: string;
}

export function pod(name: string, o: PodOptions = {}): Pod {
  const p: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "ns",
      uid: `pod-uid-${name}-${++uid}`,
      resourceVersion: "1",
      labels: o.labels ?? { app: "web" },
    },
    spec: {
      nodeName: o.node ?? "node-a",
      containers: [{ name: "c", ports: (o.ports ?? []).map((p) => ({ protocol: "TCP", ...p })) }],
    },
    status: {
      phase: o.phase ?? "Running",
      conditions: [
        {
          type: "Ready",
          status: o.ready === false ? "False" : "True",
          lastTransitionTime: o.readySince ?? "2024-01-01T00:00:10Z",
        },
      ],
    },
  };
  if (o.ip !== "") {
    const ip = o.ip ?? "10.244.0.1";
    Object.assign(p.status as object, { podIP: ip, podIPs: [{ ip }] });
  }
  if (o.deleting === true) p.metadata.deletionTimestamp = "2024-01-01T00:01:00Z";
  return p;
}

export function service(
  name: string,
  spec: Partial<Service["spec"]> = {},
  labels?: Record<string, string>,
): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name,
      namespace: "ns",
      uid: `svc-uid-${name}`,
      resourceVersion: "1",
      creationTimestamp: "2024-01-01T00:00:00Z",
      ...(labels === undefined ? {} : { labels }),
    },
    spec: {
      selector: { app: "web" },
      clusterIP: "10.96.0.10",
      ipFamilies: ["IPv4"],
      ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
      ...spec,
    },
  };
}

export function node(name: string, zone?: string): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      uid: `node-uid-${name}`,
      ...(zone === undefined ? {} : { labels: { "topology.kubernetes.io/zone": zone } }),
    },
  };
}
