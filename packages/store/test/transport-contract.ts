/**
 * The one contract every Transport meets (TCP and the simulator's network), run by
 * transport.test.ts against each. A harness hides how time passes: real I/O for TCP, the
 * scheduler for the simulator.
 */
import { type Entry, EntryType, type Message, MessageType, message, type NodeId } from "@skiff/raft";
import type { Test } from "tap";
import type { Transport, TransportHandler } from "../src/raftnode/transport.js";
import type { TransportStats } from "../src/raftnode/transport-metrics.js";

/** A handler that records everything, for assertions. */
export class Inbox implements TransportHandler {
  readonly messages: Message[] = [];
  readonly unreachable: NodeId[] = [];
  readonly snapshotStatus: [NodeId, boolean][] = [];
  onMessage(m: Message): void {
    this.messages.push(m);
  }
  onUnreachable(id: NodeId): void {
    this.unreachable.push(id);
  }
  onSnapshotStatus(id: NodeId, ok: boolean): void {
    this.snapshotStatus.push([id, ok]);
  }
}

export interface Member {
  readonly id: NodeId;
  readonly transport: Transport & TransportStats;
  readonly inbox: Inbox;
}

export interface PairEnv {
  readonly a: Member;
  /** Member b as it is now (restartB replaces it). */
  readonly b: Member;
  /** Brings b back after b.transport.stop(): a fresh transport and inbox, same id and address. */
  restartB(): Promise<Member>;
  /** Lets time pass (real or simulated) until cond() holds; fails the test after the deadline. */
  waitFor(cond: () => boolean, what: string): Promise<void>;
  /** Stops whatever is still running. */
  close(): Promise<void>;
}

export type MakePair = (opts: { maxQueueBytes?: number }) => Promise<PairEnv>;

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

function entries(n: number, size: number, firstIndex: number): Entry[] {
  return Array.from({ length: n }, (_, i) => ({
    term: 3,
    index: firstIndex + i,
    type: i % 7 === 6 ? EntryType.ConfChange : EntryType.Normal,
    data: bytes(size, i),
  }));
}

/** A mix of every field a transport must carry: entries, context, snapshot, rejects, big numbers. */
function varied(from: NodeId, to: NodeId, n: number): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < n; i++) {
    switch (i % 5) {
      case 0:
        out.push(
          message({
            type: MessageType.MsgApp,
            from,
            to,
            term: 3,
            logTerm: 2,
            index: 100 + i,
            commit: 99,
            entries: entries(1 + (i % 4), 10 + i, 101 + i),
          }),
        );
        break;
      case 1:
        out.push(
          message({
            type: MessageType.MsgAppResp,
            from,
            to,
            term: 3,
            index: 2 ** 40 + i,
            reject: true,
            rejectHint: 7,
          }),
        );
        break;
      case 2:
        out.push(
          message({ type: MessageType.MsgHeartbeat, from, to, term: 3, commit: i, context: bytes(8, i) }),
        );
        break;
      case 3:
        out.push(
          message({
            type: MessageType.MsgVote,
            from,
            to,
            term: 4,
            logTerm: 3,
            index: i,
            context: new Uint8Array(0),
          }),
        );
        break;
      default:
        out.push(
          message({
            type: MessageType.MsgSnap,
            from,
            to,
            term: 3,
            snapshot: {
              metadata: { index: 50 + i, term: 2, confState: { voters: [from, to], learners: [9] } },
              data: bytes(100 + i, i),
            },
          }),
        );
    }
  }
  return out;
}

/** A comparable form: Uint8Array and Buffer both become plain arrays, every field named. */
function plain(m: Message): unknown {
  const b = (u: Uint8Array | undefined) => (u === undefined ? undefined : Array.from(u));
  return {
    type: m.type,
    to: m.to,
    from: m.from,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    commit: m.commit,
    reject: m.reject,
    rejectHint: m.rejectHint,
    context: b(m.context),
    entries: m.entries.map((e) => ({ term: e.term, index: e.index, type: e.type, data: b(e.data) })),
    snapshot:
      m.snapshot === undefined ? undefined : { metadata: m.snapshot.metadata, data: b(m.snapshot.data) },
  };
}

const isMarker = (m: Message, term: number) => m.type === MessageType.MsgHeartbeat && m.term === term;
const marker = (from: NodeId, to: NodeId, term: number) =>
  message({ type: MessageType.MsgHeartbeat, from, to, term });

export function transportContract(t: Test, name: string, makePair: MakePair): Promise<void> {
  return t
    .test(`${name}: transport contract`, async (t) => {
      t.test("messages arrive in order per peer, every field intact, both ways", async (t) => {
        const env = await makePair({});
        t.teardown(() => env.close());
        const { a, b } = env;
        const ab = varied(a.id, b.id, 200);
        const ba = varied(b.id, a.id, 50);
        // Many small batches: order must hold across send() calls, not only within one.
        for (let i = 0; i < ab.length; i += 7) a.transport.send(ab.slice(i, i + 7));
        b.transport.send(ba);
        await env.waitFor(
          () => b.inbox.messages.length >= ab.length && a.inbox.messages.length >= ba.length,
          "all messages",
        );
        t.strictSame(b.inbox.messages.map(plain), ab.map(plain), "a -> b in order, intact");
        t.strictSame(a.inbox.messages.map(plain), ba.map(plain), "b -> a in order, intact");
        const snaps = ab.filter((m) => m.type === MessageType.MsgSnap).length;
        await env.waitFor(() => a.inbox.snapshotStatus.length >= snaps, "snapshot reports");
        t.ok(
          a.inbox.snapshotStatus.every(([id, ok]) => id === b.id && ok),
          "every small snapshot reported delivered",
        );
        t.equal(a.transport.peerStats(b.id)?.dropped, 0, "nothing dropped");
      });

      t.test("a 5 MiB snapshot arrives whole, in order with the messages around it", async (t) => {
        const env = await makePair({});
        t.teardown(() => env.close());
        const { a, b } = env;
        const data = bytes(5 * 1024 * 1024 + 123, 7);
        const snap = message({
          type: MessageType.MsgSnap,
          from: a.id,
          to: b.id,
          term: 5,
          snapshot: {
            metadata: { index: 1000, term: 4, confState: { voters: [a.id, b.id], learners: [] } },
            data,
          },
        });
        a.transport.send([marker(a.id, b.id, 1), snap, marker(a.id, b.id, 2)]);
        await env.waitFor(() => b.inbox.messages.length >= 3, "snapshot and markers");
        t.strictSame(
          b.inbox.messages.map((m) => m.type),
          [MessageType.MsgHeartbeat, MessageType.MsgSnap, MessageType.MsgHeartbeat],
        );
        const got = b.inbox.messages[1]?.snapshot;
        t.equal(got?.data.length, data.length, "size");
        t.ok(got !== undefined && Buffer.from(got.data).equals(Buffer.from(data)), "same bytes");
        t.strictSame(got?.metadata, snap.snapshot?.metadata, "metadata");
        await env.waitFor(() => a.inbox.snapshotStatus.length > 0, "snapshot status");
        t.strictSame(a.inbox.snapshotStatus, [[b.id, true]], "sender told: delivered");
      });

      t.test("a down peer: onUnreachable, bounded queue, failed snapshot, then reconnect", async (t) => {
        const bound = 256 * 1024;
        const env = await makePair({ maxQueueBytes: bound });
        t.teardown(() => env.close());
        const { a } = env;
        const bId = env.b.id;
        a.transport.send([marker(a.id, bId, 1)]);
        await env.waitFor(() => env.b.inbox.messages.length === 1, "first message");

        await env.b.transport.stop();
        await env.waitFor(() => a.inbox.unreachable.includes(bId), "onUnreachable(b)");
        // 4 MiB of appends for a dead peer: most must be dropped, never held.
        for (let i = 0; i < 512; i++)
          a.transport.send([
            message({
              type: MessageType.MsgApp,
              from: a.id,
              to: bId,
              term: 3,
              index: i,
              entries: entries(1, 8192, i + 1),
            }),
          ]);
        const stats = a.transport.peerStats(bId);
        t.ok((stats?.dropped ?? 0) > 0, `dropped counted (${stats?.dropped})`);
        t.ok(
          (stats?.queuedBytes ?? Number.POSITIVE_INFINITY) <= bound,
          `queued ${stats?.queuedBytes} <= ${bound}`,
        );
        const snapshot = {
          metadata: { index: 9, term: 2, confState: { voters: [a.id, bId], learners: [] } },
          data: bytes(10, 1),
        };
        a.transport.send([message({ type: MessageType.MsgSnap, from: a.id, to: bId, term: 3, snapshot })]);
        await env.waitFor(() => a.inbox.snapshotStatus.length > 0, "snapshot status");
        t.strictSame(a.inbox.snapshotStatus, [[bId, false]], "snapshot to a down peer fails");

        const b2 = await env.restartB();
        a.transport.send([marker(a.id, bId, 77)]);
        await env.waitFor(() => b2.inbox.messages.some((m) => isMarker(m, 77)), "a -> b after restart");
        b2.transport.send([marker(bId, a.id, 78)]);
        await env.waitFor(() => a.inbox.messages.some((m) => isMarker(m, 78)), "b -> a after restart");
        await env.waitFor(() => a.transport.peerStats(bId)?.connected === true, "a sees b connected");
        t.pass("messages flow again");
      });
    })
    .then(() => undefined);
}
