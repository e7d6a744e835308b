/**
 * Merges the MsgApps a Ready holds for one follower into as few messages as carry the same
 * entries. The leader appends once per proposal it steps (a forwarded MsgProp, a local batch) and
 * sends each follower one MsgApp per append, so a busy leader's Ready held dozens of small MsgApps
 * per follower: each one a frame to encode and decode, a step, and an answer. One MsgApp that
 * carries them all says the same thing: entries from the first one's index on, and the newest commit.
 */
import { type Entry, type Message, MessageType } from "@skiff/raft";

/** A merged MsgApp carries at most this many bytes of entry data (the core's default message size). */
export const maxMergedBytes = 1024 * 1024;

/** Term of the last entry a MsgApp leaves in the follower's log (its own logTerm when it has none). */
function lastTerm(m: Message): number {
  return m.entries.length === 0 ? m.logTerm : (m.entries[m.entries.length - 1]?.term ?? m.logTerm);
}

function dataBytes(m: Message): number {
  let n = 0;
  for (const e of m.entries) n += e.data.length;
  return n;
}

/**
 * `b` continues `a`: both MsgApps of one term to one follower, and b's previous entry is a's last
 * (so b appended to a's entries is exactly what b alone appends after a).
 */
function continues(a: Message, b: Message): boolean {
  return (
    a.type === MessageType.MsgApp &&
    b.type === MessageType.MsgApp &&
    a.to === b.to &&
    a.term === b.term &&
    b.index === a.index + a.entries.length &&
    b.logTerm === lastTerm(a)
  );
}

/**
 * The same messages with each run of MsgApps that continue one another (to the same follower,
 * with nothing else to that follower between them) merged into one. Messages to different peers
 * keep their order among themselves; only the relative order of messages to different peers may change.
 */
export function coalesceAppends(messages: readonly Message[]): Message[] {
  if (messages.length < 2) return messages as Message[];
  const out: Message[] = [];
  /** The position in `out` of the last message to each peer. */
  const lastTo = new Map<number, number>();
  /** Merged messages: their entry arrays (ours to extend) and data bytes so far, by position. */
  const merged = new Map<number, { entries: Entry[]; bytes: number }>();
  for (const m of messages) {
    const at = lastTo.get(m.to);
    const prev = at === undefined ? undefined : out[at];
    if (at !== undefined && prev !== undefined && continues(prev, m)) {
      const acc = merged.get(at) ?? { entries: [...prev.entries], bytes: dataBytes(prev) };
      const bytes = acc.bytes + dataBytes(m);
      if (bytes <= maxMergedBytes || m.entries.length === 0) {
        for (const e of m.entries) acc.entries.push(e);
        acc.bytes = bytes;
        merged.set(at, acc);
        out[at] = { ...prev, entries: acc.entries, commit: Math.max(prev.commit, m.commit) };
        continue;
      }
    }
    lastTo.set(m.to, out.length);
    out.push(m);
  }
  return out;
}
