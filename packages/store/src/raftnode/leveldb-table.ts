/**
 * Checks every block checksum of a LevelDB table file (.ldb, .sst) before LevelDB reads it, as
 * LevelDB's paranoid_checks and ReadOptions.verify_checksums would: classic-level exposes neither,
 * and a damaged key inside a block read without them trips an assertion in LevelDB (the process
 * aborts) instead of raising an error. Format: leveldb's doc/table_format.md: data blocks, meta
 * blocks, a metaindex block, an index block and a 48-byte footer; each block is followed by a
 * one-byte compression type and the masked CRC-32C of its contents and that byte.
 *
 * Only the tables the MANIFEST names are checked: a table a crash left half-written (a compaction's
 * output not yet installed) is obsolete, and LevelDB deletes it at open.
 */

/** "the table's footer is damaged", ...: why the file is not intact, or undefined when it is. */
export function verifyTable(file: Uint8Array): string | undefined {
  try {
    const b = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
    if (b.length < FOOTER_BYTES) return `shorter (${b.length} bytes) than a table footer`;
    const footerAt = b.length - FOOTER_BYTES;
    if (b.readUInt32LE(footerAt + 40) !== MAGIC_LO || b.readUInt32LE(footerAt + 44) !== MAGIC_HI)
      return "bad magic number in the footer (not a LevelDB table, or its end is damaged)";
    const footer = { at: footerAt };
    const metaindex = readHandle(b, footer);
    const index = readHandle(b, footer);
    const limit = footerAt;
    for (const [what, h] of [
      ["index", index],
      ["metaindex", metaindex],
    ] as const) {
      const bad = checkBlock(b, h, limit);
      if (bad !== undefined) return `${what} block at offset ${h.offset}: ${bad}`;
    }
    // The index names every data block; the metaindex names the filter block, if any.
    for (const parent of [index, metaindex]) {
      for (const h of blockHandles(blockContents(b, parent), limit)) {
        const bad = checkBlock(b, h, limit);
        if (bad !== undefined) return `data block at offset ${h.offset}: ${bad}`;
      }
    }
    return undefined;
  } catch (e) {
    return e instanceof TableError ? e.message : `unreadable: ${(e as Error).message}`;
  }
}

/**
 * The numbers of the table files the MANIFEST names as live (leveldb's doc/log_format.md records
 * of VersionEdits, db/version_edit.cc), or undefined when the MANIFEST cannot be read: LevelDB,
 * which reads it with checksums on, then reports the damage itself.
 */
export function liveTables(manifest: Uint8Array): Set<number> | undefined {
  try {
    const live = new Set<number>();
    for (const record of logRecords(Buffer.from(manifest.buffer, manifest.byteOffset, manifest.byteLength)))
      applyVersionEdit(record, live);
    return live;
  } catch {
    return undefined;
  }
}

const LOG_BLOCK_BYTES = 32 * 1024;
const LOG_HEADER_BYTES = 7;
enum RecordType {
  Zero = 0,
  Full = 1,
  First = 2,
  Middle = 3,
  Last = 4,
}

/** The records of a LevelDB log file, fragments joined, each checked against its CRC. */
function* logRecords(b: Buffer): Generator<Buffer> {
  let parts: Buffer[] = [];
  for (let at = 0; at + LOG_HEADER_BYTES <= b.length; ) {
    const left = LOG_BLOCK_BYTES - (at % LOG_BLOCK_BYTES);
    if (left < LOG_HEADER_BYTES) {
      at += left; // a block's tail too short for a header is padding
      continue;
    }
    const length = b.readUInt16LE(at + 4);
    const type = b[at + 6] as number;
    if (type === RecordType.Zero && length === 0) {
      at += left; // preallocated, never written
      continue;
    }
    const end = at + LOG_HEADER_BYTES + length;
    if (end > b.length) return; // a torn last write: that edit never took effect (LevelDB: EOF)
    if (unmask(b.readUInt32LE(at)) !== crc32c(b.subarray(at + 6, end)))
      throw new TableError("a MANIFEST record fails its checksum");
    const data = b.subarray(at + LOG_HEADER_BYTES, end);
    at = end;
    if (type === RecordType.Full) yield data;
    else if (type === RecordType.First) parts = [data];
    else if (type === RecordType.Middle) parts.push(data);
    else if (type === RecordType.Last) {
      parts.push(data);
      yield Buffer.concat(parts);
      parts = [];
    } else throw new TableError(`unknown MANIFEST record type ${type}`);
  }
}

/** Applies one VersionEdit's added and deleted files to `live` (version_edit.cc's tags). */
function applyVersionEdit(edit: Buffer, live: Set<number>): void {
  const cur = { at: 0 };
  const bytes = () => {
    const n = varint(edit, cur);
    cur.at += n;
    if (cur.at > edit.length) throw new TableError("a VersionEdit field runs past its record");
  };
  while (cur.at < edit.length) {
    const tag = varint(edit, cur);
    switch (tag) {
      case 1: // comparator name
        bytes();
        break;
      case 2: // log number
      case 3: // next file number
      case 4: // last sequence
      case 9: // previous log number
        varint(edit, cur);
        break;
      case 5: // compact pointer: level, key
        varint(edit, cur);
        bytes();
        break;
      case 6: // deleted file: level, number
        varint(edit, cur);
        live.delete(varint(edit, cur));
        break;
      case 7: {
        // new file: level, number, size, smallest key, largest key
        varint(edit, cur);
        live.add(varint(edit, cur));
        varint(edit, cur);
        bytes();
        bytes();
        break;
      }
      default:
        throw new TableError(`unknown VersionEdit tag ${tag}`);
    }
  }
}

const FOOTER_BYTES = 48;
/** kTableMagicNumber 0xdb4775248b80fb57, as LevelDB writes it (fixed64, little-endian). */
const MAGIC_LO = 0x8b80fb57;
const MAGIC_HI = 0xdb477524;
const TRAILER_BYTES = 5;
const NO_COMPRESSION = 0;
const SNAPPY = 1;

class TableError extends Error {}

interface Handle {
  offset: number;
  size: number;
}

/** A varint (at most 64 bits; sizes here fit in a double) at `cur.at`, advancing it. */
function varint(b: Buffer, cur: { at: number }, end = b.length): number {
  let n = 0;
  for (let shift = 0; shift < 64; shift += 7) {
    if (cur.at >= end) throw new TableError("a varint runs past its block");
    const byte = b[cur.at++] as number;
    n += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return n;
  }
  throw new TableError("a varint is longer than 10 bytes");
}

function readHandle(b: Buffer, cur: { at: number }, end = b.length): Handle {
  return { offset: varint(b, cur, end), size: varint(b, cur, end) };
}

/** undefined if the block and its trailer lie inside the file and its checksum holds. */
function checkBlock(b: Buffer, h: Handle, limit: number): string | undefined {
  if (h.offset + h.size + TRAILER_BYTES > limit) return `its handle (size ${h.size}) points past the blocks`;
  const type = b[h.offset + h.size] as number;
  const stored = unmask(b.readUInt32LE(h.offset + h.size + 1));
  const actual = crc32c(b.subarray(h.offset, h.offset + h.size + 1));
  if (stored !== actual) return "block checksum mismatch";
  if (type !== NO_COMPRESSION && type !== SNAPPY) return `unknown compression type ${type}`;
  return undefined;
}

/** A block's uncompressed contents (checked first by the caller). */
function blockContents(b: Buffer, h: Handle): Buffer {
  const raw = b.subarray(h.offset, h.offset + h.size);
  return b[h.offset + h.size] === SNAPPY ? snappyDecompress(raw) : raw;
}

/** The BlockHandle values of a block's entries (index and metaindex blocks hold nothing else). */
function blockHandles(block: Buffer, limit: number): Handle[] {
  if (block.length < 4) throw new TableError("a block shorter than its restart count");
  const restarts = block.readUInt32LE(block.length - 4);
  const entriesEnd = block.length - 4 * (restarts + 1);
  if (restarts === 0 || entriesEnd < 0) throw new TableError("a block's restart array is damaged");
  const out: Handle[] = [];
  const cur = { at: 0 };
  while (cur.at < entriesEnd) {
    varint(block, cur, entriesEnd); // bytes shared with the previous key
    const unshared = varint(block, cur, entriesEnd);
    const valueBytes = varint(block, cur, entriesEnd);
    cur.at += unshared;
    const valueEnd = cur.at + valueBytes;
    if (valueEnd > entriesEnd) throw new TableError("a block entry runs past its block");
    const h = readHandle(block, cur, valueEnd);
    if (h.offset + h.size + TRAILER_BYTES > limit)
      throw new TableError("a block handle points past the blocks");
    out.push(h);
    cur.at = valueEnd;
  }
  return out;
}

/** Snappy's raw format (LevelDB's block compression): a varint length, then literals and copies. */
export function snappyDecompress(src: Buffer): Buffer {
  const cur = { at: 0 };
  const length = varint(src, cur);
  if (length > 64 * 1024 * 1024) throw new TableError("a compressed block claims more than 64 MiB");
  const out = Buffer.alloc(length);
  let o = 0;
  while (cur.at < src.length) {
    const tag = src[cur.at++] as number;
    let len: number;
    let offset = 0;
    switch (tag & 3) {
      case 0: {
        len = (tag >>> 2) + 1;
        if (len > 60) {
          const extra = len - 60;
          if (cur.at + extra > src.length) throw new TableError("a compressed block is cut short");
          len = src.readUIntLE(cur.at, extra) + 1;
          cur.at += extra;
        }
        if (cur.at + len > src.length || o + len > length)
          throw new TableError("a compressed literal overruns");
        src.copy(out, o, cur.at, cur.at + len);
        cur.at += len;
        o += len;
        continue;
      }
      case 1:
        len = ((tag >>> 2) & 7) + 4;
        offset = ((tag >>> 5) << 8) | (src[cur.at++] ?? 0);
        break;
      case 2:
        len = (tag >>> 2) + 1;
        offset = src.readUInt16LE(cur.at);
        cur.at += 2;
        break;
      default:
        len = (tag >>> 2) + 1;
        offset = src.readUInt32LE(cur.at);
        cur.at += 4;
    }
    if (offset === 0 || offset > o || o + len > length) throw new TableError("a compressed copy overruns");
    // Byte by byte: a copy may overlap what it produces (a run).
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset] as number;
  }
  if (o !== length) throw new TableError("a compressed block is shorter than it claims");
  return out;
}

const CRC32C_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), LevelDB's checksum. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++)
    c = (CRC32C_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

/** LevelDB stores crc32c(x) rotated right by 15 bits plus a constant (crc32c.h: Mask). */
function unmask(masked: number): number {
  const rot = (masked - 0xa282ead8) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}
