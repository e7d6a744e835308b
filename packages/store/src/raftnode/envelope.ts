/**
 * Entries proposed through a RaftNode carry an 8-byte request id before the application's bytes,
 * so that the member that proposed an entry can hand the result of applying it to the waiting
 * caller (etcd's request id). Empty entries (a new leader's) carry no envelope.
 */
export const envelopeBytes = 8;

export function wrap(id: bigint, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(envelopeBytes + payload.length);
  new DataView(out.buffer).setBigUint64(0, id);
  out.set(payload, envelopeBytes);
  return out;
}

export function unwrap(data: Uint8Array): { id: bigint; payload: Uint8Array } | undefined {
  if (data.length < envelopeBytes) return undefined;
  const id = new DataView(data.buffer, data.byteOffset, data.byteLength).getBigUint64(0);
  return { id, payload: data.subarray(envelopeBytes) };
}
