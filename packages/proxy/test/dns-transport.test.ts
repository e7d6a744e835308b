/**
 * The DNS sockets: the node gateway's UDP frames and PROXY-prefixed TCP over real unix sockets in
 * a temporary directory (frames split across chunks and several in one chunk), and plain DNS
 * over UDP and TCP on 127.0.0.1 with dns-packet as the client.
 */
import dgram from "node:dgram";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "@skiff/testkit";
import dnsPacket from "dns-packet";
import t from "tap";
import { encodeTcpMessage, encodeUdpFrame, TcpMessageDecoder, UdpFrameDecoder } from "../src/dns/framing.js";
import { handleQuery } from "../src/dns/server.js";
import { DnsSocketServer, listenTcp, listenUdp } from "../src/dns/transport.js";
import { fixtureServices, fixtureSlices, staticStore } from "./dns-fixtures.js";

const store = staticStore(fixtureServices, fixtureSlices);
const handler = (q: Buffer, transport: "udp" | "tcp") => handleQuery(q, store, { transport });

const query = (id: number, name: string) =>
  dnsPacket.encode({
    type: "query",
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: "A", name }],
  });

function tempDir(t: { teardown(f: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "skiff-dns-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function connect(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const c = net.connect(path, () => resolve(c));
    c.once("error", reject);
  });
}

t.test("UDP frames over the unix socket: split and coalesced, answered with the same client", async (t) => {
  const dir = tempDir(t);
  const udpSocketPath = join(dir, "dns-udp.sock");
  const server = new DnsSocketServer({ udpSocketPath, handler });
  await server.listen();
  t.teardown(() => server.close());
  const c = await connect(udpSocketPath);
  t.teardown(() => c.destroy());
  const decoder = new UdpFrameDecoder();
  const got: { client: string; id: number; answer: string }[] = [];
  c.on("data", (chunk: Buffer) => {
    for (const f of decoder.push(chunk)) {
      const p = dnsPacket.decode(f.payload);
      const a = p.answers?.[0] as { data?: string } | undefined;
      got.push({ client: `${f.client.address}:${f.client.port}`, id: p.id ?? -1, answer: String(a?.data) });
    }
  });
  const frames = [
    encodeUdpFrame({ address: "10.244.0.7", port: 40001 }, query(1, "web.default.svc.cluster.local")),
    encodeUdpFrame({ address: "10.244.0.8", port: 40002 }, query(2, "10-1-2-3.default.pod.cluster.local")),
    encodeUdpFrame({ address: "10.244.0.9", port: 40003 }, query(3, "db-0.db.default.svc.cluster.local")),
  ];
  const all = Buffer.concat(frames);
  // Two frames and a half in one write, the rest byte by byte.
  const cut = (frames[0]?.length ?? 0) + (frames[1]?.length ?? 0) + 5;
  c.write(all.subarray(0, cut));
  for (let i = cut; i < all.length; i++) c.write(all.subarray(i, i + 1));
  await waitFor(() => got.length === 3, { what: "three answered frames" });
  t.same(got, [
    { client: "10.244.0.7:40001", id: 1, answer: "10.96.0.20" },
    { client: "10.244.0.8:40002", id: 2, answer: "10.1.2.3" },
    { client: "10.244.0.9:40003", id: 3, answer: "10.244.0.5" },
  ]);
  // A frame length no frame can have closes the connection (the gateway reconnects).
  const closed = new Promise<void>((resolve) => c.on("close", () => resolve()));
  c.write(Buffer.from([0, 0, 0, 2, 0, 0]));
  await closed;
  await server.close();
  t.notOk(existsSync(udpSocketPath), "socket file removed on close");
});

t.test("TCP over the unix socket: a PROXY line, then several length-prefixed queries", async (t) => {
  const dir = tempDir(t);
  const tcpSocketPath = join(dir, "dns-tcp.sock");
  const server = new DnsSocketServer({ tcpSocketPath, handler });
  await server.listen();
  t.teardown(() => server.close());
  const c = await connect(tcpSocketPath);
  t.teardown(() => c.destroy());
  const decoder = new TcpMessageDecoder();
  const ids: number[] = [];
  let ended = false;
  c.on("data", (chunk: Buffer) => {
    for (const m of decoder.push(chunk)) ids.push(dnsPacket.decode(m).id ?? -1);
  });
  c.on("end", () => {
    ended = true;
  });
  const stream = Buffer.concat([
    Buffer.from("PROXY TCP4 10.244.0.7 10.244.0.1 41000 53\r\n"),
    encodeTcpMessage(query(11, "web.default.svc.cluster.local")),
    encodeTcpMessage(query(12, "db.default.svc.cluster.local")),
  ]);
  // Split inside the PROXY line and inside a length prefix.
  c.write(stream.subarray(0, 10));
  c.write(stream.subarray(10, 45));
  c.write(stream.subarray(45));
  // Half-close: the answers still come, then the server closes its side.
  c.end();
  await waitFor(() => ids.length === 2 && ended, { what: "two answers, then the server's end" });
  t.same(ids, [11, 12]);

  // No PROXY line: the connection is closed.
  const bad = await connect(tcpSocketPath);
  const badClosed = new Promise<void>((resolve) => bad.on("close", () => resolve()));
  bad.on("error", () => undefined);
  bad.write("GET / HTTP/1.1\r\n\r\n");
  await badClosed;
  t.pass("a stream without a PROXY line is closed");
});

t.test("plain DNS over UDP and TCP on 127.0.0.1", async (t) => {
  const udp = await listenUdp("127.0.0.1", 0, handler);
  t.teardown(() => udp.close());
  const tcp = await listenTcp("127.0.0.1", 0, handler);
  t.teardown(() => tcp.close());

  const client = dgram.createSocket("udp4");
  t.teardown(() => client.close());
  const reply = new Promise<Buffer>((resolve) => client.once("message", (m) => resolve(m)));
  client.send(query(21, "_http._tcp.web.default.svc.cluster.local"), udp.address().port, "127.0.0.1");
  const p = dnsPacket.decode(await reply);
  t.equal(p.id, 21);
  t.same(
    (p.answers ?? []).map((a) => a.type),
    ["A"],
    "an A question for a port name answers the ClusterIP, as CoreDNS",
  );

  const answer = await new Promise<Buffer>((resolve, reject) => {
    const c = net.connect(tcp.address().port, "127.0.0.1", () =>
      c.write(encodeTcpMessage(query(22, "example.com"))),
    );
    const d = new TcpMessageDecoder();
    c.on("data", (chunk: Buffer) => {
      const [m] = d.push(chunk);
      if (m !== undefined) {
        c.destroy();
        resolve(m);
      }
    });
    c.on("error", reject);
  });
  const pt = dnsPacket.decode(answer) as { id?: number; rcode?: string };
  t.equal(pt.id, 22);
  t.equal(pt.rcode, "REFUSED", "outside the cluster domain");
});
