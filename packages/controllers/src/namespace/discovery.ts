/**
 * The part of client-go's discovery the namespace controller uses:
 * ServerPreferredNamespacedResources, every namespaced resource of every group at the most
 * preferred version that serves it (subresources left out), over the discovery reader the
 * garbage collector uses too (util/discovery.ts: the aggregated documents, or the legacy ones
 * when the server answers those). A group version that cannot be read is reported beside what
 * was found (client-go's ErrGroupDiscoveryFailed with a partial result).
 */
import {
  type APIResourceList,
  ErrGroupDiscoveryFailed,
  groupOf,
  HttpDiscovery,
  type RawClient,
  type ServerResources,
} from "../util/discovery.js";

/** What discovery found, and why it is incomplete (if it is). */
export interface DiscoveryResult {
  resources: APIResourceList[];
  error?: Error;
}

export type DiscoverResourcesFn = () => Promise<DiscoveryResult>;

/**
 * The namespaced resources of each group version, each resource only at the first (most
 * preferred) version of its group that lists it.
 */
export function preferredNamespacedResources(sr: ServerResources): APIResourceList[] {
  const seen = new Set<string>();
  return sr.lists.map((l) => {
    const group = groupOf(l.groupVersion);
    const resources = l.resources.filter((r) => {
      if (r.name.includes("/") || !r.namespaced) return false;
      const gr = `${r.name}.${group}`;
      if (seen.has(gr)) return false;
      seen.add(gr);
      return true;
    });
    return { groupVersion: l.groupVersion, resources };
  });
}

/** client-go's ServerPreferredNamespacedResources over the given client. */
export function serverPreferredNamespacedResources(client: RawClient): DiscoverResourcesFn {
  const discovery = new HttpDiscovery(client);
  return async () => {
    const sr = await discovery.serverResources();
    const resources = preferredNamespacedResources(sr);
    return sr.failed.size === 0
      ? { resources }
      : { resources, error: new ErrGroupDiscoveryFailed(sr.failed) };
  };
}
