import { canonicalJson, type JsonValue, type KubeObject } from "@skiff/api";

const lastAppliedKey = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * kubectl's server-side apply keeps a client-side apply annotation current (kube's
 * lastAppliedUpdater): when the manager is "kubectl" and the object has one, it becomes the
 * applied configuration (without the annotation), as kubectl writes it: JSON, keys sorted.
 */
export function syncLastApplied(obj: KubeObject, config: KubeObject, manager: string): void {
  const annotations = obj.metadata.annotations;
  if (manager !== "kubectl" || annotations?.[lastAppliedKey] === undefined) return;
  const applied = structuredClone(config);
  if (applied.metadata.annotations !== undefined) delete applied.metadata.annotations[lastAppliedKey];
  const value = `${canonicalJson(applied as unknown as JsonValue)}\n`;
  if (value.length <= 256 * 1024) obj.metadata.annotations = { ...annotations, [lastAppliedKey]: value };
}
