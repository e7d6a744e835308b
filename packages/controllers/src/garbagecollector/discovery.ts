/**
 * What the garbage collector learns from API discovery (client-go's discovery client and
 * restmapper, as the garbage collector uses them): the resources it monitors (every preferred
 * resource that supports delete, list and watch: kube's GetDeletableResources) and the mapping of
 * an owner reference's apiVersion and kind to its resource and scope (kube's RESTMapper).
 */
import type { RawResponse } from "@skiff/client";

/** metav1.APIResource, the fields the garbage collector reads. */
export interface APIResource {
  /** The plural resource name; "pods/status" for a subresource. */
  name: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
}

/** metav1.APIResourceList: the resources of one group version. */
export interface APIResourceList {
  /** "v1" for the core group, "<group>/<version>" otherwise. */
  groupVersion: string;
  resources: APIResource[];
}

export interface ServerResources {
  /** Every served group version, each with its resources. */
  lists: APIResourceList[];
  /** The groupVersion each group prefers (kube's ServerPreferredResources reads only these). */
  preferred: ReadonlySet<string>;
  /** Group versions whose resource list could not be read (kube's ErrGroupDiscoveryFailed). */
  failed: ReadonlyMap<string, string>;
}

/** client-go's discovery.ServerResourcesInterface, as one call. */
export interface DiscoveryInterface {
  serverResources(): Promise<ServerResources>;
}

/** The part of a KubeClient discovery needs: plain requests. */
export interface RawRequester {
  raw(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<RawResponse>;
}

const ACCEPT_JSON = { accept: "application/json" };

/**
 * Legacy discovery over HTTP: GET /api and /apis for the group versions, then each group
 * version's resource list (the aggregated document would do in one request, but every server,
 * old or new, answers these).
 */
export class HttpDiscovery implements DiscoveryInterface {
  constructor(private readonly client: RawRequester) {}

  private async getJson(path: string): Promise<unknown> {
    const res = await this.client.raw("GET", path, undefined, ACCEPT_JSON);
    if (res.status < 200 || res.status > 299) throw new Error(`GET ${path}: HTTP ${res.status}`);
    return res.body;
  }

  async serverResources(): Promise<ServerResources> {
    const core = (await this.getJson("/api")) as { versions?: string[] };
    const groups = (await this.getJson("/apis")) as {
      groups?: {
        name: string;
        versions: { groupVersion: string }[];
        preferredVersion?: { groupVersion: string };
      }[];
    };
    const groupVersions: string[] = [];
    const preferred = new Set<string>();
    const coreVersions = core.versions ?? [];
    groupVersions.push(...coreVersions);
    if (coreVersions[0] !== undefined) preferred.add(coreVersions[0]);
    for (const g of groups.groups ?? []) {
      for (const v of g.versions) groupVersions.push(v.groupVersion);
      const p = g.preferredVersion?.groupVersion ?? g.versions[0]?.groupVersion;
      if (p !== undefined) preferred.add(p);
    }
    const failed = new Map<string, string>();
    const lists: APIResourceList[] = [];
    await Promise.all(
      groupVersions.map(async (gv) => {
        try {
          const path = gv.includes("/") ? `/apis/${gv}` : `/api/${gv}`;
          const l = (await this.getJson(path)) as { resources?: APIResource[] };
          lists.push({ groupVersion: gv, resources: l.resources ?? [] });
        } catch (e) {
          failed.set(gv, e instanceof Error ? e.message : String(e));
        }
      }),
    );
    lists.sort((a, b) => groupVersions.indexOf(a.groupVersion) - groupVersions.indexOf(b.groupVersion));
    return { lists, preferred, failed };
  }
}

/** A resource the garbage collector monitors (a GroupVersionResource with its kind and scope). */
export interface MonitoredResource {
  apiVersion: string;
  resource: string;
  kind: string;
  namespaced: boolean;
}

/** The monitor map's key of a resource: "apps/v1/deployments", "v1/pods". */
export const resourceKey = (apiVersion: string, resource: string) => `${apiVersion}/${resource}`;

/** The group of a groupVersion ("" for the core group). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

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
