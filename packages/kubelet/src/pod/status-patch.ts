/**
 * The strategic merge patch the kubelet sends to pods/status, as statusutil.PatchPodStatus:
 * a two-way diff from the status the API server holds to the new one (lists with a merge key,
 * conditions by type and podIPs by ip, are diffed element by element; other lists are replaced),
 * with the pod's metadata.uid added so the API server refuses it if the pod was recreated.
 */
import { type JsonValue, jsonEqual } from "@skiff/api";

type Obj = Record<string, unknown>;

const MERGE_KEYS: Record<string, string> = { conditions: "type", podIPs: "ip" };

function diffMergeList(oldList: Obj[], newList: Obj[], key: string): { items: Obj[]; changed: boolean } {
  const items: Obj[] = [];
  for (const n of newList) {
    const o = oldList.find((x) => x[key] === n[key]);
    if (o === undefined || !jsonEqual(o as JsonValue, n as JsonValue)) items.push(n);
  }
  for (const o of oldList)
    if (!newList.some((n) => n[key] === o[key])) items.push({ [key]: o[key], $patch: "delete" });
  const sameOrder =
    oldList.length === newList.length && oldList.every((o, i) => o[key] === (newList[i] as Obj)[key]);
  return { items, changed: items.length > 0 || !sameOrder };
}

/** The status part of the patch; empty when nothing changed. */
export function statusDiff(oldStatus: Obj, newStatus: Obj): Obj {
  const out: Obj = {};
  for (const k of new Set([...Object.keys(oldStatus), ...Object.keys(newStatus)])) {
    const o = oldStatus[k];
    const n = newStatus[k];
    const mergeKey = MERGE_KEYS[k];
    if (mergeKey !== undefined && Array.isArray(n)) {
      const d = diffMergeList((o as Obj[] | undefined) ?? [], n as Obj[], mergeKey);
      if (!d.changed) continue;
      out[`$setElementOrder/${k}`] = (n as Obj[]).map((x) => ({ [mergeKey]: x[mergeKey] }));
      if (d.items.length > 0) out[k] = d.items;
      continue;
    }
    if (n === undefined) {
      if (o !== undefined) out[k] = null;
    } else if (o === undefined || !jsonEqual(o as JsonValue, n as JsonValue)) out[k] = n;
  }
  return out;
}

/** The whole patch: `{metadata: {uid}, status: diff}`, or undefined when the status is the same. */
export function podStatusPatch(uid: string, oldStatus: Obj, newStatus: Obj): Obj | undefined {
  const status = statusDiff(oldStatus, newStatus);
  if (Object.keys(status).length === 0) return undefined;
  return { metadata: { uid }, status };
}
