/**
 * The node gateway against the real system: assets/skiff-gateway inside a network namespace
 * this test creates (skiff-gt-<hex>, removed at the end), relaying to unix sockets the test
 * serves: the PROXY v1 line, bytes and half-close both ways, UDP frames both ways, the unix
 * connection's reconnect, the helper's restart; then the API server relay, alone and behind
 * the gateway's tcp:6443. Clients run inside the namespace and send to 127.0.0.1 only. Needs
 * root for the namespace; off CI a missing part skips with the reason printed.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { waitFor } from "@skiff/testkit";
import t, { type Test } from "tap";
import { ApiServerRelay, apiServerTargets } from "../src/network/apiserver-relay.js";
import { APISERVER_GATEWAY_PORT, gatewaySocketPath, NodeGateway } from "../src/network/gateway.js";
import { KubeletGateway } from "../src/network/kubelet-gateway.js";

const run = promisify(execFile);
const logger = { info() {}, warn() {}, error() {}, debug() {} };

function missingPart(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (ip netns)";
  if (!existsSync("/usr/bin/perl")) return "/usr/bin/perl is missing";
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
  } catch {
    return "iproute2's ip is missing";
  }
  return undefined;
}
const missing = missingPart();
if (missing !== undefined && process.env.CI === undefined) t.comment(`skipping: ${missing}`);
const skip = process.env.CI === undefined ? missing : undefined;

/** A fresh namespace with lo up and a temp dir, both removed at the end. */
function newNetns(tt: Test): { ns: string; dir: string } {
  const ns = `skiff-gt-${randomBytes(4).toString("hex")}`;
  execFileSync("ip", ["netns", "add", ns]);
  const dir = mkdtempSync(join(tmpdir(), "skiff-gw-"));
  tt.teardown(() => {
    execFileSync("ip", ["netns", "delete", ns]);
    rmSync(dir, { recursive: true, force: true });
  });
  execFileSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
  return { ns, dir };
}

/** A unix socket server; its connections are ended with it (half-open ones would keep it). */
async function listen(tt: Test, path: string, onConn: (s: Socket) => void): Promise<Server> {
  const open = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    open.add(s);
    s.on("close", () => open.delete(s));
    onConn(s);
  });
  await new Promise<void>((r) => server.listen(path, r));
  tt.teardown(() => {
    for (const s of open) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return server;
}

// TCP clients inside the namespace. "a": send, half-close, read the answer to EOF. "b": read
// the server's greeting to EOF (the server half-closed first), then answer and half-close.
const TCP_CLIENT = `
use IO::Socket::INET; $| = 1;
my ($port, $mode) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port, Proto => "tcp") or die "connect: $!";
print "LOCAL:", $s->sockport, "\\n";
my $d = "";
if ($mode eq "a") { syswrite($s, "ping"); shutdown($s, 1); while (sysread($s, my $b, 4096)) { $d .= $b } print "REPLY:$d\\n"; }
else { while (sysread($s, my $b, 4096)) { $d .= $b } syswrite($s, "after-eof:$d"); shutdown($s, 1); sysread($s, my $e, 1); print "DONE\\n"; }
`;
// A UDP client: sends until `want` answers came (a dropped datagram is resent, as resolvers do).
const UDP_CLIENT = `
use IO::Socket::INET; $| = 1;
my ($port, $payload, $want) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port, Proto => "udp") or die "socket: $!";
print "LOCAL:", $s->sockport, "\\n";
my @got;
for my $try (1 .. 40) {
  $s->send($payload);
  my $rin = ""; vec($rin, fileno($s), 1) = 1;
  while (select(my $rout = $rin, undef, undef, 0.25)) { $s->recv(my $r, 65535); push @got, $r; last if @got >= $want; }
  if (@got >= $want) { print "REPLY:$_\\n" for @got; exit 0 }
}
print "TIMEOUT\\n"; exit 1;
`;

async function inNetns(ns: string, script: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("ip", ["netns", "exec", ns, "/usr/bin/perl", "-e", script, ...args], {
    timeout: 20_000,
  });
  return stdout;
}

/** Reads a PROXY v1 line, then hands the rest of the stream on. */
function proxyLine(s: Socket): Promise<{ line: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (b: Buffer) => {
      buf = Buffer.concat([buf, b]);
      const i = buf.indexOf("\r\n");
      if (i < 0) return;
      s.off("data", onData);
      s.pause();
      resolve({ line: buf.subarray(0, i).toString(), rest: buf.subarray(i + 2) });
    };
    s.on("data", onData);
    s.once("error", reject);
  });
}

/** UDP frames: [u32 BE length][4 bytes IPv4][u16 BE port][payload]. */
function frame(ip: Buffer, port: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(10);
  head.writeUInt32BE(6 + payload.length, 0);
  ip.copy(head, 4);
  head.writeUInt16BE(port, 8);
  return Buffer.concat([head, payload]);
}

t.test(
  "TCP: a PROXY line, then bytes and half-close both ways; UDP frames both ways",
  { skip },
  async (t) => {
    const { ns, dir } = newNetns(t);
    const lines: string[] = [];
    const afterEof: string[] = [];
    // a.sock: answers after the client's half-close. b.sock: greets and half-closes first.
    await listen(t, join(dir, "a.sock"), async (s) => {
      const { line, rest } = await proxyLine(s);
      lines.push(line);
      let got = rest.toString();
      s.on("data", (b: Buffer) => {
        got += b.toString();
      });
      s.on("end", () => s.end(`got:${got}`));
      s.resume();
    });
    await listen(t, join(dir, "b.sock"), async (s) => {
      const { line, rest } = await proxyLine(s);
      lines.push(line);
      let got = rest.toString();
      s.on("data", (b: Buffer) => {
        got += b.toString();
      });
      s.on("end", () => afterEof.push(got));
      s.resume();
      s.end("hello");
    });
    const frames: Array<{ ip: string; port: number; payload: string }> = [];
    let udpConn: Socket | undefined;
    let udpConns = 0;
    await listen(t, join(dir, "udp.sock"), (s) => {
      udpConn = s;
      udpConns++;
      let buf = Buffer.alloc(0);
      s.on("error", () => {});
      s.on("data", (b: Buffer) => {
        buf = Buffer.concat([buf, b]);
        while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          const len = buf.readUInt32BE(0);
          const ip = buf.subarray(4, 8);
          const port = buf.readUInt16BE(8);
          const payload = buf.subarray(10, 4 + len);
          buf = buf.subarray(4 + len);
          frames.push({ ip: [...ip].join("."), port, payload: payload.toString() });
          // Two answers in one write: the gateway must split the stream into frames.
          const reply = payload.toString() === "twice" ? ["one", "two"] : [`a:${payload}`];
          s.write(Buffer.concat(reply.map((r) => frame(Buffer.from(ip), port, Buffer.from(r)))));
        }
      });
    });

    const gw = new NodeGateway({ netns: ns, logger, initialBackoffMs: 100 });
    t.teardown(() => gw.stop());
    await gw.start([
      { protocol: "tcp", port: 8080, socketPath: join(dir, "a.sock") },
      { protocol: "tcp", port: 8081, socketPath: join(dir, "b.sock") },
      { protocol: "udp", port: 5353, socketPath: join(dir, "udp.sock") },
    ]);
    const pid = gw.helperPid;
    t.ok(pid, "the helper runs");

    const a = await inNetns(ns, TCP_CLIENT, "8080", "a");
    const port = /LOCAL:(\d+)/.exec(a)?.[1];
    t.match(a, /REPLY:got:ping\n/, "the answer arrives after the client's half-close");
    t.equal(lines[0], `PROXY TCP4 127.0.0.1 127.0.0.1 ${port} 8080`, "the PROXY line names both ends");
    const b = await inNetns(ns, TCP_CLIENT, "8081", "b");
    t.match(b, /DONE/);
    await waitFor(() => afterEof.length === 1, { what: "the bytes sent after the server's half-close" });
    t.same(afterEof, ["after-eof:hello"], "the client still sends after the server half-closed");

    await waitFor(() => udpConns === 1, { what: "the gateway's UDP connection" });
    const u = await inNetns(ns, UDP_CLIENT, "5353", "query-1", "1");
    const uport = Number(/LOCAL:(\d+)/.exec(u)?.[1]);
    t.match(u, /REPLY:a:query-1\n/, "a datagram there and back");
    t.same(frames[0], { ip: "127.0.0.1", port: uport, payload: "query-1" }, "the frame names the client");
    const big = "x".repeat(3000);
    t.match(await inNetns(ns, UDP_CLIENT, "5353", big, "1"), `REPLY:a:${big}\n`, "a 3000-byte datagram");
    t.match(
      await inNetns(ns, UDP_CLIENT, "5353", "twice", "2"),
      /REPLY:one\nREPLY:two\n/,
      "two frames in one write",
    );

    // The agent's end drops the UDP connection: the gateway connects again.
    udpConn?.destroy();
    await waitFor(() => udpConns === 2, { what: "the gateway to reconnect its UDP connection" });
    t.match(
      await inNetns(ns, UDP_CLIENT, "5353", "query-2", "1"),
      /REPLY:a:query-2\n/,
      "answers after reconnect",
    );

    // The helper dies: it is started again, and serves again.
    process.kill(pid as number, "SIGKILL");
    const next = await waitFor(() => (gw.helperPid !== pid ? gw.helperPid : undefined), {
      what: "a new gateway helper",
    });
    t.not(next, pid);
    t.match(await inNetns(ns, TCP_CLIENT, "8080", "a"), /REPLY:got:ping\n/, "serves after a restart");

    await gw.stop();
    t.equal(gw.helperPid, undefined);
    t.throws(() => process.kill(next as number, 0), { code: "ESRCH" }, "the helper has exited");
  },
);

t.test("a port that cannot be listened on fails start, and it keeps trying", { skip }, async (t) => {
  const { ns, dir } = newNetns(t);
  const warnings: string[] = [];
  const log = { ...logger, warn: (_o: object, m: string) => void warnings.push(m) };
  // 192.0.2.1 (TEST-NET-1) is no address of the namespace: a TCP bind fails and the helper
  // exits (UDP binds it anyway, with IP_FREEBIND, for the bridge address still to come).
  const gw = new NodeGateway({ netns: ns, address: "192.0.2.1", logger: log, initialBackoffMs: 50 });
  t.teardown(() => gw.stop());
  const tcp = { protocol: "tcp" as const, port: 53, socketPath: join(dir, "x.sock") };
  await t.rejects(gw.start([tcp]), /listen tcp:53/, "start names the port");
  await waitFor(() => warnings.filter((w) => w === "node gateway exited").length >= 2, {
    what: "the failed helper to be started again",
  });
  await gw.stop();
  t.equal(gw.helperPid, undefined);
  await t.rejects(gw.start([{ protocol: "tcp", port: 0, socketPath: "x" }]), /invalid port/);
  await t.rejects(gw.start([tcp, { ...tcp, socketPath: "y" }]), /tcp:53 listed twice/);
});

t.test("the API server relay drops the PROXY line and pipes to the API server", async (t) => {
  t.same(
    apiServerTargets({
      server: "https://127.0.0.1:6443",
      servers: ["https://10.0.0.2:7443", "https://127.0.0.1:6443"],
    }),
    [
      { host: "127.0.0.1", port: 6443 },
      { host: "10.0.0.2", port: 7443 },
    ],
  );
  t.same(apiServerTargets({ server: "https://[::1]" }), [{ host: "::1", port: 443 }]);
  t.same(apiServerTargets({ server: "" }), []);
  t.equal(gatewaySocketPath("/d", "n", "apiserver.sock"), "/d/gateway/apiserver.sock");
  t.match(
    gatewaySocketPath(`/${"d".repeat(120)}`, "n", "apiserver.sock"),
    /skiff-gateway-n-apiserver\.sock$/,
  );

  const dir = mkdtempSync(join(tmpdir(), "skiff-relay-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The "API server": answers what it got once the client half-closed.
  const api = createServer({ allowHalfOpen: true }, (s) => {
    let got = "";
    s.on("data", (b: Buffer) => {
      got += b.toString();
    });
    s.on("end", () => s.end(`api got:${got}`));
  });
  await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
  t.teardown(() => new Promise<void>((r) => api.close(() => r())));
  const port = (api.address() as { port: number }).port;
  const relay = new ApiServerRelay({
    socketPath: join(dir, "gateway", "apiserver.sock"),
    targets: () => [
      { host: "127.0.0.1", port: 1 },
      { host: "127.0.0.1", port },
    ],
    logger,
  });
  await relay.listen();
  t.teardown(() => relay.close());
  const ask = (first: string) =>
    new Promise<string>((resolve, reject) => {
      const c = connect({ path: join(dir, "gateway", "apiserver.sock"), allowHalfOpen: true });
      let out = "";
      c.on("data", (b: Buffer) => {
        out += b.toString();
      });
      c.on("close", () => resolve(out));
      c.on("error", reject);
      c.end(first);
    });
  t.equal(
    await ask("PROXY TCP4 10.244.0.5 10.244.0.1 40000 6443\r\nGET / HTTP/1.1\r\n\r\n"),
    "api got:GET / HTTP/1.1\r\n\r\n",
    "the line is dropped, the rest piped (after a refused first target)",
  );
  t.equal(await ask("GET / HTTP/1.1\r\n\r\n"), "", "a connection without a PROXY line is closed");
});

t.test(
  "the kubelet's gateway: tcp:6443 in the node namespace reaches the API server",
  { skip },
  async (t) => {
    const { ns, dir } = newNetns(t);
    const api = createServer({ allowHalfOpen: true }, (s) => {
      let got = "";
      s.on("data", (b: Buffer) => {
        got += b.toString();
      });
      s.on("end", () => s.end(`api got:${got}`));
    });
    await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
    t.teardown(() => new Promise<void>((r) => api.close(() => r())));
    const port = (api.address() as { port: number }).port;
    const gw = new KubeletGateway({
      nodeName: "gt",
      dataDir: dir,
      netns: ns,
      nodeIP: () => "10.244.0.1",
      client: { server: `https://127.0.0.1:${port}` },
      listeners: [],
      logger,
    });
    t.teardown(() => gw.stop());
    await gw.start();
    t.ok(existsSync(join(dir, "gateway", "apiserver.sock")), "the relay's socket under the data dir");
    const out = await inNetns(ns, TCP_CLIENT, String(APISERVER_GATEWAY_PORT), "a");
    t.match(out, /REPLY:api got:ping\n/, "piped through the gateway and the relay");
    await gw.stop();
    t.notOk(existsSync(join(dir, "gateway", "apiserver.sock")), "the socket is removed at stop");
  },
);
