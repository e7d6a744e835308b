import type { NodeId } from "@skiff/raft";

/**
 * A RaftNode snapshot carries the member address book next to the application's state, so a
 * member restored from a snapshot can still reach members that joined by conf change.
 * Layout: u32 big-endian length of a JSON [[id, address], ...] array, the JSON, the app's bytes.
 */
export function encodeSnapshotData(peers: ReadonlyMap<NodeId, string>, app: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify([...peers]));
  const out = new Uint8Array(4 + json.length + app.length);
  new DataView(out.buffer).setUint32(0, json.length);
  out.set(json, 4);
  out.set(app, 4 + json.length);
  return out;
}

export function decodeSnapshotData(data: Uint8Array): { peers: Map<NodeId, string>; app: Uint8Array } {
  if (data.length === 0) return { peers: new Map(), app: data };
  if (data.length < 4) throw new Error("snapshot data: too short");
  const n = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
  if (4 + n > data.length) throw new Error("snapshot data: bad address book length");
  const list = JSON.parse(new TextDecoder().decode(data.subarray(4, 4 + n))) as [NodeId, string][];
  return { peers: new Map(list), app: data.subarray(4 + n) };
}
