/**
 * coalesceAppends: merging a Ready's MsgApps changes how many messages go out, never what a
 * follower ends up with. Checked against a model follower log fed both ways.
 */
import { type Entry, EntryType, type Message, MessageType, message } from "@skiff/raft";
import fc from "fast-check";
import t from "tap";
import { coalesceAppends, maxMergedBytes } from "../src/raftnode/coalesce.js";

const entry = (index: number, term: number, bytes = 1): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: new Uint8Array(bytes),
});

/** What a follower's log and commit become after the messages to it, in order (no conflicts here). */
function follow(messages: readonly Message[], to: number): { log: string; commit: number } {
  const log: Entry[] = [];
  let commit = 0;
  for (const m of messages) {
    if (m.to !== to) continue;
    if (m.type === MessageType.MsgApp) {
      log.length = Math.min(log.length, m.index);
      for (const e of m.entries) log[e.index - 1] = e;
    }
    commit = Math.max(commit, m.commit);
  }
  return { log: log.map((e) => `${e.index}@${e.term}`).join(","), commit };
}

/** A leader's Ready: per follower, appends that continue one another, heartbeats in between. */
const readyArb = fc
  .array(
    fc.record({
      to: fc.constantFrom(2, 3),
      kind: fc.constantFrom("app", "app", "app", "heartbeat"),
      n: fc.nat(3),
      termBump: fc.boolean(),
    }),
    { maxLength: 40 },
  )
  .map((steps) => {
    const next = new Map([
      [2, 1],
      [3, 1],
    ]);
    const lastTerm = new Map([
      [2, 0],
      [3, 0],
    ]);
    let term = 1;
    let commit = 0;
    return steps.map((s) => {
      commit++;
      if (s.kind === "heartbeat")
        return message({ type: MessageType.MsgHeartbeat, to: s.to, commit }, 1, term);
      if (s.termBump && s.n > 0) term++;
      const index = (next.get(s.to) as number) - 1;
      const entries = Array.from({ length: s.n }, (_, i) => entry(index + 1 + i, term));
      const m = message(
        { type: MessageType.MsgApp, to: s.to, index, logTerm: lastTerm.get(s.to), entries, commit },
        1,
        term,
      );
      next.set(s.to, index + 1 + s.n);
      if (s.n > 0) lastTerm.set(s.to, term);
      return m;
    });
  });

t.test("merged MsgApps leave every follower with the same log and commit", async (t) => {
  let fewer = 0;
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(readyArb, (msgs) => {
        const out = coalesceAppends(msgs);
        for (const to of [2, 3]) {
          if (JSON.stringify(follow(out, to)) !== JSON.stringify(follow(msgs, to))) return false;
          const kinds = (ms: readonly Message[]) =>
            ms.filter((m) => m.to === to && m.type !== MessageType.MsgApp).map((m) => m.commit);
          if (JSON.stringify(kinds(out)) !== JSON.stringify(kinds(msgs))) return false;
        }
        if (out.length < msgs.length) fewer++;
        return out.length <= msgs.length;
      }),
      { numRuns: 500 },
    ),
  );
  t.ok(fewer > 100, `${fewer} of 500 random Readies went out in fewer messages`);
});

t.test("a run of appends to one follower becomes one message; other messages split runs", async (t) => {
  const app = (to: number, index: number, n: number, term = 1) =>
    message(
      {
        type: MessageType.MsgApp,
        to,
        index,
        logTerm: index === 0 ? 0 : 1,
        entries: Array.from({ length: n }, (_, i) => entry(index + 1 + i, term)),
        commit: index,
      },
      1,
      term,
    );
  const out = coalesceAppends([app(2, 0, 2), app(3, 0, 2), app(2, 2, 3), app(3, 2, 1), app(2, 5, 1)]);
  t.same(
    out.map((m) => [m.to, m.index, m.entries.length, m.commit]),
    [
      [2, 0, 6, 5],
      [3, 0, 3, 2],
    ],
  );
  const hb = message({ type: MessageType.MsgHeartbeat, to: 2 }, 1, 1);
  t.equal(
    coalesceAppends([app(2, 0, 2), hb, app(2, 2, 1)]).length,
    3,
    "a heartbeat between keeps them apart",
  );
  t.equal(coalesceAppends([app(2, 0, 2), app(2, 3, 1)]).length, 2, "a gap is not merged");
  const big = (index: number) =>
    message(
      {
        type: MessageType.MsgApp,
        to: 2,
        index,
        logTerm: index === 0 ? 0 : 1,
        entries: [entry(index + 1, 1, maxMergedBytes / 2 + 1)],
      },
      1,
      1,
    );
  t.equal(coalesceAppends([big(0), big(1)]).length, 2, "no merged message beyond the size limit");
});
