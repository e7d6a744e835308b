/**
 * What the token authenticator reads: ServiceAccounts, pods, secrets and nodes from the watch
 * cache (kube validates tokens against informer caches the same way), synchronously, with this
 * server's own writes visible at once.
 */
import type { KindDef, Registry } from "@skiff/api";
import type { WatchCache } from "../storage/watch-cache.js";
import type { ObjectLookup } from "./tokens.js";

export async function cacheLookup(registry: Registry, cache: WatchCache): Promise<ObjectLookup> {
  const caches = new Map(
    await Promise.all(
      (["serviceaccounts", "pods", "secrets", "nodes"] as const).map(
        async (r) => [r, await cache.for(registry.resource("", "v1", r) as KindDef)] as const,
      ),
    ),
  );
  return (resource, namespace, name) => caches.get(resource)?.get(namespace, name);
}
