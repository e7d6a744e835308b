/**
 * The peer transports: the shared contract (transport-contract.ts) against TCP on 127.0.0.1 and
 * against the simulator's network, then what only TCP has: the handshake, hostile bytes, the
 * frame reader, backpressure from a peer that never reads, metrics, and a clean stop().
 */
import { connect, createServer, type Socket } from "node:net";
import { MessageType, message, type NodeId, SeededRand } from "@skiff/raft";
import { Scheduler } from "@skiff/raft/sim";
import { freePort, waitFor } from "@skiff/testkit";
import { Registry } from "prom-client";
import t from "tap";
import { TcpTransport, type TcpTransportOptions } from "../src/raftnode/tcp-transport.js";
import {
  decodeFrame,
  encodeHello,
  encodeMessage,
  FrameKind,
  FrameReader,
  protocolVersion,
  snapChunkHeader,
} from "../src/raftnode/transport-frame.js";
import { SimNet, SimTransport } from "../src/sim/transport.js";
import { Inbox, type MakePair, type Member, type PairEnv, transportContract } from "./transport-contract.js";

const token = "s3cret-cluster-token";
const host = "127.0.0.1";

/** Polls a condition on real time (TCP): waiting for a state, never sleeping a fixed time. */
async function waitReal(cond: () => boolean, what: string, deadlineMs = 30_000): Promise<void> {
  await waitFor(cond, { what, timeoutMs: deadlineMs, intervalMs: 5 });
}

interface TcpMember extends Member {
  readonly transport: TcpTransport;
}

async function tcpMember(
  id: NodeId,
  port: number,
  extra: Partial<TcpTransportOptions> = {},
): Promise<TcpMember> {
  const rand = new SeededRand(id);
  const transport = new TcpTransport({
    id,
    listen: { host, port },
    clusterToken: token,
    backoff: { baseMs: 20, maxMs: 200 },
    pingIntervalMs: 100,
    random: () => rand.float(),
    metrics: new Registry(),
    ...extra,
  });
  const inbox = new Inbox();
  await transport.start(inbox);
  return { id, transport, inbox };
}

const makeTcpPair: MakePair = async ({ maxQueueBytes }) => {
  const a = await tcpMember(1, 0, { maxQueueBytes });
  // b restarts on the same port: a reserved one, since a port from bind(0) is in the ephemeral
  // range, where another process's connection can take it while b is down.
  let b = await tcpMember(2, await freePort(), { maxQueueBytes });
  const bPort = b.transport.port;
  a.transport.addPeer(2, `${host}:${bPort}`);
  b.transport.addPeer(1, `${host}:${a.transport.port}`);
  const all = [a, b];
  const env: PairEnv = {
    a,
    get b() {
      return b;
    },
    async restartB() {
      b = await tcpMember(2, bPort, { maxQueueBytes });
      b.transport.addPeer(1, `${host}:${a.transport.port}`);
      all.push(b);
      return b;
    },
    waitFor: (cond, what) => waitReal(cond, what),
    async close() {
      await Promise.all(all.map((m) => m.transport.stop()));
    },
  };
  return env;
};

/** The simulator's pair: time passes only when waitFor runs the scheduler. */
const makeSimPair: MakePair = async ({ maxQueueBytes }) => {
  const scheduler = new Scheduler();
  const net = new SimNet({ scheduler, rand: new SeededRand(42), minDelayMs: 1, maxDelayMs: 20 });
  const member = async (id: NodeId, peer: NodeId): Promise<Member> => {
    const transport = new SimTransport(net, id, { maxQueueBytes });
    const inbox = new Inbox();
    await transport.start(inbox);
    transport.addPeer(peer, `sim:${peer}`);
    return { id, transport, inbox };
  };
  const a = await member(1, 2);
  let b = await member(2, 1);
  return {
    a,
    get b() {
      return b;
    },
    async restartB() {
      b = await member(2, 1);
      return b;
    },
    async waitFor(cond, what) {
      const end = scheduler.now + 60_000;
      while (!cond()) {
        if (scheduler.now >= end) throw new Error(`simulated deadline passed waiting for ${what}`);
        scheduler.runUntil(scheduler.now + 1);
      }
    },
    async close() {
      await a.transport.stop();
      await b.transport.stop();
    },
  };
};

transportContract(t, "tcp", makeTcpPair);
transportContract(t, "sim", makeSimPair);

// --- Simulator only --------------------------------------------------------------------------------

t.test("sim: partitions, drops and duplicates are seeded and reported", async (t) => {
  const run = (seed: number) => {
    const scheduler = new Scheduler();
    const net = new SimNet({
      scheduler,
      rand: new SeededRand(seed),
      dropRate: 0.1,
      dupRate: 0.1,
      maxDelayMs: 30,
    });
    const a = new SimTransport(net, 1);
    const b = new SimTransport(net, 2);
    const ia = new Inbox();
    const ib = new Inbox();
    void a.start(ia);
    void b.start(ib);
    a.addPeer(2, "");
    b.addPeer(1, "");
    for (let i = 1; i <= 200; i++)
      a.send([message({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: i })]);
    scheduler.runUntil(1000);
    const beforeCut = ib.messages.map((m) => m.term);
    net.cut(1, 2);
    a.send([message({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 1000 })]);
    b.send([message({ type: MessageType.MsgHeartbeat, from: 2, to: 1, term: 2000 })]);
    scheduler.runUntil(2000);
    return { beforeCut, ia, ib, stats: { ...net.stats } };
  };
  const r = run(7);
  const terms = r.beforeCut;
  t.ok(terms.length > 150 && terms.length < 260, `drops and duplicates happened (${terms.length} delivered)`);
  t.ok(
    terms.every((x, i) => i === 0 || x >= (terms[i - 1] ?? 0)),
    "order kept on the link despite random delays",
  );
  t.ok(r.stats.lost > 0 && r.stats.duplicated > 0, "lost and duplicated counted");
  t.strictSame(r.ia.unreachable, [2], "cut reported once to the sender");
  t.notOk(
    r.ib.messages.some((m) => m.term === 1000),
    "nothing crosses a cut link",
  );
  t.ok(
    r.ia.messages.some((m) => m.term === 2000),
    "a one-way cut leaves the other direction up",
  );
  t.strictSame(run(7), r, "same seed, same run");
  t.notSame(run(8).beforeCut, terms, "another seed, another run");
});

// --- TCP only --------------------------------------------------------------------------------------

/** A raw client socket, for speaking (or breaking) the protocol by hand. */
function raw(port: number): { socket: Socket; closed: Promise<void>; connected: Promise<void> } {
  const socket = connect({ host, port });
  socket.on("error", () => {});
  return {
    socket,
    connected: new Promise((resolve) => socket.once("connect", () => resolve())),
    closed: new Promise((resolve) => socket.once("close", () => resolve())),
  };
}

async function counterValue(
  reg: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = reg.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  let sum = 0;
  for (const v of values) {
    const l = v.labels as Record<string, unknown>;
    if (Object.entries(labels).every(([k, x]) => l[k] === x)) sum += v.value;
  }
  return sum;
}

const hb = (from: NodeId, to: NodeId, term: number) =>
  message({ type: MessageType.MsgHeartbeat, from, to, term });

t.test("tcp: a message sent just before its peer is removed still goes out", async (t) => {
  const a = await tcpMember(1, 0);
  const b = await tcpMember(2, 0);
  t.teardown(async () => {
    await a.transport.stop();
    await b.transport.stop();
  });
  a.transport.addPeer(2, `${host}:${b.transport.port}`);
  a.transport.send([hb(1, 2, 1)]);
  await waitReal(() => b.inbox.messages.length === 1, "the first heartbeat");
  // In one synchronous step, as a leader applying a RemoveNode right after its last message.
  a.transport.send([hb(1, 2, 2)]);
  a.transport.removePeer(2);
  await waitReal(() => b.inbox.messages.length === 2, "the heartbeat sent before the removal");
  t.equal(b.inbox.messages[1]?.term, 2);
});

t.test("tcp: the handshake", async (t) => {
  const b = await tcpMember(2, 0);
  t.teardown(() => b.transport.stop());
  const reg = b.transport.registry;
  const rejected = (reason: string) =>
    counterValue(reg, "skiff_transport_rejected_connections_total", { reason });

  t.test("a wrong cluster token is refused, and its messages never reach the handler", async (t) => {
    const c = raw(b.transport.port);
    await c.connected;
    c.socket.write(encodeHello({ version: protocolVersion, clusterToken: "wrong", from: 1, to: 2 }));
    c.socket.write(encodeMessage(hb(1, 2, 5)));
    await c.closed;
    t.equal(await rejected("bad_token"), 1);
    // A whole transport with the wrong token: it keeps being refused and reports b unreachable.
    const intruder = await tcpMember(1, 0, { clusterToken: "not-the-token" });
    t.teardown(() => intruder.transport.stop());
    intruder.transport.addPeer(2, `${host}:${b.transport.port}`);
    intruder.transport.send([hb(1, 2, 6)]);
    await waitReal(() => intruder.inbox.unreachable.length > 0, "intruder told unreachable");
    t.ok((await rejected("bad_token")) >= 2, "counted");
    t.equal(intruder.transport.peerStats(2)?.connected, false);
    t.strictSame(b.inbox.messages, [], "nothing delivered");
  });

  t.test("a hello for another member, an old version or no hello at all is refused", async (t) => {
    const wrongTo = raw(b.transport.port);
    wrongTo.socket.write(encodeHello({ version: protocolVersion, clusterToken: token, from: 1, to: 99 }));
    wrongTo.socket.write(encodeMessage(hb(1, 99, 5)));
    await wrongTo.closed;
    t.equal(await rejected("wrong_to"), 1);
    const oldVersion = raw(b.transport.port);
    oldVersion.socket.write(encodeHello({ version: 0, clusterToken: token, from: 1, to: 2 }));
    await oldVersion.closed;
    t.equal(await rejected("bad_version"), 1);
    const first = raw(b.transport.port);
    first.socket.write(encodeMessage(hb(1, 2, 5)));
    await first.closed;
    t.equal(await rejected("bad_frame"), 1, "a message before the hello");
    t.strictSame(b.inbox.messages, []);
  });

  t.test("a silent connection is closed after the handshake timeout", async (t) => {
    const quick = await tcpMember(3, 0, { handshakeTimeoutMs: 100 });
    t.teardown(() => quick.transport.stop());
    const c = raw(quick.transport.port);
    await c.closed;
    t.equal(await counterValue(quick.transport.registry, "skiff_transport_rejected_connections_total"), 1);
  });

  t.test("after a good hello, a message claiming another sender is dropped", async (t) => {
    const c = raw(b.transport.port);
    c.socket.write(encodeHello({ version: protocolVersion, clusterToken: token, from: 1, to: 2 }));
    c.socket.write(encodeMessage(hb(3, 2, 10)));
    c.socket.write(encodeMessage(hb(1, 2, 11)));
    await waitReal(() => b.inbox.messages.length > 0, "the honest message");
    t.strictSame(
      b.inbox.messages.map((m) => [m.from, m.term]),
      [[1, 11]],
    );
    t.equal(await counterValue(reg, "etcd_network_peer_received_failures_total", { From: "1" }), 1);
    c.socket.destroy();
    await c.closed;
  });
});

t.test("tcp: hostile bytes close that connection only", async (t) => {
  const a = await tcpMember(1, 0);
  const b = await tcpMember(2, 0, { maxFrameBytes: 2 * 1024 * 1024, snapshotChunkBytes: 1024 * 1024 });
  t.teardown(() => Promise.all([a.transport.stop(), b.transport.stop()]));
  const port = b.transport.port;
  const hello = encodeHello({ version: protocolVersion, clusterToken: token, from: 1, to: 2 });
  const lengthOnly = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  const attacks: [string, Buffer[]][] = [
    ["an HTTP request", [Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")]],
    ["random bytes", [Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 97 + 13) & 0xff))]],
    ["a 4 GiB length prefix before the hello", [lengthOnly(0xffffffff)]],
    ["a zero length prefix", [lengthOnly(0)]],
    ["a 4 GiB length prefix after the hello", [hello, lengthOnly(0xffffffff)]],
    [
      "undecodable msgpack after the hello",
      [hello, Buffer.concat([lengthOnly(2), Buffer.from([0xc1, 0xc1])])],
    ],
    [
      "a message of the wrong shape",
      [hello, Buffer.concat([lengthOnly(3), Buffer.from([0x92, 0x01, 0x07])])],
    ],
    ["a chunk without a header", [hello, snapChunkHeader(0)]],
  ];
  for (const [what, bufs] of attacks) {
    const c = raw(port);
    for (const buf of bufs) c.socket.write(buf);
    await c.closed;
    t.pass(`closed: ${what}`);
  }
  t.strictSame(b.inbox.messages, [], "nothing delivered");
  a.transport.addPeer(2, `${host}:${port}`);
  a.transport.send([hb(1, 2, 1)]);
  await waitReal(() => b.inbox.messages.length === 1, "an honest message");
  t.pass("the listener still serves honest peers");
});

t.test("tcp: the frame reader splits any chunking of a stream the same way", async (t) => {
  const frames = [
    encodeHello({ version: 1, clusterToken: "x", from: 1, to: 2 }),
    encodeMessage(hb(1, 2, 3)),
    Buffer.concat([snapChunkHeader(5000), Buffer.alloc(5000, 7)]),
    encodeMessage(hb(1, 2, 4)),
  ];
  const stream = Buffer.concat(frames);
  const rand = new SeededRand(3);
  for (let round = 0; round < 50; round++) {
    const reader = new FrameReader(1 << 20);
    const kinds: number[] = [];
    for (let off = 0; off < stream.length; ) {
      const n = 1 + rand.intn(round < 10 ? 3 : 4000);
      reader.push(stream.subarray(off, off + n), (p) => {
        kinds.push(decodeFrame(p).kind);
        return true;
      });
      off += n;
    }
    if (kinds.join() !== [FrameKind.Hello, FrameKind.Msg, FrameKind.SnapChunk, FrameKind.Msg].join())
      t.fail(`round ${round}: ${kinds}`);
  }
  t.pass("50 random chunkings");
});

t.test("tcp: a peer that never reads costs bounded memory", async (t) => {
  // Accepts and never reads: the kernel buffers fill, then the socket's, then our queue.
  const sockets = new Set<Socket>();
  const sink = createServer((s) => {
    s.pause();
    sockets.add(s);
  });
  await new Promise<void>((resolve) => sink.listen(0, host, resolve));
  const addr = sink.address();
  const sinkPort = typeof addr === "object" && addr !== null ? addr.port : 0;
  const bound = 1024 * 1024;
  const a = await tcpMember(1, 0, { maxQueueBytes: bound, deadAfterMs: 60_000 });
  t.teardown(async () => {
    await a.transport.stop();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => sink.close(resolve));
  });
  a.transport.addPeer(9, `${host}:${sinkPort}`);
  const big = new Uint8Array(64 * 1024);
  let maxQueued = 0;
  await waitReal(() => {
    for (let i = 0; i < 16; i++)
      a.transport.send([
        message({
          type: MessageType.MsgApp,
          from: 1,
          to: 9,
          entries: [{ term: 1, index: i, type: 0, data: big }],
        }),
      ]);
    maxQueued = Math.max(maxQueued, a.transport.peerStats(9)?.queuedBytes ?? 0);
    return (a.transport.peerStats(9)?.dropped ?? 0) > 100;
  }, "drops at the bound");
  t.ok(maxQueued <= bound, `queue stayed within the bound (max ${maxQueued})`);
  t.ok(
    (await counterValue(a.transport.registry, "skiff_transport_dropped_messages_total", { peer: "9" })) > 100,
  );
  t.strictSame(a.inbox.unreachable, [9], "reported unreachable once for the drop episode");
});

t.test("tcp: a snapshot cut short is reported failed; the stream recovers", async (t) => {
  const a = await tcpMember(1, 0);
  const b = await tcpMember(2, 0, { maxSnapshotBytes: 4 * 1024 * 1024 });
  t.teardown(() => Promise.all([a.transport.stop(), b.transport.stop()]));
  a.transport.addPeer(2, `${host}:${b.transport.port}`);
  const snap = (size: number) =>
    message({
      type: MessageType.MsgSnap,
      from: 1,
      to: 2,
      term: 2,
      snapshot: {
        metadata: { index: 5, term: 2, confState: { voters: [1, 2], learners: [] } },
        data: new Uint8Array(size),
      },
    });
  // 32 MiB announced, 4 MiB allowed: b closes the stream at the header, mid-transfer for a.
  a.transport.send([snap(32 * 1024 * 1024)]);
  await waitReal(() => a.inbox.snapshotStatus.length === 1, "first snapshot status");
  t.strictSame(a.inbox.snapshotStatus, [[2, false]], "sender told: failed");
  t.equal(
    await counterValue(b.transport.registry, "etcd_network_peer_received_failures_total", { From: "1" }),
    1,
  );
  // While a redials, a snapshot fails at once (Raft's leader retries it); once connected it goes.
  await waitReal(() => a.transport.peerStats(2)?.connected === true, "a redialed b");
  a.transport.send([snap(512 * 1024), hb(1, 2, 9)]);
  await waitReal(() => b.inbox.messages.length === 2, "next snapshot and a message");
  t.strictSame(
    a.inbox.snapshotStatus,
    [
      [2, false],
      [2, true],
    ],
    "the next snapshot succeeds after the redial",
  );
  t.equal(b.inbox.messages[0]?.snapshot?.data.length, 512 * 1024);
});

t.test("tcp: metrics under etcd's names, and round-trip times from pings", async (t) => {
  const a = await tcpMember(1, 0);
  const b = await tcpMember(2, 0);
  t.teardown(() => Promise.all([a.transport.stop(), b.transport.stop()]));
  a.transport.addPeer(2, `${host}:${b.transport.port}`);
  a.transport.send([hb(1, 2, 1)]);
  await waitReal(() => b.inbox.messages.length === 1, "a message");
  const rtt = async () => {
    const m = await a.transport.registry.getSingleMetric("etcd_network_peer_round_trip_time_seconds")?.get();
    return (
      m?.values.find(
        (v) =>
          (v as { metricName?: string }).metricName === "etcd_network_peer_round_trip_time_seconds_count",
      )?.value ?? 0
    );
  };
  const count = await waitFor(async () => ((await rtt()) >= 2 ? rtt() : undefined), {
    what: "round-trip times from two pings",
  });
  t.ok(count >= 2, `round trips observed (${count})`);
  t.ok((await counterValue(a.transport.registry, "etcd_network_peer_sent_bytes_total", { To: "2" })) > 0);
  t.ok(
    (await counterValue(b.transport.registry, "etcd_network_peer_received_bytes_total", { From: "1" })) > 0,
  );
  t.equal(await counterValue(a.transport.registry, "etcd_network_active_peers", { Remote: "2" }), 1);
  const text = await a.transport.registry.metrics();
  for (const name of [
    "etcd_network_peer_sent_failures_total",
    "skiff_transport_dropped_messages_total",
    "skiff_transport_queued_bytes",
  ])
    t.match(text, name);
});

t.test("tcp: stop() closes every socket, listener and timer", async (t) => {
  const count = () => {
    const out: Record<string, number> = {};
    for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
    return { tcp: (out.TCPSocketWrap ?? 0) + (out.TCPServerWrap ?? 0), timers: out.Timeout ?? 0 };
  };
  const before = count();
  const a = await tcpMember(1, 0);
  const b = await tcpMember(2, 0);
  a.transport.addPeer(2, `${host}:${b.transport.port}`);
  b.transport.addPeer(1, `${host}:${a.transport.port}`);
  a.transport.addPeer(3, `${host}:1`); // nobody there: a reconnect timer is pending at stop()
  const half = raw(b.transport.port); // a handshake in progress at stop()
  a.transport.send([hb(1, 2, 1)]);
  b.transport.send([hb(2, 1, 1)]);
  await waitReal(() => a.inbox.messages.length === 1 && b.inbox.messages.length === 1, "traffic");
  await waitReal(() => a.inbox.unreachable.includes(3), "dial to a dead port failed");
  t.ok(count().tcp > before.tcp, "sockets were open");
  await Promise.all([a.transport.stop(), b.transport.stop()]);
  await half.closed;
  // A stopped transport ignores sends.
  a.transport.send([hb(1, 2, 2)]);
  t.strictSame(count(), before, "back to the handles open before");
});
