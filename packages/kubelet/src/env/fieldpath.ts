/**
 * The downward API's field paths, as kube's pkg/fieldpath (ExtractFieldPathAsString) for what
 * volumes may read, and the kubelet's podFieldSelectorRuntimeValue for what env may read on top
 * (spec.nodeName, spec.serviceAccountName, status.hostIP(s), status.podIP(s)).
 */
import type { Pod } from "@skiff/api";

/** IsQualifiedName's shape: an optional DNS subdomain prefix and "/", then a name of <= 63. */
const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function isQualifiedName(key: string): boolean {
  const name = key.slice(key.lastIndexOf("/") + 1);
  return QUALIFIED_NAME.test(key) && name.length <= 63;
}

/** FormatMap: `key="value"` lines sorted by key, no trailing newline (Go's %q quoting). */
export function formatMap(m: Readonly<Record<string, string>> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify((m as Record<string, string>)[k])}`)
    .join("\n");
}

/** SplitMaybeSubscriptedPath: "metadata.labels['k']" -> ["metadata.labels", "k"]. */
export function splitMaybeSubscriptedPath(fieldPath: string): [string, string] | undefined {
  if (!fieldPath.endsWith("']")) return undefined;
  const s = fieldPath.slice(0, -2);
  const i = s.indexOf("['");
  if (i <= 0) return undefined;
  return [s.slice(0, i), s.slice(i + 2)];
}

/** ExtractFieldPathAsString over the pod's metadata. Throws kube's errors. */
export function extractFieldPathAsString(pod: Pod, fieldPath: string): string {
  const meta = pod.metadata;
  const sub = splitMaybeSubscriptedPath(fieldPath);
  if (sub !== undefined) {
    const [path, key] = sub;
    if (path !== "metadata.annotations" && path !== "metadata.labels")
      throw new Error(`fieldPath ${JSON.stringify(fieldPath)} does not support subscript`);
    const checked = path === "metadata.annotations" ? key.toLowerCase() : key;
    if (!isQualifiedName(checked))
      throw new Error(`invalid key subscript in ${fieldPath}: invalid qualified name`);
    const m = path === "metadata.annotations" ? meta.annotations : meta.labels;
    return m?.[key] ?? "";
  }
  switch (fieldPath) {
    case "metadata.annotations":
      return formatMap(meta.annotations);
    case "metadata.labels":
      return formatMap(meta.labels);
    case "metadata.name":
      return meta.name;
    case "metadata.namespace":
      return meta.namespace;
    case "metadata.uid":
      return meta.uid ?? "";
  }
  throw new Error(`unsupported fieldPath: ${fieldPath}`);
}

export interface PodRuntimeFields {
  /** The pod's IPs, primary first (status.podIPs as the kubelet knows them). */
  podIPs: readonly string[];
  /** The node's IPs, primary first. */
  hostIPs: readonly string[];
}

/** podFieldSelectorRuntimeValue: the env-only fields first, then ExtractFieldPathAsString. */
export function podFieldSelectorRuntimeValue(pod: Pod, fieldPath: string, rt: PodRuntimeFields): string {
  switch (fieldPath) {
    case "spec.nodeName":
      return pod.spec.nodeName ?? "";
    case "spec.serviceAccountName":
      return typeof pod.spec.serviceAccountName === "string" ? pod.spec.serviceAccountName : "";
    case "status.hostIP":
      return rt.hostIPs[0] ?? "";
    case "status.hostIPs":
      return rt.hostIPs.join(",");
    case "status.podIP":
      return rt.podIPs[0] ?? "";
    case "status.podIPs":
      return rt.podIPs.join(",");
  }
  return extractFieldPathAsString(pod, fieldPath);
}
