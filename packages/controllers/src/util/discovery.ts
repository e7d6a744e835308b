/**
 * API discovery as client-go's discovery client reads it (ServerGroupsAndResources), for the
 * controllers that act on every served resource: the garbage collector and the namespace
 * controller. It reads the aggregated discovery documents (/api and /apis as
 * apidiscovery.k8s.io/v2: two requests, as client-go does since 1.30) and falls back to the
 * legacy documents (/api, /apis, then one APIResourceList per group version, read in parallel as
 * client-go's fetchGroupVersionResources) when the server answers those instead. A group version
 * that cannot be read is reported beside what was found (client-go's ErrGroupDiscoveryFailed with
 * a partial result); each controller decides what a failed group means to it.
 */
import { ApiError, type RawResponse } from "@skiff/client";

/** metav1.APIResource, the fields the controllers read. */
export interface APIResource {
  /** The plural resource name; "pods/status" for a subresource (legacy documents only). */
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
  /**
   * Every group version read, each with its resources: groups in the server's order, each
   * group's versions most preferred first.
   */
  lists: APIResourceList[];
  /** The groupVersion each group prefers (kube's ServerPreferredResources starts from these). */
  preferred: ReadonlySet<string>;
  /** Group versions whose resource list could not be read, with why (ErrGroupDiscoveryFailed's map). */
  failed: ReadonlyMap<string, Error>;
}

/** client-go's discovery.ServerResourcesInterface, as one call. */
export interface DiscoveryInterface {
  serverResources(): Promise<ServerResources>;
}

/** What discovery needs of a client: KubeClient's raw request. */
export interface RawClient {
  raw(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<RawResponse>;
}

/** A client with raw requests (KubeClient); a fake client has none and cannot do discovery. */
export function isRawClient(client: unknown): client is RawClient {
  return typeof (client as { raw?: unknown }).raw === "function";
}

/** client-go's ErrGroupDiscoveryFailed: some group versions could not be read. */
export class ErrGroupDiscoveryFailed extends Error {
  constructor(readonly groups: ReadonlyMap<string, Error>) {
    const each = [...groups].map(([gv, e]) => `${gv}: ${e.message}`).sort();
    super(`unable to retrieve the complete list of server APIs: ${each.join(", ")}`);
    this.name = "ErrGroupDiscoveryFailed";
  }
}

/** The group of a groupVersion ("" for the core group). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

const gvString = (group: string, version: string) => (group === "" ? version : `${group}/${version}`);

const AGGREGATED_ACCEPT =
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

interface AggregatedResource {
  resource: string;
  scope?: string;
  verbs?: string[];
  responseKind?: { kind?: string };
}
interface AggregatedVersion {
  version: string;
  freshness?: string;
  resources?: AggregatedResource[];
}
interface AggregatedGroup {
  metadata?: { name?: string };
  versions?: AggregatedVersion[];
}
interface LegacyGroup {
  name: string;
  versions?: { groupVersion: string; version: string }[];
  preferredVersion?: { groupVersion: string };
}
/** The /api or /apis document: aggregated (items) or legacy (versions, groups). */
interface RootDocument {
  kind?: string;
  items?: AggregatedGroup[];
  versions?: string[];
  groups?: LegacyGroup[];
}

/** What one pass of discovery gathers; `lists` holds a slot per group version in order. */
interface Found {
  lists: (APIResourceList | Promise<APIResourceList | undefined>)[];
  preferred: Set<string>;
  failed: Map<string, Error>;
}

/** Discovery over a client's raw requests (client-go's DiscoveryClient). */
export class HttpDiscovery implements DiscoveryInterface {
  constructor(private readonly client: RawClient) {}

  private async getJson(path: string, accept?: string): Promise<unknown> {
    const r = await this.client.raw("GET", path, undefined, accept === undefined ? undefined : { accept });
    if (r.status < 200 || r.status > 299) throw new ApiError(r.status, r.body, `GET ${path}`);
    return r.body;
  }

  async serverResources(): Promise<ServerResources> {
    const found: Found = { lists: [], preferred: new Set(), failed: new Map() };
    for (const root of ["/api", "/apis"]) {
      const doc = (await this.getJson(root, AGGREGATED_ACCEPT)) as RootDocument;
      if (doc.kind === "APIGroupDiscoveryList") fromAggregated(doc.items ?? [], found);
      else if (root === "/api") this.fromLegacy([{ name: "", versions: legacyCore(doc.versions) }], found);
      else this.fromLegacy(doc.groups ?? [], found);
    }
    const lists = (await Promise.all(found.lists)).filter((l) => l !== undefined);
    return { lists, preferred: found.preferred, failed: found.failed };
  }

  /** Each group's versions, preferred first, each read with its own request (all at once). */
  private fromLegacy(groups: LegacyGroup[], found: Found): void {
    for (const g of groups) {
      const versions = g.versions ?? [];
      const preferred = g.preferredVersion?.groupVersion ?? versions[0]?.groupVersion;
      if (preferred !== undefined) found.preferred.add(preferred);
      const ordered = [...versions].sort(
        (a, b) => Number(b.groupVersion === preferred) - Number(a.groupVersion === preferred),
      );
      for (const v of ordered) found.lists.push(this.legacyVersion(g.name, v.version, found.failed));
    }
  }

  private async legacyVersion(
    group: string,
    version: string,
    failed: Map<string, Error>,
  ): Promise<APIResourceList | undefined> {
    const gv = gvString(group, version);
    try {
      const doc = (await this.getJson(group === "" ? `/api/${version}` : `/apis/${gv}`)) as {
        resources?: APIResource[];
      };
      return {
        groupVersion: gv,
        resources: (doc.resources ?? []).map((r) => ({ ...r, verbs: r.verbs ?? [] })),
      };
    } catch (e) {
      failed.set(gv, e instanceof Error ? e : new Error(String(e)));
      return undefined;
    }
  }
}

/** /api's legacy APIVersions as a group: the first version is the preferred one. */
function legacyCore(versions: string[] = []): LegacyGroup["versions"] {
  return versions.map((v) => ({ groupVersion: v, version: v }));
}

/** Aggregated discovery lists each group's versions most preferred first. */
function fromAggregated(groups: AggregatedGroup[], found: Found): void {
  for (const g of groups) {
    const group = g.metadata?.name ?? "";
    const first = g.versions?.[0];
    if (first !== undefined) found.preferred.add(gvString(group, first.version));
    for (const v of g.versions ?? []) {
      // client-go: a stale group version (an aggregated API server not answering) is a failure.
      if (v.freshness === "Stale") {
        found.failed.set(gvString(group, v.version), new Error("stale GroupVersion discovery"));
        continue;
      }
      found.lists.push({
        groupVersion: gvString(group, v.version),
        resources: (v.resources ?? []).map((r) => ({
          name: r.resource,
          namespaced: r.scope === "Namespaced",
          kind: r.responseKind?.kind ?? "",
          verbs: r.verbs ?? [],
        })),
      });
    }
  }
}
