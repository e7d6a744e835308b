/**
 * Reads one container's log files for `kubectl logs`, with kube's semantics (kuberuntime/logs
 * ReadLogs): tailLines, sinceSeconds/sinceTime, timestamps, limitBytes and follow. Beyond
 * ReadLogs, tailLines reaches into rotated files, P fragments are joined into one line per
 * stream, and a follower that sees the file rotated drains the old file (and any rotated file
 * after it) before it opens the new one. stdout and stderr go to one writer, as kubectl shows them.
 */
import { type FSWatcher, watch } from "node:fs";
import { type FileHandle, open, readFile, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { Writable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { formatRFC3339NanoFixed, type LogStream, parseCriLine, parseRFC3339Nano } from "./cri-format.js";
import type { LogOptions } from "./logs.js";
import { logFilesFor, rotationOf } from "./paths.js";

export interface ReadLogContext {
  /**
   * With `opts.follow`, keep reading new lines until `until` resolves (the container stopped),
   * then drain what is left and return. Without it, a follow ends only through `signal`.
   */
  follow?: { until: Promise<void> };
  /** Ends the read early (the client went away). */
  signal?: AbortSignal;
  /** Milliseconds since the epoch, for sinceSeconds; default Date.now. */
  now?: () => number;
  /** How often a follower looks at the file when no change notification came; default 250 ms. */
  pollIntervalMs?: number;
}

const chunkSize = 64 * 1024;

/**
 * Writes the log of `files` (oldest first; the last is the current file, which a follower
 * follows: see logFilesFor) to `out`. Resolves when done; never ends `out`.
 */
export async function readContainerLog(
  files: readonly string[],
  opts: LogOptions,
  out: Writable,
  ctx: ReadLogContext = {},
): Promise<void> {
  if (files.length === 0) return;
  const current = files[files.length - 1] as string;
  const following = opts.follow === true;
  const start = await tailStart(files, opts.tailLines);
  const sink = new LineSink(opts, out, ctx, start.skip);

  for (let i = start.file; i < files.length - 1 && !sink.stopped; i++) {
    await sink.lines(await readWhole(files[i] as string, i === start.file ? start.offset : 0));
  }
  if (sink.stopped) return;
  if (!following) {
    const rest = await readWhole(current, files.length - 1 === start.file ? start.offset : 0).catch(() =>
      Buffer.alloc(0),
    );
    await sink.lines(rest);
    await sink.finish();
    return;
  }
  await follow(current, files.length - 1 === start.file ? start.offset : 0, sink, ctx);
  if (!sink.stopped) await sink.finish();
}

interface TailStart {
  file: number;
  offset: number;
  /** Complete lines to drop after `offset` before the tail begins (other streams' lines). */
  skip: number;
}

/**
 * Where tailLines starts: at the first fragment of the N-th line from the end, across all the
 * files (ReadLogs seeks back N newlines in the current file only). Lines are counted as they are
 * written: one per F entry, with the P fragments before it on the same stream; a start inside
 * another stream's fragment run makes lines to skip.
 */
async function tailStart(files: readonly string[], tail: number | undefined): Promise<TailStart> {
  if (tail === undefined || tail < 0) return { file: 0, offset: 0, skip: 0 };
  // Load files from the newest until they hold more full lines than asked for, plus one file
  // so that a fragment run crossing a rotation is whole.
  const loaded: { file: number; data: Buffer }[] = [];
  let full = 0;
  for (let i = files.length - 1; i >= 0; i--) {
    const data = await readWhole(files[i] as string, 0).catch(() => Buffer.alloc(0));
    // Only complete lines count; an unterminated last line is still being written.
    const complete = data.subarray(0, data.lastIndexOf(0x0a) + 1);
    loaded.unshift({ file: i, data: complete });
    if (full > tail) break;
    for (let p = complete.indexOf(0x0a); p >= 0; p = complete.indexOf(0x0a, p + 1)) full++;
  }
  // Lines in the order they are written, each with where its first fragment is.
  const lines: { file: number; offset: number; seq: number; endSeq: number }[] = [];
  const open = new Map<LogStream, { file: number; offset: number; seq: number }>();
  let seq = 0;
  for (const { file, data } of loaded) {
    for (let start = 0; start < data.length; ) {
      const end = data.indexOf(0x0a, start) + 1;
      const entry = parseCriLine(data.subarray(start, end));
      if (entry !== undefined) {
        const first = open.get(entry.stream) ?? { file, offset: start, seq };
        if (entry.partial) open.set(entry.stream, first);
        else {
          open.delete(entry.stream);
          lines.push({ ...first, endSeq: seq });
        }
        seq++;
      }
      start = end;
    }
  }
  if (tail === 0) {
    const last = loaded[loaded.length - 1];
    return {
      file: files.length - 1,
      offset: last?.file === files.length - 1 ? last.data.length : 0,
      skip: 0,
    };
  }
  if (lines.length <= tail) return { file: loaded[0]?.file ?? 0, offset: 0, skip: 0 };
  const kept = lines.slice(lines.length - tail);
  const from = kept.reduce((a, b) => (b.seq < a.seq ? b : a));
  // Earlier lines that end after `from` are written too when reading from there: skip them.
  const skip = lines.slice(0, lines.length - tail).filter((l) => l.endSeq > from.seq).length;
  return { file: from.file, offset: from.offset, skip };
}

async function readWhole(path: string, offset: number): Promise<Buffer> {
  const data = await readFile(path);
  const plain = path.endsWith(".gz") ? gunzipSync(data) : data;
  return offset === 0 ? plain : plain.subarray(offset);
}

/** Follows `path` from `offset` until the context says the container stopped, or the sink is done. */
async function follow(path: string, offset: number, sink: LineSink, ctx: ReadLogContext): Promise<void> {
  let ending = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  ctx.follow?.until.then(
    () => {
      ending = true;
      poke();
    },
    () => {
      ending = true;
      poke();
    },
  );
  const onAbort = () => poke();
  ctx.signal?.addEventListener("abort", onAbort);
  // The directory, not the file: a rotation renames the file and creates a new one.
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_e, name) => {
      if (name === null || String(name).startsWith(basename(path))) poke();
    });
    watcher.on("error", () => {});
  } catch {
    watcher = undefined; // the poll below still finds changes
  }
  let cursor = await FileCursor.open(path, offset);
  try {
    for (;;) {
      const last = ending; // decided before the drain: what was written before the stop is read
      if (cursor !== undefined) await sink.lines(await cursor.readToEnd());
      if (sink.stopped || ctx.signal?.aborted) return;
      const rotated = await rotatedAway(path, cursor);
      if (rotated) {
        // Finish the old file through its open handle, then every later rotated file.
        if (cursor !== undefined) {
          await sink.lines(await cursor.readToEnd());
          await sink.lines(cursor.unterminated); // the old file will not grow any more
          const ino = cursor.ino;
          await cursor.close();
          for (const f of await rotatedAfter(path, ino)) await sink.lines(await readWhole(f, 0));
        }
        cursor = await FileCursor.open(path, 0);
        continue;
      }
      if (last) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(poke, ctx.pollIntervalMs ?? 250);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    watcher?.close();
    ctx.signal?.removeEventListener("abort", onAbort);
    await cursor?.close();
  }
}

/** True when `path` is now another file than the one `cursor` reads (or appeared after none was). */
async function rotatedAway(path: string, cursor: FileCursor | undefined): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  if (cursor === undefined) return st !== undefined;
  return st !== undefined && st.ino !== cursor.ino;
}

/** The rotated files of `path` newer than the one with inode `ino` (all of them if none has it). */
async function rotatedAfter(path: string, ino: number): Promise<string[]> {
  const rotated = logFilesFor(path).slice(0, -1);
  for (let i = rotated.length - 1; i >= 0; i--) {
    const f = rotated[i] as string;
    if (rotationOf(path, f)?.gzip === true) continue;
    const st = await stat(f).catch(() => undefined);
    if (st?.ino === ino) return rotated.slice(i + 1);
  }
  return [];
}

/** An open log file read forward from a position, one complete line at a time. */
class FileCursor {
  private rest: Buffer = Buffer.alloc(0);
  private constructor(
    private readonly fh: FileHandle,
    readonly ino: number,
    private pos: number,
  ) {}

  static async open(path: string, pos: number): Promise<FileCursor | undefined> {
    const fh = await open(path, "r").catch(() => undefined);
    if (fh === undefined) return undefined;
    return new FileCursor(fh, (await fh.stat()).ino, pos);
  }

  /** Everything up to the end of the file as it is now; an unterminated tail waits for more. */
  async readToEnd(): Promise<Buffer> {
    const parts: Buffer[] = [this.rest];
    for (;;) {
      const buf = Buffer.alloc(chunkSize);
      const { bytesRead } = await this.fh.read(buf, 0, chunkSize, this.pos);
      if (bytesRead === 0) break;
      this.pos += bytesRead;
      parts.push(buf.subarray(0, bytesRead));
    }
    const all = Buffer.concat(parts);
    const end = all.lastIndexOf(0x0a) + 1;
    this.rest = all.subarray(end);
    return all.subarray(0, end);
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
  }

  /** The bytes after the last newline, read but not yet returned. */
  get unterminated(): Buffer {
    return this.rest;
  }
}

/** Applies the options to parsed entries and writes the result, honouring back-pressure. */
class LineSink {
  stopped = false;
  private readonly sinceNs: bigint | undefined;
  private remaining: number;
  private readonly pending = new Map<LogStream, { timeNs: bigint; parts: Buffer[] }>();

  constructor(
    private readonly opts: LogOptions,
    private readonly out: Writable,
    private readonly ctx: ReadLogContext,
    private skip = 0,
  ) {
    let since: bigint | undefined;
    if (opts.sinceTime !== undefined) since = parseRFC3339Nano(opts.sinceTime);
    if (opts.sinceSeconds !== undefined) {
      const s = BigInt((ctx.now ?? Date.now)() - opts.sinceSeconds * 1000) * 1_000_000n;
      if (since === undefined || s > since) since = s;
    }
    this.sinceNs = since;
    this.remaining =
      opts.limitBytes !== undefined && opts.limitBytes > 0 ? opts.limitBytes : Number.POSITIVE_INFINITY;
  }

  /** Writes the complete lines in `data` (a trailing unterminated piece is parsed too). */
  async lines(data: Buffer): Promise<void> {
    let start = 0;
    while (start < data.length && !this.stopped) {
      if (this.ctx.signal?.aborted || this.out.destroyed) {
        this.stopped = true;
        return;
      }
      const nl = data.indexOf(0x0a, start);
      const end = nl < 0 ? data.length : nl + 1;
      const entry = parseCriLine(data.subarray(start, end));
      start = end;
      if (entry === undefined) continue; // as ReadLogs: an unparsable line is skipped
      const p = this.pending.get(entry.stream);
      if (entry.partial) {
        if (p === undefined) this.pending.set(entry.stream, { timeNs: entry.timeNs, parts: [entry.content] });
        else p.parts.push(entry.content);
        continue;
      }
      this.pending.delete(entry.stream);
      const text = p === undefined ? entry.content : Buffer.concat([...p.parts, entry.content]);
      await this.emit(p?.timeNs ?? entry.timeNs, text, true);
    }
  }

  /** At the end: fragments never completed are written as they are, without a newline. */
  async finish(): Promise<void> {
    for (const [stream, p] of this.pending) {
      this.pending.delete(stream);
      if (!this.stopped) await this.emit(p.timeNs, Buffer.concat(p.parts), false);
    }
  }

  private async emit(timeNs: bigint, text: Buffer, newline: boolean): Promise<void> {
    if (this.skip > 0) {
      this.skip--;
      return;
    }
    if (this.sinceNs !== undefined && timeNs < this.sinceNs) return;
    const parts: Buffer[] = [];
    if (this.opts.timestamps === true) parts.push(Buffer.from(`${formatRFC3339NanoFixed(timeNs)} `));
    parts.push(text);
    if (newline) parts.push(Buffer.from("\n"));
    let line = Buffer.concat(parts);
    if (line.length >= this.remaining) {
      line = line.subarray(0, this.remaining);
      this.stopped = true; // as kube's LimitWriter: cut at the limit, then stop
    }
    this.remaining -= line.length;
    if (line.length > 0 && !this.out.write(line)) await drained(this.out);
  }
}

function drained(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off("drain", done);
      out.off("close", done);
      out.off("error", done);
      resolve();
    };
    out.on("drain", done);
    out.on("close", done);
    out.on("error", done);
  });
}
