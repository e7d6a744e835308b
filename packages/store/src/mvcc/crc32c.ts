/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table driven: the checksum etcd's
 * HashKV and Hash use (Go's crc32.MakeTable(crc32.Castagnoli)), so a HashKV computed here can
 * equal etcd's for the same history.
 */

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * The CRC-32C of bytes, continuing from `crc` (0 to start), as an unsigned 32-bit number:
 * crc32c(b, crc32c(a)) is the checksum of a followed by b, as Go's hash.Hash32 Write calls chain.
 */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    c = (TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return ~c >>> 0;
}
