/**
 * The pod-template-hash (kube's controller.ComputeHash) and template equality
 * (deploymentutil.EqualIgnoreHash). kube hashes the Go object with a deep printer (DeepHashObject)
 * into FNV-32a; Skiff hashes the template's canonical JSON (keys sorted, empty values dropped, as
 * the Go struct would omit them) into FNV-32a, then, as kube, the collision count's bytes, and
 * renders the sum's decimal digits with rand.SafeEncodeString's alphabet. Names therefore have
 * kube's shape (`<deployment>-<10 or fewer of bcdf...789>`), not kube's exact values.
 */

import type { PodTemplateSpec } from "../../util/pod-control.js";
import { DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY } from "../types.js";

/** k8s.io/apimachinery/pkg/util/rand's alphanums: no vowels, no 0/1/3 (no words, no look-alikes). */
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

/** rand.SafeEncodeString: each character becomes alphanums[code % 27]. */
export function safeEncodeString(s: string): string {
  let out = "";
  for (const ch of s) out += ALPHANUMS[(ch.codePointAt(0) as number) % ALPHANUMS.length];
  return out;
}

/** hash/fnv's New32a over bytes. */
export function fnv32a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * A JSON value with null, empty objects and empty arrays removed, as apimachinery's semantic
 * equality treats nil and empty alike and as Go's omitempty leaves them out; so a template
 * round-tripped through kubectl (which sends `creationTimestamp: null`, `resources: {}`)
 * compares and hashes as the one it came from.
 */
export function normalize(v: unknown): unknown {
  if (Array.isArray(v)) {
    const items = v.map(normalize).filter((x) => x !== undefined);
    return items.length === 0 ? undefined : items;
  }
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const n = normalize((v as Record<string, unknown>)[k]);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  return v === null ? undefined : v;
}

/** The canonical JSON of a value: normalized, keys sorted. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(normalize(v) ?? {});
}

/** controller.ComputeHash: the template's hash, salted with the collision count when set. */
export function computeHash(template: PodTemplateSpec, collisionCount?: number): string {
  const body = new TextEncoder().encode(canonicalJson(template));
  let h = fnv32a(body);
  if (collisionCount !== undefined) {
    // kube writes the count little-endian into an 8-byte buffer (4 bytes used, 4 zero).
    const buf = new Uint8Array(8);
    new DataView(buf.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(buf, h);
  }
  return safeEncodeString(String(h));
}

/** A template without the pod-template-hash label (for comparisons). */
function withoutHash(t: PodTemplateSpec): PodTemplateSpec {
  const labels = { ...(t.metadata?.labels ?? {}) };
  delete labels[DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY];
  return { ...t, metadata: { ...t.metadata, labels } };
}

/** deploymentutil.EqualIgnoreHash: semantic equality of two templates, the hash label aside. */
export function equalIgnoreHash(a: PodTemplateSpec, b: PodTemplateSpec): boolean {
  return canonicalJson(withoutHash(a)) === canonicalJson(withoutHash(b));
}
