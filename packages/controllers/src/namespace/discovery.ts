/**
 * The part of client-go's discovery client the namespace controller uses:
 * ServerPreferredNamespacedResources, every namespaced resource of every group at the most
 * preferred version that serves it (subresources left out). It reads the aggregated discovery
 * documents (/api and /apis as apidiscovery.k8s.io/v2: two requests, as client-go does since
 * 1.30) and falls back to the legacy documents (/api, /apis, then one APIResourceList per group
 * version) when the server answers those instead. A group version that cannot be read is
 * reported beside what was found (client-go's ErrGroupDiscoveryFailed with a partial result).
 */
import { ApiError, type RawResponse } from "@skiff/client";

/** metav1.APIResource, the fields the deleter reads. */
export interface APIResource {
  name: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
}

/** metav1.APIResourceList. */
export interface APIResourceList {
  groupVersion: string;
  resources: APIResource[];
}

/** client-go's ErrGroupDiscoveryFailed: some group versions could not be read. */
export class ErrGroupDiscoveryFailed extends Error {
  constructor(readonly groups: ReadonlyMap<string, Error>) {
    const each = [...groups].map(([gv, e]) => `${gv}: ${e.message}`).sort();
    super(`unable to retrieve the complete list of server APIs: ${each.join(", ")}`);
    this.name = "ErrGroupDiscoveryFailed";
  }
}

/** What discovery found, and why it is incomplete (if it is). */
export interface DiscoveryResult {
  resources: APIResourceList[];
  error?: Error;
}

export type DiscoverResourcesFn = () => Promise<DiscoveryResult>;

/** What discovery needs of a client: KubeClient's raw request. */
export interface RawClient {
  raw(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<RawResponse>;
}

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

const gvString = (group: string, version: string) => (group === "" ? version : `${group}/${version}`);

async function getJson(client: RawClient, path: string, accept?: string): Promise<unknown> {
  const r = await client.raw("GET", path, undefined, accept === undefined ? undefined : { accept });
  if (r.status < 200 || r.status > 299) throw new ApiError(r.status, r.body, `GET ${path}`);
  return r.body;
}

/** Collects per group: the first version listing a resource wins (versions come most preferred first). */
class PreferredResources {
  private readonly lists: APIResourceList[] = [];
  private readonly seen = new Set<string>();

  add(group: string, version: string, resources: APIResource[]): void {
    const list: APIResourceList = { groupVersion: gvString(group, version), resources: [] };
    for (const r of resources) {
      if (r.name.includes("/") || !r.namespaced) continue;
      const gr = `${r.name}.${group}`;
      if (this.seen.has(gr)) continue;
      this.seen.add(gr);
      list.resources.push(r);
    }
    this.lists.push(list);
  }

  get result(): APIResourceList[] {
    return this.lists;
  }
}

function fromAggregated(
  groups: AggregatedGroup[],
  out: PreferredResources,
  failed: Map<string, Error>,
): void {
  for (const g of groups) {
    const group = g.metadata?.name ?? "";
    for (const v of g.versions ?? []) {
      // client-go: a stale group version (an aggregated API server not answering) is a failure.
      if (v.freshness === "Stale") {
        failed.set(gvString(group, v.version), new Error("stale GroupVersion discovery"));
        continue;
      }
      out.add(
        group,
        v.version,
        (v.resources ?? []).map((r) => ({
          name: r.resource,
          namespaced: r.scope === "Namespaced",
          kind: r.responseKind?.kind ?? "",
          verbs: r.verbs ?? [],
        })),
      );
    }
  }
}

async function legacyVersion(
  client: RawClient,
  group: string,
  version: string,
  out: PreferredResources,
  failed: Map<string, Error>,
): Promise<void> {
  const path = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
  try {
    const doc = (await getJson(client, path)) as { resources?: APIResource[] };
    out.add(
      group,
      version,
      (doc.resources ?? []).map((r) => ({ ...r, verbs: r.verbs ?? [] })),
    );
  } catch (e) {
    failed.set(gvString(group, version), e instanceof Error ? e : new Error(String(e)));
  }
}

/** client-go's ServerPreferredNamespacedResources over the given client. */
export function serverPreferredNamespacedResources(client: RawClient): DiscoverResourcesFn {
  return async () => {
    const out = new PreferredResources();
    const failed = new Map<string, Error>();
    for (const root of ["/api", "/apis"]) {
      const doc = (await getJson(client, root, AGGREGATED_ACCEPT)) as {
        kind?: string;
        items?: AggregatedGroup[];
        versions?: string[];
        groups?: LegacyGroup[];
      };
      if (doc.kind === "APIGroupDiscoveryList") {
        fromAggregated(doc.items ?? [], out, failed);
        continue;
      }
      if (root === "/api") {
        for (const v of doc.versions ?? []) await legacyVersion(client, "", v, out, failed);
        continue;
      }
      for (const g of doc.groups ?? []) {
        const preferred = g.preferredVersion?.groupVersion;
        const versions = [...(g.versions ?? [])].sort(
          (a, b) => Number(b.groupVersion === preferred) - Number(a.groupVersion === preferred),
        );
        for (const v of versions) await legacyVersion(client, g.name, v.version, out, failed);
      }
    }
    return failed.size === 0
      ? { resources: out.result }
      : { resources: out.result, error: new ErrGroupDiscoveryFailed(failed) };
  };
}
