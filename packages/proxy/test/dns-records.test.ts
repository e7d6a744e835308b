/**
 * The cluster DNS's answers (records.ts), one row per question, as CoreDNS's kubernetes plugin
 * answers them (its handler_test.go cases are the model), and the message handling around them
 * (server.ts): malformed input, NOTIMP, FORMERR, EDNS and truncation.
 */
import dnsPacket, { type Answer, type Packet } from "dns-packet";
import fc from "fast-check";
import t from "tap";
import { lookup } from "../src/dns/records.js";
import { handleQuery, serveQuery } from "../src/dns/server.js";
import { fixtureServices, fixtureSlices, service, slice, staticStore } from "./dns-fixtures.js";

const store = staticStore(fixtureServices, fixtureSlices);

function show(a: Answer): string {
  if (a.type === "SRV")
    return `${a.name} SRV ${a.data.priority} ${a.data.weight} ${a.data.port} ${a.data.target}`;
  if (a.type === "SOA") return `${a.name} SOA ${a.data.mname} ${a.data.serial}`;
  if (a.type === "OPT") return "OPT";
  return `${a.name} ${a.type} ${String((a as { data: unknown }).data)}`;
}

const rows: {
  q: string;
  type: string;
  rcode: string;
  answers?: string[];
  extra?: string[];
  soa?: boolean;
}[] = [
  {
    q: "web.default.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answers: ["web.default.svc.cluster.local A 10.96.0.20"],
  },
  {
    q: "WEB.Default.SVC.cluster.LOCAL",
    type: "A",
    rcode: "NOERROR",
    answers: ["WEB.Default.SVC.cluster.LOCAL A 10.96.0.20"],
  },
  { q: "web.default.svc.cluster.local", type: "AAAA", rcode: "NOERROR", answers: [], soa: true },
  { q: "web.default.svc.cluster.local", type: "MX", rcode: "NOERROR", answers: [], soa: true },
  { q: "nope.default.svc.cluster.local", type: "A", rcode: "NXDOMAIN", answers: [], soa: true },
  { q: "default.svc.cluster.local", type: "A", rcode: "NOERROR", answers: [], soa: true },
  { q: "svc.cluster.local", type: "A", rcode: "NOERROR", answers: [], soa: true },
  { q: "cluster.local", type: "A", rcode: "NOERROR", answers: [], soa: true },
  {
    q: "cluster.local",
    type: "SOA",
    rcode: "NOERROR",
    answers: ["cluster.local SOA ns.dns.cluster.local 1700000000"],
  },
  {
    q: "cluster.local",
    type: "NS",
    rcode: "NOERROR",
    answers: ["cluster.local NS ns.dns.cluster.local"],
    extra: ["ns.dns.cluster.local A 10.96.0.10"],
  },
  { q: "ns.dns.cluster.local", type: "A", rcode: "NOERROR", answers: ["ns.dns.cluster.local A 10.96.0.10"] },
  {
    q: "dns-version.cluster.local",
    type: "TXT",
    rcode: "NOERROR",
    answers: ["dns-version.cluster.local TXT 1.1.0"],
  },
  { q: "a.b.c.d.e.default.svc.cluster.local", type: "A", rcode: "NXDOMAIN", answers: [], soa: true },
  { q: "web.default.foo.cluster.local", type: "A", rcode: "NXDOMAIN", answers: [], soa: true },
  // Named ports: SRV to the Service's name, its address as extra.
  {
    q: "_http._tcp.web.default.svc.cluster.local",
    type: "SRV",
    rcode: "NOERROR",
    answers: ["_http._tcp.web.default.svc.cluster.local SRV 0 100 80 web.default.svc.cluster.local"],
    extra: ["web.default.svc.cluster.local A 10.96.0.20"],
  },
  {
    q: "_dns._udp.web.default.svc.cluster.local",
    type: "SRV",
    rcode: "NOERROR",
    answers: ["_dns._udp.web.default.svc.cluster.local SRV 0 100 53 web.default.svc.cluster.local"],
    extra: ["web.default.svc.cluster.local A 10.96.0.20"],
  },
  { q: "_http._udp.web.default.svc.cluster.local", type: "SRV", rcode: "NXDOMAIN", answers: [], soa: true },
  { q: "_nope._tcp.web.default.svc.cluster.local", type: "SRV", rcode: "NXDOMAIN", answers: [], soa: true },
  {
    q: "web.default.svc.cluster.local",
    type: "SRV",
    rcode: "NOERROR",
    answers: [
      "web.default.svc.cluster.local SRV 0 50 80 web.default.svc.cluster.local",
      "web.default.svc.cluster.local SRV 0 50 53 web.default.svc.cluster.local",
    ],
    extra: ["web.default.svc.cluster.local A 10.96.0.20"],
  },
  // Headless: the ready endpoints (unset ready counts as ready), by hostname or dashed address.
  {
    q: "db.default.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answers: ["db.default.svc.cluster.local A 10.244.0.5", "db.default.svc.cluster.local A 10.244.0.6"],
  },
  {
    q: "db-0.db.default.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answers: ["db-0.db.default.svc.cluster.local A 10.244.0.5"],
  },
  {
    q: "10-244-0-6.db.default.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answers: ["10-244-0-6.db.default.svc.cluster.local A 10.244.0.6"],
  },
  { q: "db-2.db.default.svc.cluster.local", type: "A", rcode: "NXDOMAIN", answers: [], soa: true },
  {
    q: "_pg._tcp.db.default.svc.cluster.local",
    type: "SRV",
    rcode: "NOERROR",
    answers: [
      "_pg._tcp.db.default.svc.cluster.local SRV 0 50 5432 db-0.db.default.svc.cluster.local",
      "_pg._tcp.db.default.svc.cluster.local SRV 0 50 5432 10-244-0-6.db.default.svc.cluster.local",
    ],
    extra: [
      "db-0.db.default.svc.cluster.local A 10.244.0.5",
      "10-244-0-6.db.default.svc.cluster.local A 10.244.0.6",
    ],
  },
  { q: "empty-headless.default.svc.cluster.local", type: "A", rcode: "NXDOMAIN", answers: [], soa: true },
  // An endpoint name under a ClusterIP Service names that endpoint (CoreDNS looks in the endpoints).
  {
    q: "web-0.web.default.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answers: ["web-0.web.default.svc.cluster.local A 10.244.0.9"],
  },
  // ExternalName: a CNAME, nothing under it.
  {
    q: "ext.default.svc.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answers: ["ext.default.svc.cluster.local CNAME example.com"],
  },
  {
    q: "ext.default.svc.cluster.local",
    type: "CNAME",
    rcode: "NOERROR",
    answers: ["ext.default.svc.cluster.local CNAME example.com"],
  },
  { q: "ext.default.svc.cluster.local", type: "SRV", rcode: "NOERROR", answers: [], soa: true },
  { q: "x.ext.default.svc.cluster.local", type: "A", rcode: "NXDOMAIN", answers: [], soa: true },
  { q: "ext-ip.default.svc.cluster.local", type: "A", rcode: "NXDOMAIN", answers: [], soa: true },
  // Pods ("pods insecure").
  {
    q: "10-244-1-7.default.pod.cluster.local",
    type: "A",
    rcode: "NOERROR",
    answers: ["10-244-1-7.default.pod.cluster.local A 10.244.1.7"],
  },
  { q: "10-244-1-7.default.pod.cluster.local", type: "AAAA", rcode: "NOERROR", answers: [], soa: true },
  { q: "10-244-1-300.default.pod.cluster.local", type: "A", rcode: "NXDOMAIN", answers: [], soa: true },
  { q: "web.default.pod.cluster.local", type: "A", rcode: "NXDOMAIN", answers: [], soa: true },
  { q: "default.pod.cluster.local", type: "A", rcode: "NOERROR", answers: [], soa: true },
  // Outside the zone: nothing to forward to.
  { q: "example.com", type: "A", rcode: "REFUSED", answers: [] },
  { q: "local", type: "A", rcode: "REFUSED", answers: [] },
  { q: "xcluster.local", type: "A", rcode: "REFUSED", answers: [] },
  // Reverse lookups of ClusterIPs.
  {
    q: "20.0.96.10.in-addr.arpa",
    type: "PTR",
    rcode: "NOERROR",
    answers: ["20.0.96.10.in-addr.arpa PTR web.default.svc.cluster.local"],
  },
  { q: "99.0.96.10.in-addr.arpa", type: "PTR", rcode: "REFUSED", answers: [] },
];

t.test("answers as CoreDNS's kubernetes plugin", async (t) => {
  for (const r of rows) {
    const got = lookup(r.q, r.type, store);
    t.equal(got.rcode, r.rcode, `${r.q} ${r.type}: rcode`);
    t.same(got.answers.map(show), r.answers ?? [], `${r.q} ${r.type}: answers`);
    if (r.extra !== undefined) t.same(got.additionals.map(show), r.extra, `${r.q} ${r.type}: additional`);
    const soa = got.authorities.filter((a) => a.type === "SOA");
    t.equal(soa.length, r.soa === true ? 1 : 0, `${r.q} ${r.type}: SOA in authority`);
    for (const a of got.answers) t.equal((a as { ttl?: number }).ttl, a.type === "TXT" ? 28800 : 5);
  }
});

const query = (name: string, type = "A", extra: Partial<Packet> = {}): Buffer =>
  dnsPacket.encode({
    type: "query",
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as "A", name }],
    ...extra,
  });

t.test("a query gets an authoritative reply with RD copied and RA clear", async (t) => {
  const reply = handleQuery(query("web.default.svc.cluster.local"), store);
  t.ok(reply);
  const p = dnsPacket.decode(reply as Buffer);
  t.equal(p.id, 4242);
  t.equal(p.type, "response");
  t.ok(p.flag_aa);
  t.ok(p.flag_rd);
  t.notOk(p.flag_ra);
  t.notOk(p.flag_tc);
  t.same(p.questions, [{ name: "web.default.svc.cluster.local", type: "A", class: "IN" }]);
  t.same((p.answers ?? []).map(show), ["web.default.svc.cluster.local A 10.96.0.20"]);
  const nx = dnsPacket.decode(handleQuery(query("nope.default.svc.cluster.local"), store) as Buffer);
  t.equal((nx as { rcode?: string }).rcode, "NXDOMAIN");
  t.same(
    (nx.authorities ?? []).map((a) => a.type),
    ["SOA"],
  );
});

const rcodeOf = (b: Buffer | undefined) =>
  b === undefined ? "dropped" : (dnsPacket.decode(b) as { rcode?: string }).rcode;

t.test("bad messages: FORMERR, NOTIMP or dropped, never a throw", async (t) => {
  t.equal(handleQuery(Buffer.alloc(0), store), undefined, "empty: dropped");
  t.equal(handleQuery(Buffer.from([1, 2, 3]), store), undefined, "shorter than a header: dropped");
  const good = query("web.default.svc.cluster.local");
  for (let n = 12; n < good.length; n++)
    t.equal(rcodeOf(handleQuery(good.subarray(0, n), store)), "FORMERR", `truncated to ${n} bytes`);
  const two = dnsPacket.encode({
    type: "query",
    id: 1,
    questions: [
      { type: "A", name: "web.default.svc.cluster.local" },
      { type: "A", name: "db.default.svc.cluster.local" },
    ],
  });
  t.equal(rcodeOf(handleQuery(two, store)), "FORMERR", "two questions");
  const noQuestion = dnsPacket.encode({ type: "query", id: 1, questions: [] });
  t.equal(rcodeOf(handleQuery(noQuestion, store)), "FORMERR", "no question");
  const notify = Buffer.from(good);
  notify.writeUInt16BE((4 << 11) | 0x0100, 2);
  const r = handleQuery(notify, store) as Buffer;
  t.equal(rcodeOf(r), "NOTIMP", "NOTIFY opcode");
  t.equal((r.readUInt16BE(2) >> 11) & 0xf, 4, "opcode copied");
  const response = Buffer.from(good);
  response.writeUInt16BE(0x8000, 2);
  t.equal(handleQuery(response, store), undefined, "a response is never answered");
  // A 63-byte label of bytes that are not UTF-8 would be echoed as a different name.
  const weird = Buffer.concat([
    good.subarray(0, 12),
    Buffer.from([3, 0xff, 0xfe, 0xfd, 0]),
    Buffer.from([0, 1, 0, 1]),
  ]);
  t.equal(rcodeOf(handleQuery(weird, store)), "FORMERR", "a name that does not round-trip");
  const chaos = dnsPacket.encode({
    type: "query",
    id: 1,
    questions: [{ type: "TXT", name: "version.bind", class: "CH" }],
  });
  t.equal(rcodeOf(handleQuery(chaos, store)), "REFUSED", "class CH");
});

t.test("random bytes never throw: a reply that decodes, or nothing", async (t) => {
  let answered = 0;
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 300, size: "max" }), (bytes) => {
      const reply = handleQuery(Buffer.from(bytes), store);
      if (reply === undefined) return true;
      answered++;
      const p = dnsPacket.decode(reply) as { rcode?: string; type?: string };
      return p.type === "response" && reply.readUInt16BE(0) === Buffer.from(bytes).readUInt16BE(0);
    }),
    { numRuns: 500 },
  );
  // Mutations of a good query reach further than random bytes.
  const good = query("_http._tcp.web.default.svc.cluster.local", "SRV");
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.nat(good.length),
      (edits, cut) => {
        const b = Buffer.from(good.subarray(0, cut));
        for (const [i, v] of edits) if (i < b.length) b[i] = v;
        const reply = handleQuery(b, store);
        if (reply !== undefined) dnsPacket.decode(reply);
        return true;
      },
    ),
    { numRuns: 500 },
  );
  t.ok(answered > 0, "some random headers were answered");
});

t.test("UDP replies over 512 bytes (or the EDNS size) are truncated with TC", async (t) => {
  const endpoints = Array.from({ length: 60 }, (_, i) => ({
    addresses: [`10.244.1.${i + 1}`],
    hostname: `pod-number-${i}`,
    conditions: { ready: true },
  }));
  const big = staticStore(
    [service("default", "big", { clusterIP: "None", ports: [{ name: "http", port: 80 }] })],
    [slice("default", "big", "big-1", { endpoints, ports: [{ name: "http", protocol: "TCP", port: 80 }] })],
  );
  const q = query("big.default.svc.cluster.local");
  const udp = handleQuery(q, big) as Buffer;
  t.ok(udp.length <= 512, `UDP reply of ${udp.length} bytes`);
  const pu = dnsPacket.decode(udp);
  t.ok(pu.flag_tc, "TC set");
  t.ok((pu.answers ?? []).length > 0 && (pu.answers ?? []).length < 60, "some answers kept");
  const tcp = handleQuery(q, big, { transport: "tcp" }) as Buffer;
  const pt = dnsPacket.decode(tcp);
  t.notOk(pt.flag_tc, "no TC over TCP");
  t.equal((pt.answers ?? []).length, 60, "every answer over TCP");
  const edns = query("big.default.svc.cluster.local", "A", {
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: 4096, flags: 0 } as unknown as Answer],
  });
  const pe = dnsPacket.decode(handleQuery(edns, big) as Buffer);
  t.notOk(pe.flag_tc, "fits in the EDNS size offered");
  t.equal((pe.answers ?? []).length, 60);
  t.same(
    (pe.additionals ?? []).map((a) => a.type),
    ["OPT"],
    "OPT in the reply",
  );
  const srv = query("_http._tcp.big.default.svc.cluster.local", "SRV");
  const ps = dnsPacket.decode(handleQuery(srv, big) as Buffer);
  t.ok(ps.flag_tc, "SRV truncated too");
  t.equal((ps.additionals ?? []).length, 0, "no additional records when answers were cut");
  const badVersion = query("web.default.svc.cluster.local", "A", {
    additionals: [
      { type: "OPT", name: ".", udpPayloadSize: 1232, ednsVersion: 1, flags: 0 } as unknown as Answer,
    ],
  });
  const out = serveQuery(badVersion, store);
  t.equal(out.rcode, "BADVERS");
  const pb = dnsPacket.decode(out.reply as Buffer);
  t.equal(
    (pb.additionals?.[0] as { extendedRcode?: number } | undefined)?.extendedRcode,
    1,
    "BADVERS in the OPT record",
  );
});
