/**
 * What the garbage collector makes of API discovery (util/discovery.ts reads it, as client-go's
 * discovery client): the resources it monitors (every preferred resource that supports delete,
 * list and watch: kube's GetDeletableResources) and the mapping of an owner reference's
 * apiVersion and kind to its resource and scope (kube's RESTMapper).
 */
import { groupOf, type ServerResources } from "../util/discovery.js";

/** A resource the garbage collector monitors (a GroupVersionResource with its kind and scope). */
export interface MonitoredResource {
  apiVersion: string;
  resource: string;
  kind: string;
  namespaced: boolean;
}

/** The monitor map's key of a resource: "apps/v1/deployments", "v1/pods". */
export const resourceKey = (apiVersion: string, resource: string) => `${apiVersion}/${resource}`;

/** kube's ignoredResources: events of both groups (high churn, never owners nor worth collecting). */
export const DEFAULT_IGNORED_RESOURCES: ReadonlySet<string> = new Set(["events", "events.events.k8s.io"]);

/** A group resource as the ignored set spells it: "events", "events.events.k8s.io". */
export function groupResource(apiVersion: string, resource: string): string {
  const g = groupOf(apiVersion);
  return g === "" ? resource : `${resource}.${g}`;
}

/**
 * kube's GetDeletableResources: of each group's preferred version, the resources (not
 * subresources) that support delete, list and watch, less the ignored ones.
 */
export function deletableResources(
  sr: ServerResources,
  ignored: ReadonlySet<string> = DEFAULT_IGNORED_RESOURCES,
): Map<string, MonitoredResource> {
  const out = new Map<string, MonitoredResource>();
  for (const l of sr.lists) {
    if (!sr.preferred.has(l.groupVersion)) continue;
    for (const r of l.resources) {
      if (r.name.includes("/")) continue;
      if (!["delete", "list", "watch"].every((v) => r.verbs.includes(v))) continue;
      if (ignored.has(groupResource(l.groupVersion, r.name))) continue;
      out.set(resourceKey(l.groupVersion, r.name), {
        apiVersion: l.groupVersion,
        resource: r.name,
        kind: r.kind,
        namespaced: r.namespaced,
      });
    }
  }
  return out;
}

/** kube's restMappingError: the kind of a reference is not (yet) known to discovery. */
export class RestMappingError extends Error {
  constructor(
    readonly apiVersion: string,
    readonly kind: string,
  ) {
    super(
      `unable to get REST mapping for ${apiVersion}/${kind}. If ${kind} is a custom resource, ` +
        "the garbage collector waits for its definition to be discovered",
    );
  }
}

/** kube's RESTMapper, for the garbage collector's needs: apiVersion + kind -> resource + scope. */
export class RestMapper {
  /** By groupVersion, then kind. */
  private byGroupVersion = new Map<string, Map<string, { resource: string; namespaced: boolean }>>();

  constructor(sr?: ServerResources) {
    if (sr !== undefined) this.reset(sr);
  }

  /**
   * Takes the mappings of a newer discovery (kube's Reset); the group versions that failed to
   * answer keep the mappings they had.
   */
  reset(sr: ServerResources): void {
    const next = new Map<string, Map<string, { resource: string; namespaced: boolean }>>();
    for (const gv of sr.failed.keys()) {
      const kept = this.byGroupVersion.get(gv);
      if (kept !== undefined) next.set(gv, kept);
    }
    for (const l of sr.lists) {
      const kinds = new Map<string, { resource: string; namespaced: boolean }>();
      for (const r of l.resources)
        if (!r.name.includes("/") && !kinds.has(r.kind))
          kinds.set(r.kind, { resource: r.name, namespaced: r.namespaced });
      next.set(l.groupVersion, kinds);
    }
    this.byGroupVersion = next;
  }

  /** The resource and scope of a kind in a groupVersion; throws RestMappingError if unknown. */
  resourceFor(apiVersion: string, kind: string): { resource: string; namespaced: boolean } {
    const m = this.byGroupVersion.get(apiVersion)?.get(kind);
    if (m === undefined) throw new RestMappingError(apiVersion, kind);
    return m;
  }
}
