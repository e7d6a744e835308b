/**
 * What several admission plugins share: kube's admission.NewForbidden, and reading the objects a
 * plugin decides by (LimitRanges, PriorityClasses) as this server last wrote them.
 */
import type { KindDef, KubeObject } from "@skiff/api";
import { StatusError } from "../status.js";
import type { RegistryStore } from "../storage/registry-store.js";
import type { WatchCache } from "../storage/watch-cache.js";
import type { Attributes } from "./interface.js";

/** admission.NewForbidden: `<resource>[.<group>] "<name>" is forbidden: <why>`. */
export function forbidden(a: Attributes, why: string): StatusError {
  const meta = a.object?.metadata;
  const name = a.name || meta?.name || meta?.generateName || "Unknown";
  const resource = a.kind.group === "" ? a.kind.resource : `${a.kind.resource}.${a.kind.group}`;
  return new StatusError(403, "Forbidden", `${resource} "${name}" is forbidden: ${why}`, {
    name,
    group: a.kind.group,
    kind: a.kind.resource,
  });
}

/**
 * The objects of `kind` (of one namespace, or all): from the watch cache, which includes this
 * server's own recent writes (read your writes), else from the store.
 */
export async function listForAdmission(
  store: RegistryStore,
  cache: WatchCache | undefined,
  kind: KindDef,
  namespace: string | undefined,
): Promise<KubeObject[]> {
  return cache !== undefined
    ? (await cache.for(kind)).list(namespace).items
    : (await store.list(kind, namespace)).items;
}
