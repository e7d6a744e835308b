/**
 * Discovery documents: the aggregated form (apidiscovery.k8s.io/v2, what kubectl 1.32 asks for
 * first) and the legacy /api, /apis, /api/v1, /apis/<g>/<v> documents (kubectl drain still reads
 * /api/v1, and needs pods/eviction in it).
 */
import type { GroupVersion, KindDef, Registry } from "@skiff/api";

const VERBS_ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/**
 * The verbs a resource serves, as kube-apiserver reports them: every kind has the full set but
 * namespaces, whose storage has no DeleteCollection (the namespace lifecycle deletes one by one).
 */
export function verbsOf(k: KindDef): string[] {
  if (k.verbs !== undefined) return [...k.verbs];
  if (k.group === "" && k.resource === "namespaces") return VERBS_ALL.filter((v) => v !== "deletecollection");
  return VERBS_ALL;
}

/** Subresources this server answers; the rest stay out of discovery until served. */
const SERVED_SUBRESOURCES = new Set([
  "status",
  "scale",
  "binding",
  "eviction",
  "approval",
  "token",
  // Proxied to the node's kubelet (proxy/).
  "log",
  "exec",
  "attach",
  "portforward",
  "proxy",
]);

/** The subresources of `k` that are served, in discovery order. */
export const servedSubresources = (k: KindDef) => k.subresources.filter((s) => SERVED_SUBRESOURCES.has(s));

/** Subresource kinds as kube-apiserver reports them. */
function subresourceKind(k: KindDef, sub: string): { group: string; version: string; kind: string } {
  if (sub === "scale") return { group: "autoscaling", version: "v1", kind: "Scale" };
  if (sub === "eviction") return { group: "policy", version: "v1", kind: "Eviction" };
  if (sub === "binding") return { group: "", version: "v1", kind: "Binding" };
  if (sub === "token") return { group: "authentication.k8s.io", version: "v1", kind: "TokenRequest" };
  if (sub === "exec") return { group: "", version: "v1", kind: "PodExecOptions" };
  if (sub === "attach") return { group: "", version: "v1", kind: "PodAttachOptions" };
  if (sub === "portforward") return { group: "", version: "v1", kind: "PodPortForwardOptions" };
  if (sub === "proxy") return { group: "", version: "v1", kind: `${k.kind}ProxyOptions` };
  return { group: k.group, version: k.version, kind: k.kind };
}

/** The verbs kube-apiserver's discovery lists for each subresource. */
function subVerbs(sub: string): string[] {
  if (sub === "status" || sub === "scale" || sub === "approval") return ["get", "patch", "update"];
  if (sub === "binding" || sub === "eviction" || sub === "token") return ["create"];
  if (sub === "exec" || sub === "attach" || sub === "portforward") return ["create", "get"];
  if (sub === "proxy") return ["create", "delete", "get", "patch", "update"];
  return ["get"];
}

export function aggregated(registry: Registry, legacy: boolean) {
  const groups = new Map<string, GroupVersion[]>();
  for (const gv of registry.groupVersions()) {
    if ((gv.group === "") !== legacy) continue;
    groups.set(gv.group, [...(groups.get(gv.group) ?? []), gv]);
  }
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: "apidiscovery.k8s.io/v2",
    metadata: {},
    items: [...groups].map(([group, gvs]) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: gvs.map((gv) => ({
        version: gv.version,
        freshness: "Current",
        resources: gv.kinds.map((k) => ({
          resource: k.resource,
          responseKind: { group: k.group, version: k.version, kind: k.kind },
          scope: k.namespaced ? "Namespaced" : "Cluster",
          singularResource: k.singular,
          verbs: verbsOf(k),
          ...(k.shortNames.length > 0 ? { shortNames: k.shortNames } : {}),
          ...(k.categories.length > 0 ? { categories: k.categories } : {}),
          subresources: servedSubresources(k).map((s) => ({
            subresource: s,
            responseKind: subresourceKind(k, s),
            verbs: subVerbs(s),
          })),
        })),
      })),
    })),
  };
}

export const AGGREGATED_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

export function wantsAggregated(accept: string | undefined): boolean {
  const first = (accept ?? "").split(",")[0] ?? "";
  return (
    /g=apidiscovery\.k8s\.io/.test(first) && /as=APIGroupDiscoveryList/.test(first) && /v=v2(;|$)/.test(first)
  );
}

export function apiVersions() {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "" }],
  };
}

export function apiGroupList(registry: Registry) {
  const groups = new Map<string, string[]>();
  for (const gv of registry.groupVersions())
    if (gv.group !== "") groups.set(gv.group, [...(groups.get(gv.group) ?? []), gv.version]);
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [...groups].map(([name, versions]) => ({
      name,
      versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    })),
  };
}

export function apiResourceList(registry: Registry, group: string, version: string) {
  const gv = registry.groupVersions().find((g) => g.group === group && g.version === version);
  if (gv === undefined) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const k of gv.kinds) {
    resources.push({
      name: k.resource,
      singularName: k.singular,
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: verbsOf(k),
      ...(k.shortNames.length > 0 ? { shortNames: k.shortNames } : {}),
      ...(k.categories.length > 0 ? { categories: k.categories } : {}),
    });
    for (const s of servedSubresources(k)) {
      const sk = subresourceKind(k, s);
      resources.push({
        name: `${k.resource}/${s}`,
        singularName: "",
        namespaced: k.namespaced,
        ...(sk.group !== k.group ? { group: sk.group, version: sk.version } : {}),
        kind: sk.kind,
        verbs: subVerbs(s),
      });
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group === "" ? version : `${group}/${version}`,
    resources,
  };
}
