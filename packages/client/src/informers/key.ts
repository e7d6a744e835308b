/** Cache keys: client-go's MetaNamespaceKeyFunc and SplitMetaNamespaceKey. */
import type { KubeObject } from "@skiff/api";

/** client-go's MetaNamespaceKeyFunc: namespace/name, or name for cluster-scoped objects. */
export function keyOf(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? "";
  return ns === undefined || ns === "" ? name : `${ns}/${name}`;
}

/** client-go's SplitMetaNamespaceKey: [namespace, name] ("" namespace for cluster-scoped keys). */
export function splitMetaNamespaceKey(key: string): [namespace: string, name: string] {
  const parts = key.split("/");
  if (parts.length === 1) return ["", key];
  if (parts.length === 2) return [parts[0] as string, parts[1] as string];
  throw new Error(`unexpected key format: ${JSON.stringify(key)}`);
}
