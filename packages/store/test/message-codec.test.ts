/**
 * The binary form of Raft messages on the peer wire (message-codec.ts, in Msg frames): every
 * message comes back as it was sent, msgpack frames of protocol 1 are still read, and malformed
 * bytes are a FrameError (the connection closes), never a bad value handed to the core.
 */
import { type Entry, EntryType, type Message, message } from "@skiff/raft";
import fc from "fast-check";
import { Packr } from "msgpackr";
import t from "tap";
import { binaryMessageTag } from "../src/raftnode/message-codec.js";
import { decodeFrame, encodeMessage, FrameError, FrameKind } from "../src/raftnode/transport-frame.js";

const uint = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const bytes = fc.uint8Array({ maxLength: 64 }).map((b) => new Uint8Array(b));
const entryArb: fc.Arbitrary<Entry> = fc.record({
  index: uint,
  term: uint,
  type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange),
  data: bytes,
});
const messageArb: fc.Arbitrary<Message> = fc
  .record({
    type: fc.integer({ min: 0, max: 18 }),
    to: uint,
    from: uint,
    term: uint,
    logTerm: uint,
    index: uint,
    entries: fc.array(entryArb, { maxLength: 5 }),
    commit: uint,
    reject: fc.boolean(),
    rejectHint: uint,
    context: fc.option(bytes, { nil: undefined }),
  })
  .map((m) => message(m, m.from, m.term));

/** Comparable form: byte strings as hex. */
const plain = (m: Message) =>
  JSON.stringify({
    ...m,
    entries: m.entries.map((e) => [e.index, e.term, e.type, Buffer.from(e.data).toString("hex")]),
    context: m.context === undefined ? null : Buffer.from(m.context).toString("hex"),
  });

const payloadOf = (frame: Buffer) => frame.subarray(4);

t.test("every message comes back as it was sent", async (t) => {
  let n = 0;
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(messageArb, (m) => {
        n++;
        const frame = encodeMessage(m);
        if (frame.readUInt32BE(0) !== frame.length - 4 || frame[4] !== binaryMessageTag) return false;
        const f = decodeFrame(payloadOf(frame));
        return f.kind === FrameKind.Msg && plain(f.message) === plain(m);
      }),
      { numRuns: 400 },
    ),
  );
  t.equal(n, 400);
});

t.test("a msgpack Msg frame (protocol 1) is still read", async (t) => {
  const m = message({
    type: 3,
    to: 2,
    from: 1,
    term: 5,
    index: 9,
    logTerm: 4,
    commit: 8,
    entries: [{ index: 10, term: 5, type: EntryType.Normal, data: Uint8Array.of(1, 2) }],
  });
  const payload = new Packr({ useRecords: false }).pack([FrameKind.Msg, m]);
  const f = decodeFrame(payload);
  t.equal(f.kind, FrameKind.Msg);
  if (f.kind === FrameKind.Msg) t.equal(plain(f.message), plain(m));
});

t.test("malformed binary messages are frame errors", async (t) => {
  const good = payloadOf(
    encodeMessage(
      message({
        type: 3,
        to: 2,
        from: 1,
        entries: [{ index: 1, term: 1, type: EntryType.Normal, data: Uint8Array.of(7, 7, 7) }],
      }),
    ),
  );
  const bad = (what: string, mutate: (b: Buffer) => Buffer | undefined, message: RegExp) => {
    const copy = Buffer.from(good);
    const b = mutate(copy) ?? copy;
    let err: unknown;
    try {
      decodeFrame(b);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof FrameError, `${what}: a FrameError`);
    t.match((err as Error | undefined)?.message, message, what);
  };
  bad("cut short", (b) => b.subarray(0, b.length - 1), /past the end/);
  bad("too short for the fixed part", (b) => b.subarray(0, 20), /too short/);
  bad(
    "an unknown message type",
    (b) => {
      b[1] = 99;
    },
    /unknown message type 99/,
  );
  bad(
    "unknown flags",
    (b) => {
      b[2] = 8;
    },
    /unknown flags/,
  );
  bad(
    "a negative term",
    (b) => {
      b.writeDoubleBE(-1, 19);
    },
    /not a uint/,
  );
  bad(
    "a fractional index",
    (b) => {
      b.writeDoubleBE(1.5, 35);
    },
    /not a uint/,
  );
  bad(
    "an unknown entry type",
    (b) => {
      b[63 + 16] = 5;
    },
    /unknown entry type/,
  );
  bad(
    "more entries than fit",
    (b) => {
      b.writeUInt32BE(1000, 59);
    },
    /cannot fit/,
  );
  bad("bytes after the message", (b) => Buffer.concat([b, Buffer.of(0)]), /after the message/);
});
