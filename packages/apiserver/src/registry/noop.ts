/**
 * Whether an update changes nothing (kube's GuaranteedUpdate compares the new bytes with the
 * stored ones and then writes nothing: no revision, no event). The resourceVersion and the time of
 * managedFields entries do not count: a write that only moves a manager's timestamp is a no-op.
 */
import { type JsonValue, jsonEqual, type KubeObject } from "@skiff/api";

function comparable(obj: KubeObject): JsonValue {
  const { resourceVersion: _rv, managedFields, ...meta } = obj.metadata;
  const fields = (managedFields as Record<string, unknown>[] | undefined)?.map(
    ({ time: _t, ...entry }) => entry,
  );
  // A JSON round trip drops undefined members, as the stored form has none.
  return JSON.parse(JSON.stringify({ ...obj, metadata: { ...meta, managedFields: fields } })) as JsonValue;
}

export function isNoOpUpdate(next: KubeObject, old: KubeObject): boolean {
  return jsonEqual(comparable(next), comparable(old));
}
