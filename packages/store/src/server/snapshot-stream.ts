/**
 * The store's whole state as one Raft snapshot payload, built from a LevelDB snapshot a chunk of
 * records at a time (each chunk read and encoded between event-loop turns, so applying and
 * serving go on while a follower's snapshot is made). Layout: a sequence of msgpack values,
 *   {streamed: 2, revision, compactRevision, consistentIndex, app}
 *   [[key, main, sub] | [key, main, sub, create, version, value, lease]...]   (records, revision order)
 *   ...
 * A local snapshot of a member whose data is on disk carries only the marker {onDisk: 1}.
 */
import { Packr } from "msgpackr";
import type { SnapshotView } from "../backend/mvcc-disk.js";
import { fromBin, toBin } from "../mvcc/bytes.js";
import { History, type Rec } from "../mvcc/history.js";

const packr = new Packr({ useRecords: false, moreTypes: true });
const STREAMED = 2;
const marker = packr.pack({ onDisk: 1 });

type Tuple = [Uint8Array, number, number] | [Uint8Array, number, number, number, number, Uint8Array, string];

interface Header {
  streamed: number;
  revision: number;
  compactRevision: number;
  consistentIndex: number;
  app: Uint8Array | undefined;
}

export function diskMarker(): Uint8Array {
  return marker;
}

export function isDiskMarker(data: Uint8Array): boolean {
  return data.length === marker.length && Buffer.from(data).equals(marker);
}

export async function encodeFullSnapshot(view: SnapshotView): Promise<Uint8Array> {
  const header: Header = {
    streamed: STREAMED,
    revision: view.revision,
    compactRevision: view.compactRevision,
    consistentIndex: view.consistentIndex,
    app: await view.app(),
  };
  const parts: Uint8Array[] = [packr.pack(header)];
  for await (const chunk of view.records()) {
    parts.push(
      packr.pack(
        chunk.map(({ k, rec }): Tuple => {
          const key = fromBin(k);
          if (!rec.live) return [key, rec.main, rec.sub];
          return [
            key,
            rec.main,
            rec.sub,
            rec.create,
            rec.version,
            rec.value as Uint8Array,
            rec.lease.toString(),
          ];
        }),
      ),
    );
  }
  return Buffer.concat(parts);
}

export interface FullSnapshot {
  revision: number;
  compactRevision: number;
  consistentIndex: number;
  app: Uint8Array | undefined;
  history: History;
}

/** Decodes a streamed snapshot, or answers undefined for the older one-value format. */
export function decodeFullSnapshot(data: Uint8Array): FullSnapshot | undefined {
  let header: Header | undefined;
  let legacy = false;
  const history = new History();
  history.beginBulk();
  packr.unpackMultiple(Buffer.from(data.buffer, data.byteOffset, data.byteLength), (value: unknown) => {
    if (header === undefined) {
      const h = value as Partial<Header>;
      if (h.streamed !== STREAMED) {
        legacy = true;
        return false;
      }
      header = h as Header;
      return true;
    }
    for (const t of value as Tuple[]) history.append(toBin(t[0]), toRec(t));
    return true;
  });
  history.endBulk();
  if (legacy || header === undefined) return undefined;
  return {
    revision: header.revision,
    compactRevision: header.compactRevision,
    consistentIndex: header.consistentIndex,
    app: header.app === undefined || header.app === null ? undefined : new Uint8Array(header.app),
    history,
  };
}

function toRec(t: Tuple): Rec {
  if (t.length === 3) {
    return {
      main: t[1],
      sub: t[2],
      live: false,
      create: 0,
      version: 0,
      lease: 0n,
      size: 0,
      value: undefined,
    };
  }
  const value = new Uint8Array(t[5]);
  return {
    main: t[1],
    sub: t[2],
    live: true,
    create: t[3],
    version: t[4],
    lease: t[6] === "0" ? 0n : BigInt(t[6]),
    size: value.length,
    value,
  };
}
