/**
 * A small tar writer (POSIX ustar with pax extended headers for long names), enough to write an
 * image layer and an OCI image layout archive: regular files, directories and symlinks. Output is
 * deterministic: the caller fixes mtime, uid and gid, so equal input gives equal bytes (and so equal
 * digests), as image builders do for reproducible layers.
 */

const BLOCK = 512;

export interface TarEntryOptions {
  /** Permission bits (e.g. 0o755). */
  mode: number;
  /** Seconds since the epoch; 0 unless the caller wants otherwise. */
  mtime?: number;
  uid?: number;
  gid?: number;
}

/** Collects tar entries in memory; `finish()` returns the archive with its two zero end blocks. */
export class TarWriter {
  private readonly chunks: Buffer[] = [];
  private finished = false;

  file(name: string, data: Buffer | string, opts: TarEntryOptions): void {
    const body = typeof data === "string" ? Buffer.from(data) : data;
    this.entry(name, "0", body.length, "", opts);
    this.chunks.push(body);
    this.pad(body.length);
  }

  directory(name: string, opts: TarEntryOptions): void {
    this.entry(name.endsWith("/") ? name : `${name}/`, "5", 0, "", opts);
  }

  symlink(name: string, target: string, opts: Partial<TarEntryOptions> = {}): void {
    this.entry(name, "2", 0, target, { mode: 0o777, ...opts });
  }

  finish(): Buffer {
    if (!this.finished) {
      this.chunks.push(Buffer.alloc(BLOCK * 2));
      this.finished = true;
    }
    return Buffer.concat(this.chunks);
  }

  private entry(name: string, type: string, size: number, linkname: string, opts: TarEntryOptions): void {
    if (this.finished) throw new Error("tar: entry after finish");
    const split = splitUstarName(name);
    const pax: Record<string, string> = {};
    if (split === undefined) pax.path = name;
    if (Buffer.byteLength(linkname) > 100) pax.linkpath = linkname;
    if (Object.keys(pax).length > 0) {
      // A pax 'x' header before the entry carries what ustar's fixed fields cannot hold.
      const records = Buffer.from(
        Object.entries(pax)
          .map(([k, v]) => paxRecord(k, v))
          .join(""),
      );
      const paxName = `PaxHeaders/${truncateBytes(name.replace(/\/$/, "").split("/").pop() ?? "x", 80)}`;
      this.chunks.push(header(paxName, "", "x", records.length, "", { ...opts, mode: 0o644 }));
      this.chunks.push(records);
      this.pad(records.length);
    }
    const [prefix, base] = split ?? ["", truncateBytes(name, 100)];
    this.chunks.push(header(base, prefix, type, size, truncateBytes(linkname, 100), opts));
  }

  private pad(size: number): void {
    const rest = size % BLOCK;
    if (rest !== 0) this.chunks.push(Buffer.alloc(BLOCK - rest));
  }
}

/** One pax record: "<len> <key>=<value>\n" where len counts the whole record, itself included. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
  return `${len}${body}`;
}

/** ustar holds a name as prefix (155 bytes) + "/" + name (100 bytes); undefined if it cannot. */
function splitUstarName(name: string): [string, string] | undefined {
  if (Buffer.byteLength(name) <= 100) return ["", name];
  for (let i = name.lastIndexOf("/"); i > 0; i = name.lastIndexOf("/", i - 1)) {
    const prefix = name.slice(0, i);
    const base = name.slice(i + 1);
    if (Buffer.byteLength(base) > 100 || base === "") return undefined;
    if (Buffer.byteLength(prefix) <= 155) return [prefix, base];
  }
  return undefined;
}

function truncateBytes(s: string, max: number): string {
  const b = Buffer.from(s);
  return b.length <= max ? s : b.subarray(0, max).toString("latin1");
}

function header(
  name: string,
  prefix: string,
  type: string,
  size: number,
  linkname: string,
  opts: TarEntryOptions,
): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100);
  octal(h, 100, 8, opts.mode & 0o7777);
  octal(h, 108, 8, opts.uid ?? 0);
  octal(h, 116, 8, opts.gid ?? 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, opts.mtime ?? 0);
  h.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  h.write(type, 156, 1);
  h.write(linkname, 157, 100);
  h.write("ustar\u000000", 257, 8, "latin1");
  h.write((opts.uid ?? 0) === 0 ? "root" : "", 265, 32);
  h.write((opts.gid ?? 0) === 0 ? "root" : "", 297, 32);
  octal(h, 329, 8, 0);
  octal(h, 337, 8, 0);
  h.write(prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "latin1");
  return h;
}

/** A zero-padded octal field ending in NUL. Sizes past 8 GiB would need base-256: not supported. */
function octal(h: Buffer, offset: number, length: number, value: number): void {
  const s = value.toString(8).padStart(length - 1, "0");
  if (s.length > length - 1) throw new Error(`tar: value ${value} does not fit ${length} bytes`);
  h.write(`${s}\u0000`, offset, length, "latin1");
}
