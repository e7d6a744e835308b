#!/usr/bin/env node
// Encode + decode cost of one typical MsgApp (64 entries of 256 bytes) on the peer wire:
// the transport's own frames (msgpackr, length prefix, field-by-field validation) against plain
// msgpackr and JSON (which has no bytes type: entry data goes as base64).
//   npx tsc -b packages/store && node packages/store/test/transport-framing-bench.mjs
// Not a test (no assertions, timings vary by machine): the numbers go to docs/transport.md.
import { Packr } from "msgpackr";
import { decodeFrame, encodeMessage } from "../dist/raftnode/transport-frame.js";

const entries = Array.from({ length: 64 }, (_, i) => ({
  term: 7,
  index: 100_001 + i,
  type: 0,
  data: Uint8Array.from({ length: 256 }, (_, j) => (i + j) & 0xff),
}));
const msg = {
  type: 3,
  to: 2,
  from: 1,
  term: 7,
  logTerm: 7,
  index: 100_000,
  entries,
  commit: 99_990,
  snapshot: undefined,
  reject: false,
  rejectHint: 0,
  context: undefined,
};

const packr = new Packr({ useRecords: false, copyBuffers: true }); // each decoded byte array a copy
const views = new Packr({ useRecords: false });

const toJson = (m) =>
  JSON.stringify({
    ...m,
    entries: m.entries.map((e) => ({ ...e, data: Buffer.from(e.data).toString("base64") })),
  });
const fromJson = (s) => {
  const m = JSON.parse(s);
  m.entries = m.entries.map((e) => ({ ...e, data: new Uint8Array(Buffer.from(e.data, "base64")) }));
  return m;
};

const codecs = [
  ["skiff frame (one copy, views, validation)", (m) => encodeMessage(m), (b) => decodeFrame(b.subarray(4))],
  ["msgpackr, copyBuffers: true (a copy per array)", (m) => packr.pack(m), (b) => packr.unpack(b)],
  ["msgpackr, decoded arrays are views (no copy)", (m) => views.pack(m), (b) => views.unpack(b)],
  ["JSON (data as base64)", toJson, fromJson],
];

function time(fn, n) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - start) / n / 1000; // µs per op
}

const n = 10_000;
const rounds = 7;
const median = (xs) => xs.sort((x, y) => x - y)[xs.length >> 1];
for (const [, enc, dec] of codecs) for (let i = 0; i < 5_000; i++) dec(enc(msg)); // warm-up: let the JIT settle
// Rounds interleave the codecs so that machine noise hits them alike; the median of each is kept.
const samples = codecs.map(() => ({ enc: [], dec: [] }));
for (let r = 0; r < rounds; r++)
  codecs.forEach(([, enc, dec], i) => {
    const wire = enc(msg);
    samples[i].enc.push(time(() => enc(msg), n));
    samples[i].dec.push(time(() => dec(wire), n));
  });
const rows = codecs.map(([name, enc], i) => {
  const wire = enc(msg);
  const bytes = typeof wire === "string" ? Buffer.byteLength(wire) : wire.length;
  const encodeUs = median(samples[i].enc);
  const decodeUs = median(samples[i].dec);
  return { codec: name, bytes, encodeUs, decodeUs, totalUs: encodeUs + decodeUs };
});
const fmt = (x) => x.toFixed(1).padStart(8);
console.log(
  `node ${process.version}, MsgApp with 64 x 256-byte entries (${64 * 256} payload bytes), median of ${rounds} x ${n} runs`,
);
console.log(`${"codec".padEnd(46)}   bytes  enc µs  dec µs  total µs`);
for (const r of rows)
  console.log(
    `${r.codec.padEnd(46)} ${String(r.bytes).padStart(7)}${fmt(r.encodeUs)}${fmt(r.decodeUs)}${fmt(r.totalUs)}`,
  );
