/** How the trace and the reports spell messages, entries and states: short, stable, greppable. */
import { type Entry, EntryType, type HardState, type Message, MessageType, StateType } from "../index.js";

/** A byte string as a JS string (one char per byte): a cheap, exact map key for small payloads. */
export function bytesKey(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i] as number);
  return s;
}

/** What an entry carries, for comparing entries across nodes: type and payload. */
export function entryKey(e: Entry): string {
  if (e.type === EntryType.ConfChange) return `cc:${bytesKey(e.data)}`;
  return e.data.length === 0 ? "empty" : bytesKey(e.data);
}

export function fmtEntry(e: Entry): string {
  return `${e.index}/${e.term}:${e.type === EntryType.ConfChange ? "cc" : e.data.length === 0 ? "empty" : bytesKey(e.data)}`;
}

export function fmtEntries(ents: readonly Entry[]): string {
  if (ents.length === 0) return "[]";
  const first = ents[0] as Entry;
  const last = ents[ents.length - 1] as Entry;
  return ents.length === 1
    ? `[${fmtEntry(first)}]`
    : `[${first.index}..${last.index} terms ${first.term}..${last.term}]`;
}

export function fmtHardState(hs: HardState): string {
  return `hs{term=${hs.term} vote=${hs.vote} commit=${hs.commit}}`;
}

export function stateName(s: StateType): string {
  return StateType[s] ?? String(s);
}

/** One message, without its direction: type and the fields that matter for that type. */
export function fmtMessage(m: Message): string {
  const base = `${MessageType[m.type] ?? m.type} term=${m.term}`;
  switch (m.type) {
    case MessageType.MsgApp:
      return `${base} idx=${m.index} lt=${m.logTerm} ents=${fmtEntries(m.entries)} commit=${m.commit}`;
    case MessageType.MsgAppResp:
      return m.reject
        ? `${base} idx=${m.index} REJECT hint=${m.rejectHint} lt=${m.logTerm}`
        : `${base} idx=${m.index}`;
    case MessageType.MsgVote:
    case MessageType.MsgPreVote:
      return `${base} last=${m.index}/${m.logTerm}${m.context === undefined ? "" : " transfer"}`;
    case MessageType.MsgVoteResp:
    case MessageType.MsgPreVoteResp:
      return m.reject ? `${base} REJECT` : `${base} granted`;
    case MessageType.MsgHeartbeat:
      return `${base} commit=${m.commit}${m.context === undefined ? "" : ` ctx=${bytesKey(m.context)}`}`;
    case MessageType.MsgHeartbeatResp:
      return m.context === undefined ? base : `${base} ctx=${bytesKey(m.context)}`;
    case MessageType.MsgSnap: {
      const md = m.snapshot?.metadata;
      return `${base} snap=${md?.index}/${md?.term} voters=${md?.confState.voters.join(",")} learners=${md?.confState.learners.join(",")}`;
    }
    case MessageType.MsgProp:
      return `${base} ents=${m.entries.map(fmtEntry).join(",")}`;
    case MessageType.MsgReadIndex:
    case MessageType.MsgReadIndexResp:
      return `${base} idx=${m.index} ctx=${m.context === undefined ? "" : bytesKey(m.context)}`;
    default:
      return base;
  }
}
