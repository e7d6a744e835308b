/**
 * The backup file format of `etcdctl snapshot save` against `skiff store`, and `skiff store
 * snapshot restore`: a magic line, the state's length (u64 big-endian), the store's state machine
 * snapshot, zero padding to a multiple of 512 bytes, and a SHA-256 of all that at the end.
 * etcdctl 3.4 checks the trailer: it expects (size - 32) to be a multiple of 512 (etcd's bbolt
 * pages) and the SHA-256 of those bytes at the end, else "sha256 checksum not found".
 */
import { createHash } from "node:crypto";

const magic = new TextEncoder().encode("skiff-store-snapshot v1\n");
const page = 512;

export function encodeSnapshotFile(state: Uint8Array): Uint8Array {
  const used = magic.length + 8 + state.length;
  const bodyLength = Math.ceil(used / page) * page;
  const out = new Uint8Array(bodyLength + 32);
  out.set(magic, 0);
  new DataView(out.buffer).setBigUint64(magic.length, BigInt(state.length));
  out.set(state, magic.length + 8);
  out.set(createHash("sha256").update(out.subarray(0, bodyLength)).digest(), bodyLength);
  return out;
}

export function decodeSnapshotFile(file: Uint8Array): Uint8Array {
  if (file.length < magic.length + 8 + 32 || (file.length - 32) % page !== 0)
    throw new Error("not a skiff store snapshot file (bad size)");
  const body = file.subarray(0, file.length - 32);
  const sum = createHash("sha256").update(body).digest();
  if (!Buffer.from(file.subarray(file.length - 32)).equals(sum))
    throw new Error("snapshot file integrity check failed: sha256 mismatch");
  if (!Buffer.from(body.subarray(0, magic.length)).equals(Buffer.from(magic)))
    throw new Error("not a skiff store snapshot file");
  const n = Number(new DataView(body.buffer, body.byteOffset, body.byteLength).getBigUint64(magic.length));
  if (magic.length + 8 + n > body.length) throw new Error("snapshot file is truncated");
  return body.subarray(magic.length + 8, magic.length + 8 + n);
}
