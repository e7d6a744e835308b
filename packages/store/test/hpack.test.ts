/**
 * The HPACK decoder of Skiff's HTTP/2 (grpc/h2wire/hpack.ts) against RFC 7541 Appendix C (requests
 * with and without Huffman coding, the dynamic table carried from block to block, eviction in a
 * 256-octet table), a Huffman round trip over random strings, and malformed blocks, each of which
 * must throw (the connection answers COMPRESSION_ERROR) rather than hang or crash.
 */
import fc from "fast-check";
import t from "tap";
import {
  encodeIndexedName,
  encodeLiteral,
  HpackDecoder,
  huffmanDecode,
  huffmanEncode,
} from "../src/grpc/h2wire/hpack.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

const request1 = [
  [":method", "GET"],
  [":scheme", "http"],
  [":path", "/"],
  [":authority", "www.example.com"],
];
const request2 = [...request1, ["cache-control", "no-cache"]];
const request3 = [
  [":method", "GET"],
  [":scheme", "https"],
  [":path", "/index.html"],
  [":authority", "www.example.com"],
  ["custom-key", "custom-value"],
];

t.test("RFC 7541 C.3: requests without Huffman coding, one decoder for all three", async (t) => {
  const d = new HpackDecoder();
  t.same(d.decode(hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d")), request1);
  t.equal(d.tableSize, 57);
  t.same(d.decode(hex("8286 84be 5808 6e6f 2d63 6163 6865")), request2);
  t.equal(d.tableSize, 110);
  t.same(d.decode(hex("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65")), request3);
  t.equal(d.tableSize, 164);
});

t.test("RFC 7541 C.4: the same requests with Huffman coding", async (t) => {
  const d = new HpackDecoder();
  t.same(d.decode(hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")), request1);
  t.same(d.decode(hex("8286 84be 5886 a8eb 1064 9cbf")), request2);
  t.same(d.decode(hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")), request3);
  t.equal(d.tableSize, 164);
  t.equal(huffmanDecode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff"), 0, 12), "www.example.com");
});

t.test("RFC 7541 C.5: responses in a 256-octet table evict the oldest entries", async (t) => {
  const d = new HpackDecoder(256);
  const first = d.decode(
    hex(`4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
         2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
         6c65 2e63 6f6d`),
  );
  const response = (status: string) => [
    [":status", status],
    ["cache-control", "private"],
    ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
    ["location", "https://www.example.com"],
  ];
  t.same(first, response("302"));
  t.equal(d.tableSize, 222);
  // ":status: 307" is added; ":status: 302" (the oldest) is evicted to make room; the rest are
  // indexes 65, 64, 63 into the dynamic table.
  t.same(d.decode(hex("4803 3330 37c1 c0bf")), response("307"));
  t.equal(d.tableSize, 222);
});

t.test("the encoder's literals decode to what was encoded", async (t) => {
  const d = new HpackDecoder();
  const long = "x".repeat(300); // a length past the 7-bit prefix
  const block = Buffer.concat([
    encodeLiteral("grpc-status", "0"),
    encodeLiteral("grpc-message", long),
    encodeIndexedName(31, "application/grpc"),
    encodeIndexedName(8, "415"),
  ]);
  t.same(d.decode(block), [
    ["grpc-status", "0"],
    ["grpc-message", long],
    ["content-type", "application/grpc"],
    [":status", "415"],
  ]);
  t.equal(d.tableSize, 0, "literals without indexing leave the table alone");
});

t.test("Huffman coding round-trips every byte string", async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const s = Buffer.from(bytes).toString("latin1");
      const coded = huffmanEncode(s);
      return huffmanDecode(coded, 0, coded.length) === s;
    }),
    { numRuns: 500 },
  );
  t.pass("500 random strings");
});

t.test("malformed blocks throw", async (t) => {
  const cases: [string, Buffer][] = [
    ["index 0", hex("80")],
    ["an index past both tables", hex("ff00")], // 127 + 0 = index 127: nothing there
    ["an integer that overflows", hex("ffffffffffff7f")],
    ["a truncated integer", hex("ff")],
    ["a string longer than the block", hex("0005 6162")],
    ["Huffman padding of zeros", Buffer.from([0x00, 0x81, 0x00, 0x01, 0x61])], // name: padding 0s
    ["Huffman padding of 8 bits or more", Buffer.from([0x00, 0x82, 0x1f, 0xff, 0x01, 0x61])],
    ["EOS inside a Huffman string", Buffer.from([0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x01, 0x61])],
    ["a table size update above the limit", hex("3fe21f")], // 4097 > 4096
    ["a table size update after a field", hex("82 20")],
  ];
  for (const [what, block] of cases) t.throws(() => new HpackDecoder().decode(block), what);
  const d = new HpackDecoder();
  t.same(d.decode(hex("20 82")), [[":method", "GET"]], "a size update first is fine");
});
