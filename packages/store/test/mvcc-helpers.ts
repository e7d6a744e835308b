import type { KeyValue } from "../src/mvcc/index.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** UTF-8 bytes of a test key or value. */
export const b = (s: string): Uint8Array => enc.encode(s);
export const str = (u: Uint8Array | undefined): string | undefined => (u ? dec.decode(u) : undefined);

/** A KeyValue as plain comparable data: strings for bytes, a number for the lease. */
export function kvPlain(kv: KeyValue | undefined) {
  if (!kv) return undefined;
  return {
    key: str(kv.key),
    create_revision: kv.create_revision,
    mod_revision: kv.mod_revision,
    version: kv.version,
    value: str(kv.value),
    lease: Number(kv.lease),
  };
}

/** Deep-converts a response to JSON-able data (bytes -> string, bigint -> number). */
export function plain(x: unknown): unknown {
  if (x instanceof Uint8Array) return dec.decode(x);
  if (typeof x === "bigint") return Number(x);
  if (Array.isArray(x)) return x.map(plain);
  if (x && typeof x === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (v !== undefined) o[k] = plain(v);
    return o;
  }
  return x;
}
