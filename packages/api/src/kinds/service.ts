/**
 * core/v1 Service: ClusterIP by default; the API server allocates clusterIP and nodePorts
 * (allocation is the server's job, not defaulting). Columns as kubectl shows them.
 */
import type { KindDef } from "../kind.js";
import { type KubeObject, objectSchema } from "../meta.js";
import {
  any,
  bool,
  enumOf,
  int32,
  intOrString,
  list,
  mergeList,
  obj,
  str,
  stringMap,
  strings,
  withListMapKeys,
} from "../schema.js";
import { column } from "../table.js";
import { dns1035Label, type FieldError, invalid, notSupported, required } from "../validation.js";
import { asObj, type Json } from "./json.js";
import { formatLabels } from "./templates.js";

const types = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];

/** getServiceExternalIP: external IPs, a load balancer's ingress points, or the external name. */
function serviceExternalIP(svc: KubeObject): string {
  const spec = asObj(svc.spec);
  const external = (spec.externalIPs as string[] | undefined) ?? [];
  switch (spec.type ?? "ClusterIP") {
    case "ClusterIP":
    case "NodePort":
      return external.length > 0 ? external.join(",") : "<none>";
    case "LoadBalancer": {
      const ingress = ((asObj(asObj(svc.status).loadBalancer).ingress as Json[] | undefined) ?? [])
        .map((i) => (i.ip as string | undefined) || (i.hostname as string | undefined) || "")
        .filter((a) => a !== "");
      const all = [...ingress, ...external];
      return all.length > 0 ? all.join(",") : "<pending>";
    }
    case "ExternalName":
      return (spec.externalName as string | undefined) ?? "";
    default:
      return "<unknown>";
  }
}

export const serviceKind: KindDef = {
  group: "",
  version: "v1",
  kind: "Service",
  resource: "services",
  singular: "service",
  namespaced: true,
  shortNames: ["svc"],
  categories: ["all"],
  description:
    "Service is a named abstraction of software service consisting of a local port and a selector.",
  schema: objectSchema("Service is a named abstraction of software service.", {
    spec: obj({
      ports: withListMapKeys(
        list(
          obj(
            {
              name: str(),
              protocol: enumOf(["TCP", "UDP", "SCTP"]),
              appProtocol: str(),
              port: int32("The port that will be exposed by this service."),
              targetPort: intOrString("Number or name of the port to access on the pods."),
              nodePort: int32("The port on each node (NodePort and LoadBalancer)."),
            },
            "ServicePort contains information on service's port.",
            ["port"],
          ),
          "The list of ports that are exposed by this service.",
          { mergeKey: "port", strategy: "merge" },
        ),
        ["port", "protocol"],
        { protocol: "TCP" },
      ),
      selector: stringMap("Route service traffic to pods with label keys and values matching this selector."),
      clusterIP: str("IP address of the service; allocated by the server unless None (headless)."),
      clusterIPs: strings(),
      type: enumOf(types, "Default ClusterIP."),
      externalIPs: strings(),
      sessionAffinity: enumOf(["ClientIP", "None"]),
      loadBalancerIP: str(),
      loadBalancerSourceRanges: strings(),
      externalName: str(),
      externalTrafficPolicy: enumOf(["Cluster", "Local"]),
      healthCheckNodePort: int32(),
      publishNotReadyAddresses: bool(),
      sessionAffinityConfig: any(),
      ipFamilies: strings(),
      ipFamilyPolicy: str(),
      allocateLoadBalancerNodePorts: bool(),
      loadBalancerClass: str(),
      internalTrafficPolicy: enumOf(["Cluster", "Local"]),
      trafficDistribution: str(),
    }),
    status: obj({ loadBalancer: any(), conditions: mergeList(any(), "type") }),
  }),
  nameRule: dns1035Label,
  subresources: ["status"],
  hasStatus: true,
  defaults(svc) {
    const spec = asObj(svc.spec);
    svc.spec = spec;
    spec.type ??= "ClusterIP";
    if (spec.type !== "ExternalName") {
      spec.sessionAffinity ??= "None";
      spec.internalTrafficPolicy ??= "Cluster";
    }
    if (spec.type === "NodePort" || spec.type === "LoadBalancer") spec.externalTrafficPolicy ??= "Cluster";
    for (const p of (spec.ports as Json[] | undefined) ?? []) {
      p.protocol ??= "TCP";
      p.targetPort ??= p.port;
    }
    svc.status ??= { loadBalancer: {} };
  },
  validate(svc) {
    const spec = asObj(svc.spec);
    const errs: FieldError[] = [];
    const type = spec.type as string;
    if (!types.includes(type)) errs.push(notSupported("spec.type", type, types));
    const ports = (spec.ports as Json[] | undefined) ?? [];
    if (type !== "ExternalName" && ports.length === 0 && spec.clusterIP !== "None")
      errs.push(required("spec.ports"));
    ports.forEach((p, i) => {
      if (typeof p.port !== "number" || p.port < 1 || p.port > 65535)
        errs.push(invalid(`spec.ports[${i}].port`, p.port, "must be between 1 and 65535, inclusive"));
      if (ports.length > 1 && !p.name) errs.push(required(`spec.ports[${i}].name`));
    });
    return errs;
  },
  table: {
    columns: [
      column("Type", "The type of the service"),
      column("Cluster-IP", "The cluster IP"),
      column("External-IP", "External IPs"),
      column("Port(s)", "The ports the service listens on"),
      column("Selector", "The pod selector", "string", 1),
    ],
    cells(svc) {
      const spec = asObj(svc.spec);
      const ports = ((spec.ports as Json[] | undefined) ?? [])
        .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`)
        .join(",");
      const clusterIPs = (spec.clusterIPs as string[] | undefined) ?? [];
      return [
        spec.type ?? "ClusterIP",
        clusterIPs[0] ?? (spec.clusterIP as string | undefined) ?? "<none>",
        serviceExternalIP(svc),
        ports === "" ? "<none>" : ports,
        formatLabels(spec.selector),
      ];
    },
  },
};
