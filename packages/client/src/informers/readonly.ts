/**
 * Read-only cache objects. client-go's rule is "never mutate an object taken from the cache" (the
 * informer's store hands every caller the same pointer); Go cannot enforce it, JavaScript can: an
 * object entering the cache is deep-frozen, so a mutation attempt throws a TypeError in strict
 * mode (every ES module is strict) instead of silently corrupting what other readers see. Callers
 * that need to change an object take a copy with cloneObject first, as Go callers call DeepCopy.
 */

/** Freezes obj and everything reachable from it; returns obj. Objects are JSON (no cycles). */
export function deepFreeze<T>(obj: T): T {
  if (typeof obj !== "object" || obj === null || ArrayBuffer.isView(obj)) return obj;
  for (const v of Object.values(obj)) if (typeof v === "object" && v !== null) deepFreeze(v);
  return Object.freeze(obj);
}

/** A deep, mutable copy of a (possibly frozen) cached object: the DeepCopy of client-go callers. */
export function cloneObject<T>(obj: T): T {
  return structuredClone(obj);
}
