/**
 * kube's ReferenceCache (garbagecollector/uid_cache.go), the absentOwnerCache: an LRU set of
 * owner identities known not to exist, so that the dependents of a deleted owner do not each ask
 * the API server again. Bounded (kube: 500 entries): a forgotten entry only costs one GET.
 */
import { type ObjectReference, referenceKey } from "./graph.js";

export class ReferenceCache {
  /** Insertion order is recency order: the first key is the least recently used. */
  private readonly entries = new Map<string, true>();

  constructor(readonly maxEntries = 500) {}

  add(ref: ObjectReference): void {
    const key = referenceKey(ref);
    this.entries.delete(key);
    this.entries.set(key, true);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** Whether the identity is cached (and marks it recently used, as an LRU get does). */
  has(ref: ObjectReference): boolean {
    const key = referenceKey(ref);
    if (!this.entries.has(key)) return false;
    this.entries.delete(key);
    this.entries.set(key, true);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }
}
