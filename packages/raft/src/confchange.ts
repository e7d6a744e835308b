import type { NodeId } from "./types.js";

/**
 * A single-server membership change (Raft dissertation §4.1): add a voter, add a learner (a
 * non-voting member that catches up first), promote a learner (AddNode on a learner), remove.
 */
export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  AddLearnerNode = 2,
}

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /** Opaque to Raft: the application's data (e.g. the new member's peer URLs). */
  readonly context?: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** ConfChange entries carry this encoding in Entry.data. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const ctx = cc.context === undefined ? undefined : Array.from(cc.context);
  return encoder.encode(JSON.stringify({ t: cc.type, n: cc.nodeId, c: ctx }));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const v = JSON.parse(decoder.decode(data)) as { t: number; n: number; c?: number[] };
  if (typeof v.t !== "number" || typeof v.n !== "number" || !(v.t in ConfChangeType)) {
    throw new Error("decodeConfChange: malformed conf change entry");
  }
  return v.c === undefined
    ? { type: v.t, nodeId: v.n }
    : { type: v.t, nodeId: v.n, context: Uint8Array.from(v.c) };
}
