import type { Entry, Message, MessageType, NodeId, Snapshot } from "./types.js";

const noEntries: readonly Entry[] = Object.freeze([]);

/** Fields of a message to build; everything not given takes its zero value. */
export interface MessageInit {
  type: MessageType;
  to?: NodeId;
  from?: NodeId;
  term?: number;
  logTerm?: number;
  index?: number;
  entries?: readonly Entry[];
  commit?: number;
  snapshot?: Snapshot;
  reject?: boolean;
  rejectHint?: number;
  context?: Uint8Array;
}

/**
 * A complete Message with zero values for the fields not given. Every message has the same
 * shape (all twelve fields, in one order), which keeps property access monomorphic and fast.
 */
export function message(m: MessageInit, from: NodeId = m.from ?? 0, term: number = m.term ?? 0): Message {
  return {
    type: m.type,
    to: m.to ?? 0,
    from,
    term,
    logTerm: m.logTerm ?? 0,
    index: m.index ?? 0,
    entries: m.entries ?? noEntries,
    commit: m.commit ?? 0,
    snapshot: m.snapshot,
    reject: m.reject ?? false,
    rejectHint: m.rejectHint ?? 0,
    context: m.context,
  };
}

/** Message types the core generates for itself; they never cross the network. */
export function isLocalMsg(t: MessageType): boolean {
  return t === 0 || t === 1 || t === 10 || t === 11 || t === 12;
}

export function isResponseMsg(t: MessageType): boolean {
  return t === 4 || t === 6 || t === 9 || t === 10 || t === 16 || t === 18;
}
