/**
 * Container log files and the reader behind `kubectl logs`: the CRI format, the file layout,
 * and kube's options over generated files, including following a file while it is rotated.
 */
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { gzipSync } from "node:zlib";
import { waitFor } from "@skiff/testkit";
import t, { type Test } from "tap";
import {
  containerLogPath,
  formatCriLine,
  formatRFC3339NanoFixed,
  type LogOptions,
  logFilesFor,
  parseCriLine,
  parseRFC3339Nano,
  podLogsDir,
  readContainerLog,
} from "../src/index.js";

const base = parseRFC3339Nano("2026-12-07T20:00:00Z") as bigint;
/** The n-th second after base, with a nanosecond part so precision is exercised. */
const at = (n: number) => base + BigInt(n) * 1_000_000_000n + 123_456_789n;
const line = (n: number, text: string, stream: "stdout" | "stderr" = "stdout", partial = false) =>
  formatCriLine(at(n), stream, partial, text);

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), "skiff-logs-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function collector(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  return { out, text: () => Buffer.concat(chunks).toString() };
}

async function read(files: string[], opts: LogOptions, now?: number): Promise<string> {
  const c = collector();
  await readContainerLog(files, opts, c.out, now === undefined ? {} : { now: () => now });
  return c.text();
}

t.test("CRI log lines", async (t) => {
  const e = parseCriLine(Buffer.from("2026-12-07T20:00:01.000000001Z stderr F hello world\n"));
  t.equal(e?.stream, "stderr");
  t.equal(e?.partial, false);
  t.equal(e?.content.toString(), "hello world");
  t.equal(e?.timeNs, base + 1_000_000_001n);
  t.equal(
    parseCriLine(Buffer.from("2026-12-07T20:00:01Z stdout P:x part"))?.partial,
    true,
    "tag with attributes",
  );
  t.equal(parseCriLine(Buffer.from("2026-12-07T20:00:01Z stdout F \n"))?.content.length, 0, "empty line");
  t.equal(
    parseCriLine(Buffer.from("2026-12-07T20:00:01Z stdout F\n"))?.content.length,
    0,
    "empty line, no space",
  );
  t.equal(parseCriLine(Buffer.from("not a log line\n")), undefined);
  t.equal(parseCriLine(Buffer.from("2026-12-07T20:00:01Z stdin F x\n")), undefined);
  t.equal(parseRFC3339Nano("2026-12-07T21:00:00+01:00"), base, "offsets");
  t.equal(formatRFC3339NanoFixed(base + 5n), "2026-12-07T20:00:00.000000005Z");
});

t.test("log paths and rotated files in order", async (t) => {
  const root = tempDir(t);
  t.equal(podLogsDir(root, "ns", "web", "u1"), join(root, "ns_web_u1"));
  const path = containerLogPath(root, "ns", "web", "u1", "c", 2);
  t.equal(path, join(root, "ns_web_u1", "c", "2.log"));
  mkdirSync(join(root, "ns_web_u1", "c"), { recursive: true });
  for (const n of [
    "2.log.20261207-200002",
    "2.log.20261207-200001.gz",
    "2.log.20261207-200002.1",
    "1.log",
    "2.log.tmp",
    "2.log",
  ]) {
    writeFileSync(join(root, "ns_web_u1", "c", n), "");
  }
  t.same(
    logFilesFor(path).map((f) => f.slice(path.length - 5)),
    ["2.log.20261207-200001.gz", "2.log.20261207-200002", "2.log.20261207-200002.1", "2.log"],
  );
});

/** Three files: two rotated (one gzipped), then the current one; lines 0..8 in time order. */
function rotatedSet(dir: string): string[] {
  const path = join(dir, "0.log");
  writeFileSync(`${path}.20261207-200001.gz`, gzipSync(line(0, "zero") + line(1, "one", "stderr")));
  writeFileSync(`${path}.20261207-200003`, line(2, "tw", "stdout", true) + line(3, "o") + line(4, "three"));
  writeFileSync(
    path,
    line(5, "four", "stderr") +
      line(6, "fi", "stdout", true) +
      line(6, "err", "stderr") +
      line(7, "ve") +
      line(8, "six"),
  );
  return logFilesFor(path);
}

t.test("all lines across rotated files, fragments joined, both streams", async (t) => {
  const files = rotatedSet(tempDir(t));
  t.equal(await read(files, {}), "zero\none\ntwo\nthree\nfour\nerr\nfive\nsix\n");
});

t.test("tailLines across rotated files", async (t) => {
  const files = rotatedSet(tempDir(t));
  t.equal(await read(files, { tailLines: 0 }), "");
  t.equal(await read(files, { tailLines: 2 }), "five\nsix\n");
  t.equal(
    await read(files, { tailLines: 6 }),
    "two\nthree\nfour\nerr\nfive\nsix\n",
    "reaches the rotated file, whole joined line",
  );
  t.equal(await read(files, { tailLines: 100 }), "zero\none\ntwo\nthree\nfour\nerr\nfive\nsix\n");
  t.equal(
    await read(files, { tailLines: 3 }),
    "err\nfive\nsix\n",
    "starts inside another stream's fragments",
  );
  const path = join(tempDir(t), "0.log");
  // stdout "a" (fragment) ... stderr "b" ... stdout "c" ends the stdout line ... stderr "d".
  writeFileSync(
    path,
    line(0, "a", "stdout", true) +
      line(1, "b", "stderr", true) +
      line(2, "c") +
      line(3, "b2", "stderr") +
      line(4, "d"),
  );
  t.equal(await read([path], {}), "ac\nbb2\nd\n");
  t.equal(
    await read([path], { tailLines: 2 }),
    "bb2\nd\n",
    "an earlier line ending after the start is skipped",
  );
  t.equal(
    await read(files, { tailLines: -1 }),
    "zero\none\ntwo\nthree\nfour\nerr\nfive\nsix\n",
    "negative: all",
  );
});

t.test("sinceTime, sinceSeconds, timestamps, limitBytes", async (t) => {
  const files = rotatedSet(tempDir(t));
  t.equal(await read(files, { sinceTime: "2026-12-07T20:00:05Z" }), "four\nerr\nfive\nsix\n");
  t.equal(
    await read(files, { sinceTime: "2026-12-07T20:00:05.123456790Z" }),
    "err\nfive\nsix\n",
    "nanosecond precision",
  );
  const now = Number((at(7) - 123_456_789n) / 1_000_000n) + 500; // 20:00:07.5
  t.equal(
    await read(files, { sinceSeconds: 2 }, now),
    "err\nfive\nsix\n",
    "a joined line has its first fragment's time",
  );
  t.equal(await read(files, { tailLines: 1, timestamps: true }), `${formatRFC3339NanoFixed(at(8))} six\n`);
  t.equal(await read(files, { limitBytes: 7 }), "zero\non");
  t.equal(await read(files, { tailLines: 2, limitBytes: 100 }), "five\nsix\n");
});

t.test("an unterminated last line and a dangling fragment are written at the end", async (t) => {
  const path = join(tempDir(t), "0.log");
  writeFileSync(path, line(0, "a") + line(1, "frag", "stdout", true) + line(2, "b", "stderr").trimEnd());
  t.equal(await read([path], {}), "a\nb\nfrag");
});

t.test("follow streams appended lines, follows a rotation, ends after draining", async (t) => {
  const dir = tempDir(t);
  const path = join(dir, "0.log");
  writeFileSync(path, line(0, "old1") + line(1, "old2"));
  let stop: () => void = () => {};
  const until = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const c = collector();
  const done = readContainerLog(logFilesFor(path), { follow: true, tailLines: 1 }, c.out, {
    follow: { until },
    pollIntervalMs: 50,
  });
  await waitFor(() => c.text() === "old2\n", { what: "the tail line" });
  appendFileSync(path, line(2, "new1") + line(3, "par", "stdout", true));
  await waitFor(() => c.text() === "old2\nnew1\n", { what: "an appended line" });
  // A fragment whose end is in the same file later; then a rotation with lines written to the
  // old file just before it is renamed, and a second rotation before the follower looks.
  appendFileSync(path, line(3, "tial") + line(4, "last-in-old"));
  renameSync(path, `${path}.20261207-200004`);
  writeFileSync(path, line(5, "in-second"));
  renameSync(path, `${path}.20261207-200005`);
  writeFileSync(path, line(6, "in-new"));
  await waitFor(() => c.text().endsWith("in-new\n"), { what: "the line in the new file" });
  t.equal(c.text(), "old2\nnew1\npartial\nlast-in-old\nin-second\nin-new\n");
  appendFileSync(path, line(7, "just-before-stop"));
  stop();
  await done;
  t.equal(
    c.text(),
    "old2\nnew1\npartial\nlast-in-old\nin-second\nin-new\njust-before-stop\n",
    "drained before ending",
  );
});

t.test("follow waits for a file that does not exist yet and ends on abort", async (t) => {
  const dir = tempDir(t);
  const path = join(dir, "0.log");
  const ac = new AbortController();
  const c = collector();
  const done = readContainerLog([path], { follow: true }, c.out, { signal: ac.signal, pollIntervalMs: 50 });
  writeFileSync(path, line(0, "hello"));
  await waitFor(() => c.text() === "hello\n", { what: "the first line of a new file" });
  ac.abort();
  await done;
  t.pass("ended on abort");
});

t.test("back-pressure: a slow reader still gets every line", async (t) => {
  const path = join(tempDir(t), "0.log");
  const n = 5000;
  let data = "";
  for (let i = 0; i < n; i++) data += line(i % 50, `line ${i} ${"x".repeat(100)}`);
  writeFileSync(path, data);
  const out = new PassThrough({ highWaterMark: 1024 });
  const done = readContainerLog([path], {}, out);
  let got = 0;
  let rest = "";
  out.setEncoding("utf8");
  for await (const chunk of out) {
    const s = rest + chunk;
    const parts = s.split("\n");
    rest = parts.pop() ?? "";
    got += parts.length;
    if (got === n) break;
  }
  await done;
  t.equal(got, n);
});
