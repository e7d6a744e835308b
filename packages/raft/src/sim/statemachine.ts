/**
 * The replicated application: an append-only list of client values. Its snapshot is the serialized
 * list. A running digest over every applied (index, entry) makes "same state at the same index" an
 * O(1) comparison across nodes, snapshots and restarts.
 */
import { type Entry, EntryType } from "../index.js";
import { entryKey } from "./format.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Client value k travels as the bytes "v<k>". */
export function encodeValue(id: number): Uint8Array {
  return encoder.encode(`v${id}`);
}

/** The value id in a normal entry, or undefined for an empty (leader no-op) or foreign entry. */
export function decodeValue(e: Entry): number | undefined {
  if (e.type !== EntryType.Normal || e.data.length < 2 || e.data[0] !== 0x76) return undefined;
  const n = Number(decoder.decode(e.data.subarray(1)));
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Two 32-bit FNV-style lanes chained over (index, entry): the digest of a state machine's history. */
export function chainDigest(prev: string, index: number, e: Entry): string {
  const s = `${prev}|${index}:${e.term}:${entryKey(e)}`;
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 13);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

export const emptyDigest = "0000000000000000";

interface SnapshotImage {
  readonly i: number;
  readonly d: string;
  readonly v: number[];
}

export class ListStateMachine {
  appliedIndex = 0;
  digest = emptyDigest;
  readonly values: number[] = [];
  private readonly present = new Set<number>();

  /** Applies the committed entry at appliedIndex + 1; returns the client value it carried, if any. */
  apply(e: Entry): number | undefined {
    if (e.index !== this.appliedIndex + 1) {
      throw new Error(
        `state machine: apply ${e.index} after ${this.appliedIndex} (entries must be applied in order, without gaps)`,
      );
    }
    this.appliedIndex = e.index;
    this.digest = chainDigest(this.digest, e.index, e);
    const v = decodeValue(e);
    if (v !== undefined) {
      this.values.push(v);
      this.present.add(v);
    }
    return v;
  }

  has(value: number): boolean {
    return this.present.has(value);
  }

  encode(): Uint8Array {
    const img: SnapshotImage = { i: this.appliedIndex, d: this.digest, v: this.values };
    return encoder.encode(JSON.stringify(img));
  }

  /** The state machine a snapshot holds (an empty one for the empty bootstrap snapshot). */
  static decode(data: Uint8Array): ListStateMachine {
    const sm = new ListStateMachine();
    if (data.length === 0) return sm;
    const img = JSON.parse(decoder.decode(data)) as SnapshotImage;
    sm.appliedIndex = img.i;
    sm.digest = img.d;
    for (const v of img.v) {
      sm.values.push(v);
      sm.present.add(v);
    }
    return sm;
  }
}
