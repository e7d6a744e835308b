/**
 * Watch checker: validates etcd-style watch streams against the acknowledged KV writes.
 * The guarantees checked are the ones etcd documents for Watch (api_guarantees.md): ordered,
 * unique, reliable (no gaps), atomic (one revision never split across responses), plus
 * value consistency with the KV history, correct prev_kv, and agreement between watchers.
 *
 * Revisions are store-wide (one per write txn); a txn writing several keys yields several events
 * with the same revision, so "ordered" means revisions never decrease across events and strictly
 * increase across batches.
 */
import { sameValue } from "./history.js";

export interface WatchEvent {
  revision: number;
  key: string;
  type: "put" | "delete";
  value: unknown;
  /** Undefined when prev_kv was not requested; `null` when the key did not exist before. */
  prevValue?: unknown;
}

/** An acknowledged write (ok in the KV history) with the revision the store returned. */
export interface KvWrite {
  revision: number;
  key: string;
  type: "put" | "delete";
  value: unknown;
}

export interface WatcherStream {
  id: string;
  /** Keys in [start, end); `end` undefined = the single key `start` (etcd's range_end rule). */
  range: { start: string; end?: string };
  /** The watch's start_revision: events before it must not appear. */
  startRevision: number;
  /** The watcher is known to have caught up to this revision (defaults to its last event). */
  endRevision?: number;
  /** Whether the watcher asked for prev_kv, so every event must carry `prevValue`. */
  prevKv?: boolean;
  /** Responses in arrival order, each a batch of events. */
  batches: WatchEvent[][];
}

export interface WatchViolation {
  type: "unordered" | "duplicate" | "gap" | "split-revision" | "inconsistent" | "bad-prev-kv" | "disagree";
  watcher: string;
  revision?: number;
  key?: string;
  detail: string;
}

export interface WatchResult {
  valid: boolean;
  violations: WatchViolation[];
}

export function inRange(range: WatcherStream["range"], key: string): boolean {
  return range.end === undefined ? key === range.start : key >= range.start && key < range.end;
}

const slot = (revision: number, key: string) => `${revision}\u0000${key}`;

export function checkWatch(watchers: readonly WatcherStream[], writes: readonly KvWrite[]): WatchResult {
  const acked = new Map(writes.map((w) => [slot(w.revision, w.key), w]));
  // The key histories for prev_kv: acknowledged writes, plus the writes only the watch streams
  // reveal (indeterminate `info` writes that landed). Those are checked for agreement between
  // watchers, so using them here is sound; an acknowledged write wins over an event.
  const known = new Map(acked);
  for (const w of watchers)
    for (const e of w.batches.flat())
      if (!known.has(slot(e.revision, e.key)))
        known.set(slot(e.revision, e.key), {
          revision: e.revision,
          key: e.key,
          type: e.type,
          value: e.value,
        });
  const byKey = new Map<string, KvWrite[]>();
  for (const w of [...known.values()].sort((a, b) => a.revision - b.revision)) {
    const list = byKey.get(w.key) ?? [];
    list.push(w);
    byKey.set(w.key, list);
  }
  const violations: WatchViolation[] = [];
  for (const watcher of watchers) violations.push(...checkStream(watcher, acked, byKey));
  violations.push(...checkAgreement(watchers));
  return { valid: violations.length === 0, violations };
}

function checkStream(
  watcher: WatcherStream,
  acked: Map<string, KvWrite>,
  byKey: Map<string, KvWrite[]>,
): WatchViolation[] {
  const out: WatchViolation[] = [];
  const bad = (type: WatchViolation["type"], e: { revision?: number; key?: string }, detail: string) =>
    out.push({ type, watcher: watcher.id, revision: e.revision, key: e.key, detail });
  const seen = new Set<string>();
  const batchOf = new Map<number, number>();
  const split = new Set<number>(); // report each split revision once
  let lastRevision = watcher.startRevision - 1;
  watcher.batches.forEach((batch, b) => {
    for (const e of batch) {
      if (e.revision < lastRevision || e.revision < watcher.startRevision || !inRange(watcher.range, e.key)) {
        bad("unordered", e, `revision ${e.revision} after ${lastRevision} or outside the watch`);
      }
      if (seen.has(slot(e.revision, e.key))) bad("duplicate", e, "event delivered twice");
      seen.add(slot(e.revision, e.key));
      // Atomicity: a revision's events all arrive in the batch where the revision first appears.
      const first = batchOf.get(e.revision) ?? b;
      if (first !== b && !split.has(e.revision)) {
        split.add(e.revision);
        bad("split-revision", e, `revision split across batches ${first} and ${b}`);
      }
      batchOf.set(e.revision, first);
      lastRevision = Math.max(lastRevision, e.revision);
      checkValue(e, acked, byKey, watcher, bad);
    }
  });
  // Reliability: every acknowledged write in range up to where the watcher caught up was delivered.
  const end = watcher.endRevision ?? lastRevision;
  for (const w of acked.values()) {
    if (w.revision < watcher.startRevision || w.revision > end || !inRange(watcher.range, w.key)) continue;
    if (!seen.has(slot(w.revision, w.key))) bad("gap", w, "acknowledged write never delivered");
    else if (!split.has(w.revision) && !sameBatch(watcher, w, batchOf)) {
      bad("split-revision", w, "write missing from its revision's batch");
    }
  }
  return out;
}

function sameBatch(watcher: WatcherStream, w: KvWrite, batchOf: Map<number, number>): boolean {
  const batch = watcher.batches[batchOf.get(w.revision) ?? -1] ?? [];
  return batch.some((e) => e.revision === w.revision && e.key === w.key);
}

function checkValue(
  e: WatchEvent,
  acked: Map<string, KvWrite>,
  byKey: Map<string, KvWrite[]>,
  watcher: WatcherStream,
  bad: (type: WatchViolation["type"], e: WatchEvent, detail: string) => void,
): void {
  const w = acked.get(slot(e.revision, e.key));
  // Events at revisions with no acknowledged write may come from indeterminate (info) writes: the
  // value cannot be checked, but the event is not an error.
  if (w !== undefined && (w.type !== e.type || (e.type === "put" && !sameValue(w.value, e.value)))) {
    bad(
      "inconsistent",
      e,
      `event ${e.type} ${JSON.stringify(e.value)}, write was ${w.type} ${JSON.stringify(w.value)}`,
    );
  }
  if (!watcher.prevKv) return;
  // prev_kv is the key's value at revision - 1: the latest known write (or observed event) before it.
  const before = (byKey.get(e.key) ?? []).filter((x) => x.revision < e.revision).at(-1);
  const expected = before === undefined || before.type === "delete" ? null : before.value;
  if (!sameValue(expected, e.prevValue ?? null)) {
    bad("bad-prev-kv", e, `prev_kv ${JSON.stringify(e.prevValue)}, expected ${JSON.stringify(expected)}`);
  }
}

/** Watchers over the same range must deliver the same events over their common revision window. */
function checkAgreement(watchers: readonly WatcherStream[]): WatchViolation[] {
  const out: WatchViolation[] = [];
  const events = (w: WatcherStream, lo: number, hi: number) =>
    w.batches
      .flat()
      .filter((e) => e.revision >= lo && e.revision <= hi)
      .map((e) => JSON.stringify([e.revision, e.key, e.type, e.value ?? null]));
  const last = (w: WatcherStream) =>
    w.endRevision ?? w.batches.flat().at(-1)?.revision ?? w.startRevision - 1;
  for (let i = 0; i < watchers.length; i++) {
    for (let j = i + 1; j < watchers.length; j++) {
      const a = watchers[i] as WatcherStream;
      const b = watchers[j] as WatcherStream;
      if (a.range.start !== b.range.start || a.range.end !== b.range.end) continue;
      const lo = Math.max(a.startRevision, b.startRevision);
      const hi = Math.min(last(a), last(b));
      const ea = events(a, lo, hi);
      const eb = events(b, lo, hi);
      if (ea.length !== eb.length || ea.some((x, k) => x !== eb[k])) {
        out.push({
          type: "disagree",
          watcher: `${a.id},${b.id}`,
          detail: `differ in revisions ${lo}..${hi}`,
        });
      }
    }
  }
  return out;
}
