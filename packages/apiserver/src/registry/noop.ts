/**
 * Whether an update changes nothing (kube's GuaranteedUpdate compares the new bytes with the
 * stored ones and then writes nothing: no revision, no event). The resourceVersion and the time of
 * managedFields entries do not count: a write that only moves a manager's timestamp is a no-op.
 * Members whose value is undefined count as absent (the stored form has none), compared in place
 * rather than through a JSON round trip of both objects (this runs on every update).
 */
import type { KubeObject } from "@skiff/api";

type Skip = (key: string) => boolean;

const none: Skip = () => false;

/** JSON equality where an undefined member equals a missing one; `skip` drops keys at this level. */
function equal(a: unknown, b: unknown, skip: Skip = none): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let na = 0;
  for (const k in ra) {
    if (skip(k) || ra[k] === undefined) continue;
    na++;
    if (!equal(ra[k], rb[k])) return false;
  }
  let nb = 0;
  for (const k in rb) if (!skip(k) && rb[k] !== undefined) nb++;
  return na === nb;
}

const skipRv: Skip = (k) => k === "resourceVersion" || k === "managedFields";
const skipTime: Skip = (k) => k === "time";

function sameManagedFields(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  const fa = a as unknown[];
  const fb = b as unknown[];
  if (!Array.isArray(fa) || !Array.isArray(fb) || fa.length !== fb.length) return false;
  for (let i = 0; i < fa.length; i++) if (!equal(fa[i], fb[i], skipTime)) return false;
  return true;
}

export function isNoOpUpdate(next: KubeObject, old: KubeObject): boolean {
  if (!equal(next, old, (k) => k === "metadata")) return false;
  const mn = next.metadata as unknown as Record<string, unknown>;
  const mo = old.metadata as unknown as Record<string, unknown>;
  return equal(mn, mo, skipRv) && sameManagedFields(mn.managedFields, mo.managedFields);
}
