/**
 * Resource paths, as kube-apiserver routes them:
 *   /api/v1/<resource>[/<name>[/<subresource>]]                        cluster-scoped, or all namespaces
 *   /api/v1/namespaces/<ns>/<resource>[/<name>[/<subresource>]]       namespaced
 *   /apis/<group>/<version>/...                                       the same for named groups
 */
import type { KindDef, Registry } from "@skiff/api";
import { pathNotFound } from "../status.js";

export interface ResourcePath {
  kind: KindDef;
  /** Set for namespaced paths; undefined for cluster-scoped kinds and all-namespaces lists. */
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

/** `rest` is what follows /api/v1/ or /apis/<group>/<version>/. */
export function parseResourcePath(
  registry: Registry,
  group: string,
  version: string,
  rest: string,
): ResourcePath {
  const seg = rest
    .split("/")
    .filter((s) => s !== "")
    .map(decodeURIComponent);
  if (seg.length >= 3 && seg[0] === "namespaces") {
    const kind = registry.resource(group, version, seg[2] as string);
    if (kind?.namespaced) {
      if (seg.length > 5) throw pathNotFound();
      return { kind, namespace: seg[1], name: seg[3], subresource: seg[4] };
    }
  }
  const kind = registry.resource(group, version, seg[0] ?? "");
  if (kind === undefined || seg.length > 3) throw pathNotFound();
  // A namespaced kind without a namespace: only lists and watches across all namespaces.
  if (kind.namespaced && seg.length > 1) throw pathNotFound();
  return { kind, namespace: undefined, name: seg[1], subresource: seg[2] };
}
