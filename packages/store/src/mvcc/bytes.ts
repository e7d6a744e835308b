/**
 * Keys are byte strings compared bytewise (etcd's bytes.Compare). Internally a key is held as a
 * "binary string": one UTF-16 code unit per byte (0..255), so JavaScript's `<` on these strings is
 * exactly bytewise order and they can key a Map.
 */
export function toBin(b: Uint8Array): string {
  let s = "";
  // Chunked to stay under the argument limit of String.fromCharCode for large keys.
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode(...b.subarray(i, i + 8192));
  }
  return s;
}

export function fromBin(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** etcd's range_end convention, in binary-string form. */
export interface KeyRange {
  start: string;
  /** undefined: the single key `start`; "": no upper bound (range_end "\0", from-key); else exclusive end. */
  end: string | undefined;
}

/** Interprets (key, range_end) as etcd does (mkGteRange: a range_end of "\0" means "to the end"). */
export function keyRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyRange {
  const start = toBin(key);
  if (rangeEnd === undefined || rangeEnd.length === 0) return { start, end: undefined };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: "" };
  return { start, end: toBin(rangeEnd) };
}

export function inRange(k: string, r: KeyRange): boolean {
  if (r.end === undefined) return k === r.start;
  return k >= r.start && (r.end === "" || k < r.end);
}

/** The range_end that selects every key with this prefix (clientv3.GetPrefixRangeEnd). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.slice(0, i + 1);
    }
  }
  // All 0xff: no upper bound, spelled "\0" as etcd does.
  return new Uint8Array([0]);
}
