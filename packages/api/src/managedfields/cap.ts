/**
 * At most 10 Update entries (kube's capManagersManager, DefaultMaxUpdateManagers): the oldest
 * are merged, per apiVersion, into an "ancient-changes" entry until the cap holds. Apply entries
 * are never merged.
 */
import { type Managers, managerId } from "./managers.js";

export const MaxUpdateManagers = 10;
export const AncientChangesManager = "ancient-changes";

export function capManagers(managers: Managers, max = MaxUpdateManagers): Managers {
  const updaters = [...managers].filter(([, e]) => e.operation === "Update");
  if (updaters.length <= max) return managers;
  const out: Managers = new Map(managers);
  updaters.sort(([ia, a], [ib, b]) => {
    const ta = a.time ?? "";
    const tb = b.time ?? "";
    if (ta !== tb) return ta < tb ? -1 : 1;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
  const firstOfVersion = new Map<string, string>();
  let length = updaters.length;
  for (const [id, e] of updaters) {
    if (length <= max) break;
    const first = firstOfVersion.get(e.apiVersion);
    if (first === undefined) {
      firstOfVersion.set(e.apiVersion, id);
      continue;
    }
    const bucketEntry = {
      manager: AncientChangesManager,
      operation: "Update" as const,
      apiVersion: e.apiVersion,
    };
    const bucket = managerId(bucketEntry);
    let into = out.get(bucket);
    if (into === undefined) {
      const firstEntry = out.get(first);
      out.delete(first);
      into = { ...bucketEntry, time: firstEntry?.time, set: firstEntry?.set ?? e.set };
    }
    out.set(bucket, { ...into, set: e.set.union(into.set), time: e.time });
    out.delete(id);
    length--;
  }
  return out;
}
