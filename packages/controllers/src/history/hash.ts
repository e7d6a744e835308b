/**
 * The hashes behind ControllerRevision names and the `controller-revision-hash` label: FNV-32
 * (hash/fnv) over JSON bytes, printed as a decimal number and passed through rand.SafeEncodeString
 * so that a name never spells a word. The JSON is Go's encoding of the object decoded into a map:
 * keys sorted at every level, `<`, `>`, `&`, U+2028 and U+2029 escaped, and (as the Go structs'
 * omitempty fields) no null, empty object or empty array; that is the byte form kube hashes and
 * compares (a revision's Data.Raw), so two equal templates always give the same bytes.
 */

/** k8s.io/apimachinery/pkg/util/rand's alphabet: no vowels, no 0/1/3 (they look like letters). */
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

/** rand.SafeEncodeString: each byte mapped into ALPHANUMS. */
export function safeEncodeString(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += ALPHANUMS[s.charCodeAt(i) % ALPHANUMS.length];
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
  return JSON.stringify(sortKeys(value)).replace(/[<>&\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

/** Keys sorted; null, empty objects and empty arrays dropped (Go's omitempty). */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => sortKeys(x) ?? null);
  if (typeof v !== "object" || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const x = sortKeys((v as Record<string, unknown>)[k]);
    if (x === undefined || x === null) continue;
    if (Array.isArray(x) && x.length === 0) continue;
    if (typeof x === "object" && !Array.isArray(x) && Object.keys(x).length === 0) continue;
    out[k] = x;
  }
  return out;
}

/**
 * controller.ComputeHash (pkg/controller/controller_utils.go): FNV-1a of the pod template, then,
 * when set, the collision count little-endian in an 8-byte buffer (4 bytes used). kube hashes the
 * template's Go struct dump (DeepHashObject); Skiff hashes its canonical JSON, so the values
 * differ from kube's while keeping their properties: equal templates, equal hashes; a collision
 * count changes the hash.
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

/**
 * history.HashControllerRevision: FNV-1 of the revision's data (its canonical JSON bytes), then
 * the probe (the collision count) in decimal when set.
 */
export function hashControllerRevisionData(data: unknown, probe?: number): string {
  let h = fnv32(utf8.encode(canonicalJson(data)));
  if (probe !== undefined) h = fnv32(utf8.encode(String(probe)), h);
  return safeEncodeString(String(h));
}
