import { etcdServices } from "@skiff/etcd-client";
import fc from "fast-check";
import t from "tap";
import { crc32c } from "../src/mvcc/crc32c.js";
import { encodeKeyValue, revisionKey } from "../src/mvcc/hash.js";
import { MvccStore } from "../src/mvcc/store.js";
import type { Event, KeyValue } from "../src/mvcc/types.js";
import { hashKV } from "../src/server/hash.js";

const b = (s: string) => new TextEncoder().encode(s);

t.test("crc32c is Castagnoli's and chains like Go's hash.Hash32 writes", async (t) => {
  t.equal(crc32c(b("123456789")), 0xe3069283, "the CRC-32C check value");
  t.equal(crc32c(b("6789"), crc32c(b("12345"))), 0xe3069283, "in two writes");
  t.equal(crc32c(new Uint8Array(0)), 0);
});

t.test("revision keys are etcd's 17 bytes, 18 with the tombstone mark", async (t) => {
  t.same([...revisionKey(258, 3, false)], [0, 0, 0, 0, 0, 0, 1, 2, 0x5f, 0, 0, 0, 0, 0, 0, 0, 3]);
  t.same([...revisionKey(1, 0, true)].slice(8), [0x5f, 0, 0, 0, 0, 0, 0, 0, 0, 0x74]);
});

t.test("KeyValue encodes as the mvccpb proto does", async (t) => {
  // The proto definitions' own encoder, reached through RangeResponse.kvs (field 2).
  const range = etcdServices().KV.service.Range as unknown as {
    responseSerialize(v: object): Buffer;
  };
  const viaProto = (kv: Record<string, unknown>) => {
    const frame = range.responseSerialize({ kvs: [kv] });
    t.equal(frame[0], 0x12, "kvs is field 2");
    let len = 0;
    let at = 1;
    for (let shift = 0; ; shift += 7) {
      const byte = frame[at++] as number;
      len |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
    }
    return [...frame.subarray(at, at + len)];
  };
  const cases: [KeyValue, Record<string, unknown>][] = [
    [
      { key: b("k"), create_revision: 2, mod_revision: 300, version: 7, value: b("v"), lease: 0x1234567890n },
      {
        key: Buffer.from("k"),
        create_revision: "2",
        mod_revision: "300",
        version: "7",
        value: Buffer.from("v"),
        lease: "78187493520",
      },
    ],
    [
      {
        key: b("only"),
        create_revision: 0,
        mod_revision: 0,
        version: 0,
        value: new Uint8Array(0),
        lease: 0n,
      },
      { key: Buffer.from("only") },
    ],
    [
      { key: b("neg"), create_revision: 1, mod_revision: 1, version: 1, value: b(""), lease: -5n },
      { key: Buffer.from("neg"), create_revision: "1", mod_revision: "1", version: "1", lease: "-5" },
    ],
  ];
  for (const [kv, proto] of cases) t.same([...encodeKeyValue(kv)], viaProto(proto), JSON.stringify(proto));
});

/**
 * etcd's HashByRev written out over a model of its disk: every record ever written, minus what
 * each compaction deleted (a key's last record at or below the compact revision survives unless
 * it is a tombstone), and the index's Keep(rev) set.
 */
interface DiskRec {
  main: number;
  sub: number;
  tombstone: boolean;
  kv: KeyValue;
  key: string;
}

class EtcdDiskModel {
  disk: DiskRec[] = [];
  compactRev = -1;

  record(rev: number, events: Event[]): void {
    events.forEach((e, sub) => {
      const tombstone = e.type === "DELETE";
      this.disk.push({ main: rev, sub, tombstone, kv: e.kv, key: Buffer.from(e.kv.key).toString("latin1") });
    });
  }

  private lastAtOrBelow(rev: number): Map<string, DiskRec> {
    const last = new Map<string, DiskRec>();
    for (const r of this.disk) if (r.main <= rev) last.set(r.key, r);
    return last;
  }

  compact(rev: number): void {
    this.compactRev = rev;
    const survivors = new Set([...this.lastAtOrBelow(rev).values()].filter((r) => !r.tombstone));
    this.disk = this.disk.filter((r) => r.main > rev || survivors.has(r));
  }

  hashByRev(rev: number): number {
    const keep = new Set([...this.lastAtOrBelow(rev).values()].filter((r) => !r.tombstone));
    let h = crc32c(b("key"));
    for (const r of this.disk) {
      if (r.main > rev) continue;
      if (r.main <= this.compactRev && keep.size > 0 && !keep.has(r)) continue;
      h = crc32c(revisionKey(r.main, r.sub, r.tombstone), h);
      const stored = r.tombstone
        ? {
            key: r.kv.key,
            create_revision: 0,
            mod_revision: 0,
            version: 0,
            value: new Uint8Array(0),
            lease: 0n,
          }
        : r.kv;
      h = crc32c(encodeKeyValue(stored), h);
    }
    return h;
  }
}

type Op =
  | { op: "put"; key: string; value: string; lease: boolean }
  | { op: "del"; key: string; prefix: boolean }
  | { op: "txn"; keys: string[] }
  | { op: "compact"; back: number };

const key = fc.constantFrom("a", "b", "ab", "c");
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant("put" as const), key, value: fc.string(), lease: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("del" as const), key, prefix: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("txn" as const), keys: fc.uniqueArray(key, { maxLength: 3 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("compact" as const), back: fc.nat(6) }) },
);

t.test(
  "HashKV over the in-memory history equals HashByRev over etcd's disk, at every revision",
  async (t) => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const model = new EtcdDiskModel();
        const s = new MvccStore({ onEvents: (rev, evs) => model.record(rev, evs), leaseExists: () => true });
        for (const o of ops) {
          if (o.op === "put") s.put({ key: b(o.key), value: b(o.value), lease: o.lease ? 7n : 0n });
          else if (o.op === "del") {
            s.deleteRange({ key: b(o.key), range_end: o.prefix ? b(`${o.key}\xff`) : undefined });
          } else if (o.op === "txn") {
            s.txn({ success: o.keys.map((k) => ({ request_put: { key: b(k), value: b("t") } })) });
          } else {
            const rev = s.revision - o.back;
            if (rev <= s.compacted || rev < 1) continue;
            s.compact(rev);
            model.compact(rev);
          }
        }
        for (let rev = Math.max(1, s.compacted + 1); rev <= s.revision; rev++) {
          const got = hashKV(s, rev);
          if (got.hash !== model.hashByRev(rev)) return false;
          if (got.revision !== s.revision || got.compactRevision !== model.compactRev) return false;
        }
        return hashKV(s, 0).hash === model.hashByRev(s.revision);
      }),
      { numRuns: 300 },
    );
    t.pass("300 random histories");
  },
);

t.test("HashKV refuses compacted and future revisions as etcd does", async (t) => {
  const s = new MvccStore();
  for (let i = 0; i < 5; i++) s.put({ key: b(`k${i}`), value: b("v") });
  s.compact(3);
  t.throws(() => hashKV(s, 3), { code: "compacted" });
  t.throws(() => hashKV(s, 7), { code: "futureRev" });
  t.equal(hashKV(s, 6).revision, 6);
  t.equal(hashKV(s, 4).compactRevision, 3);
});
