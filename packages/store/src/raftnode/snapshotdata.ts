import type { NodeId } from "@skiff/raft";

/**
 * What a RaftNode snapshot carries besides the application's state: the member address book (so
 * a member restored from a snapshot can reach members that joined by conf change) and the recent
 * request ids (so a proposal retried after a leader change is still applied once; see dedup.ts).
 *
 * Layout: u32 n, n bytes of JSON, u32 k, k x (u64 request id, f64 index), then the application's
 * bytes. All big-endian. The JSON is {"peers": [[id, address], ...], "removed": [id, ...]}, or,
 * written before removed ids were kept, the peers array alone.
 */
export interface SnapshotExtras {
  peers: Map<NodeId, string>;
  requests: [bigint, number][];
  /** Ids of removed members (etcd's RaftCluster.removed). */
  removed?: NodeId[];
}

export function encodeSnapshotData(extras: SnapshotExtras, app: Uint8Array): Uint8Array {
  const book = { peers: [...extras.peers], removed: extras.removed ?? [] };
  const json = new TextEncoder().encode(JSON.stringify(book));
  const reqBytes = 4 + extras.requests.length * 16;
  const out = new Uint8Array(4 + json.length + reqBytes + app.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length);
  out.set(json, 4);
  let at = 4 + json.length;
  view.setUint32(at, extras.requests.length);
  at += 4;
  for (const [id, index] of extras.requests) {
    view.setBigUint64(at, id);
    view.setFloat64(at + 8, index);
    at += 16;
  }
  out.set(app, at);
  return out;
}

export function decodeSnapshotData(data: Uint8Array): SnapshotExtras & { app: Uint8Array } {
  if (data.length === 0) return { peers: new Map(), requests: [], app: data };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const need = (n: number, what: string) => {
    if (n > data.length) throw new Error(`snapshot data: truncated ${what}`);
  };
  need(4, "header");
  const n = view.getUint32(0);
  need(4 + n + 4, "address book");
  const book = JSON.parse(new TextDecoder().decode(data.subarray(4, 4 + n))) as
    | [NodeId, string][]
    | { peers: [NodeId, string][]; removed: NodeId[] };
  const peers = new Map(Array.isArray(book) ? book : book.peers);
  const removed = Array.isArray(book) ? [] : book.removed;
  let at = 4 + n;
  const k = view.getUint32(at);
  at += 4;
  need(at + k * 16, "request ids");
  const requests: [bigint, number][] = [];
  for (let i = 0; i < k; i++, at += 16) requests.push([view.getBigUint64(at), view.getFloat64(at + 8)]);
  return { peers, requests, removed, app: data.subarray(at) };
}
