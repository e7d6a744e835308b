/**
 * The hashes the workload controllers name things by: controller.ComputeHash (the Deployment's
 * pod-template-hash, the DaemonSet's and StatefulSet's controller-revision-hash) and the pieces
 * history.HashControllerRevision is made of: FNV-32 and FNV-32a (hash/fnv), rand.SafeEncodeString
 * (so that a name never spells a word) and the canonical JSON bytes that are hashed and compared.
 *
 * The canonical JSON is Go's json.Marshal of the object decoded into a map: keys sorted at every
 * level, `<`, `>`, `&`, U+2028 and U+2029 escaped, and, as the Go structs' omitempty fields, no
 * null, empty object or empty array as a field's value (array elements stay, as Go keeps them).
 * So two equal templates give the same bytes however a client spelled their empty values (kubectl
 * sends `creationTimestamp: null`, `resources: {}`).
 */

/** k8s.io/apimachinery/pkg/util/rand's alphanums: no vowels, no 0/1/3 (no words, no look-alikes). */
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

/** rand.SafeEncodeString: each rune becomes alphanums[rune % 27]. */
export function safeEncodeString(s: string): string {
  let out = "";
  for (const ch of s) out += ALPHANUMS[(ch.codePointAt(0) as number) % ALPHANUMS.length];
  return out;
}

const FNV32_OFFSET = 0x811c9dc5;
const FNV32_PRIME = 0x01000193;

/** fnv.New32 (FNV-1): multiply, then xor each byte. */
export function fnv32(bytes: Uint8Array, seed = FNV32_OFFSET): number {
  let h = seed;
  for (const b of bytes) h = (Math.imul(h, FNV32_PRIME) ^ b) >>> 0;
  return h;
}

/** fnv.New32a (FNV-1a): xor each byte, then multiply. */
export function fnv32a(bytes: Uint8Array, seed = FNV32_OFFSET): number {
  let h = seed;
  for (const b of bytes) h = Math.imul(h ^ b, FNV32_PRIME) >>> 0;
  return h;
}

const utf8 = new TextEncoder();

/** Go's json.Marshal of a value decoded into interface{}: sorted keys, HTML-safe escapes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(omitEmpty(value) ?? null).replace(/[<>&\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

/** Keys sorted; fields that are null, empty objects or empty arrays dropped (Go's omitempty). */
function omitEmpty(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => omitEmpty(x) ?? null);
  if (typeof v !== "object" || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const x = omitEmpty((v as Record<string, unknown>)[k]);
    if (x === undefined || x === null) continue;
    if (Array.isArray(x) && x.length === 0) continue;
    if (typeof x === "object" && !Array.isArray(x) && Object.keys(x).length === 0) continue;
    out[k] = x;
  }
  return out;
}

/**
 * controller.ComputeHash (pkg/controller/controller_utils.go): FNV-1a of the pod template, then,
 * when set, the collision count little-endian in an 8-byte buffer (4 bytes used), rendered as
 * SafeEncodeString of the sum's decimal digits. kube hashes the template's Go struct dump
 * (DeepHashObject); Skiff hashes its canonical JSON, so the values differ from kube's while
 * keeping their shape and properties: equal templates, equal hashes; a collision count changes it.
 */
export function computeHash(template: unknown, collisionCount?: number): string {
  let h = fnv32a(utf8.encode(canonicalJson(template)));
  if (collisionCount !== undefined) {
    const le = new Uint8Array(8);
    new DataView(le.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(le, h);
  }
  return safeEncodeString(String(h));
}
