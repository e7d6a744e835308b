/**
 * CRC-32 (IEEE 802.3, the polynomial of zlib, gzip and PNG; reflected 0xEDB88320), table driven.
 * Our own few lines rather than a dependency: every record of the Raft log carries one, so a
 * flipped bit or a torn write is found on load (etcd's WAL does the same with CRC-32C).
 */

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The CRC-32 of bytes, continuing from `crc` (0 to start), as an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    c = (TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return ~c >>> 0;
}
