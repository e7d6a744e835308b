/**
 * The peer transport of the deterministic simulator: every member's SimTransport sends through
 * one shared SimNet, which delivers each message after a delay drawn from the seed, may drop or
 * duplicate it, and can cut links one way or both. No wall clock and no Math.random: the same
 * seed and the same calls give the same deliveries, event for event (docs/transport.md).
 */
import { type Message, MessageType, type NodeId, type Rand } from "@skiff/raft";
import type { Scheduler } from "@skiff/raft/sim";
import type { Transport, TransportHandler } from "../raftnode/transport.js";
import type { PeerStats, TransportStats } from "../raftnode/transport-metrics.js";

export interface SimNetOptions {
  readonly scheduler: Scheduler;
  /** The only source of randomness (e.g. a SeededRand forked from the run's seed). */
  readonly rand: Rand;
  /** Delay of each message, uniform in [min, max] simulated ms (default 1..5). */
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Probability that a message is lost on the wire (default 0). */
  readonly dropRate?: number;
  /** Probability that a message is delivered twice (default 0). */
  readonly dupRate?: number;
  /** Keep each link's messages in send order, as one TCP stream does (default true). */
  readonly ordered?: boolean;
}

export interface SimNetStats {
  sent: number;
  delivered: number;
  /** Lost on the wire (random drops) or at a cut link / a member that is down. */
  lost: number;
  duplicated: number;
}

const linkKey = (from: NodeId, to: NodeId) => `${from}>${to}`;

/** Bytes a message would take on the wire, roughly: what the per-link bound counts. */
function approxBytes(m: Message): number {
  let n = 64 + (m.context?.length ?? 0);
  for (const e of m.entries) n += 24 + e.data.length;
  return n;
}

export class SimNet {
  readonly stats: SimNetStats = { sent: 0, delivered: 0, lost: 0, duplicated: 0 };
  readonly scheduler: Scheduler;
  private readonly rand: Rand;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly ordered: boolean;
  dropRate: number;
  dupRate: number;
  /** The running member of each id (a restarted member is a new SimTransport). */
  private readonly members = new Map<NodeId, SimTransport>();
  private readonly cuts = new Set<string>();
  /** Per link: when its last message arrives (ordered mode never schedules one before it). */
  private readonly lastArrival = new Map<string, number>();

  constructor(opts: SimNetOptions) {
    this.scheduler = opts.scheduler;
    this.rand = opts.rand;
    this.minDelayMs = opts.minDelayMs ?? 1;
    this.maxDelayMs = opts.maxDelayMs ?? 5;
    if (!(this.maxDelayMs >= this.minDelayMs && this.minDelayMs >= 0))
      throw new Error("sim net: bad delay range");
    this.ordered = opts.ordered ?? true;
    this.dropRate = opts.dropRate ?? 0;
    this.dupRate = opts.dupRate ?? 0;
  }

  /** Cuts the link from -> to (one way); cut(b, a) too for both ways. */
  cut(from: NodeId, to: NodeId): void {
    this.cuts.add(linkKey(from, to));
    // The sender notices, as a TCP sender notices its broken stream.
    this.scheduler.after(0, () => this.members.get(from)?.linkDown(to));
  }

  heal(from: NodeId, to: NodeId): void {
    this.cuts.delete(linkKey(from, to));
  }

  /** Cuts every link between the two groups, both ways. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a)
      for (const y of b) {
        this.cut(x, y);
        this.cut(y, x);
      }
  }

  healAll(): void {
    this.cuts.clear();
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cuts.has(linkKey(from, to));
  }

  /** Whether `id` has a running member on the network. */
  isUp(id: NodeId): boolean {
    return this.members.has(id);
  }

  join(t: SimTransport): void {
    if (this.members.has(t.id)) throw new Error(`sim net: member ${t.id} is already up`);
    this.members.set(t.id, t);
  }

  leave(t: SimTransport): void {
    if (this.members.get(t.id) !== t) return;
    this.members.delete(t.id);
    // Its peers notice, as TCP senders notice their streams to a stopped member break.
    for (const m of this.members.values()) this.scheduler.after(0, () => m.linkDown(t.id));
  }

  /**
   * Puts m on the wire. Returns false when the link is known down (cut, or no member
   * at the other end): the sender drops and reports. `onArrive` settles the sender's accounting.
   */
  transmit(m: Message, onArrive: (delivered: boolean) => void): boolean {
    const receiver = this.members.get(m.to);
    if (receiver === undefined || this.isCut(m.from, m.to)) return false;
    this.stats.sent++;
    // A wire copy: the receiver must not share arrays with the sender's log (as after decoding).
    const wire: Message = { ...m, entries: m.entries.slice() };
    if (this.dropRate > 0 && this.rand.float() < this.dropRate) {
      this.stats.lost++;
      this.scheduler.after(this.delay(), () => onArrive(false));
      return true;
    }
    const link = linkKey(m.from, m.to);
    let at = this.scheduler.now + this.delay();
    if (this.ordered) at = Math.max(at, this.lastArrival.get(link) ?? 0);
    this.lastArrival.set(link, at);
    this.scheduler.at(at, () => onArrive(this.arrive(receiver, wire)));
    if (this.dupRate > 0 && this.rand.float() < this.dupRate) {
      this.stats.duplicated++;
      // Same time, scheduled later: right behind the original, so order still holds.
      this.scheduler.at(at, () => this.arrive(receiver, { ...wire }));
    }
    return true;
  }

  private delay(): number {
    return this.minDelayMs + this.rand.intn(this.maxDelayMs - this.minDelayMs + 1);
  }

  /** A message is checked against cuts and restarts when it arrives, as a packet would be. */
  private arrive(receiver: SimTransport, m: Message): boolean {
    if (this.isCut(m.from, m.to) || this.members.get(m.to) !== receiver) {
      this.stats.lost++;
      return false;
    }
    this.stats.delivered++;
    receiver.deliver(m);
    return true;
  }
}

export interface SimTransportOptions {
  /** Per peer: bytes in flight on the link, at most (default 64 MiB); excess is dropped. */
  readonly maxQueueBytes?: number;
}

interface SimPeer {
  inFlightBytes: number;
  dropped: number;
  sent: number;
  /** One onUnreachable per outage of the link, not one per message. */
  unreachableReported: boolean;
}

export class SimTransport implements Transport, TransportStats {
  readonly maxQueueBytes: number;
  private handler: TransportHandler | undefined;
  private running = false;
  private readonly peers = new Map<NodeId, SimPeer>();

  constructor(
    private readonly net: SimNet,
    readonly id: NodeId,
    opts: SimTransportOptions = {},
  ) {
    this.maxQueueBytes = opts.maxQueueBytes ?? 64 * 1024 * 1024;
  }

  async start(handler: TransportHandler): Promise<void> {
    if (this.handler !== undefined) throw new Error("sim transport: start() called twice");
    this.handler = handler;
    this.running = true;
    this.net.join(this);
  }

  send(messages: readonly Message[]): void {
    if (!this.running) return;
    for (const m of messages) this.sendOne(m);
  }

  addPeer(id: NodeId, _address: string): void {
    if (id === this.id) throw new Error(`sim transport: cannot add self (${id}) as a peer`);
    if (!this.peers.has(id))
      this.peers.set(id, { inFlightBytes: 0, dropped: 0, sent: 0, unreachableReported: false });
  }

  removePeer(id: NodeId): void {
    this.peers.delete(id);
  }

  peerStats(id: NodeId): PeerStats | undefined {
    const p = this.peers.get(id);
    if (p === undefined) return undefined;
    const connected = this.net.isUp(id) && !this.net.isCut(this.id, id);
    return { connected, queuedBytes: p.inFlightBytes, dropped: p.dropped, sent: p.sent };
  }

  async stop(): Promise<void> {
    this.running = false;
    this.net.leave(this);
  }

  /** Called by the net for a message that arrived. */
  deliver(m: Message): void {
    if (this.running) this.handler?.onMessage(m);
  }

  /** Called by the net when a link from this member was cut. */
  linkDown(to: NodeId): void {
    const p = this.peers.get(to);
    if (p !== undefined) this.reportUnreachable(to, p);
  }

  private sendOne(m: Message): void {
    const p = this.peers.get(m.to);
    const isSnap = m.type === MessageType.MsgSnap;
    if (p === undefined) {
      if (isSnap) this.later(() => this.handler?.onSnapshotStatus(m.to, false));
      return;
    }
    const bytes = approxBytes(m);
    if (p.inFlightBytes + bytes > this.maxQueueBytes) {
      this.drop(m, p);
      return;
    }
    const onArrive = (delivered: boolean) => {
      p.inFlightBytes -= bytes;
      if (delivered) p.unreachableReported = false;
      else if (!this.net.isUp(m.to) || this.net.isCut(m.from, m.to)) this.reportUnreachable(m.to, p);
      if (isSnap && this.running) this.handler?.onSnapshotStatus(m.to, delivered);
    };
    if (!this.net.transmit(m, onArrive)) {
      this.drop(m, p);
      return;
    }
    p.inFlightBytes += bytes;
    p.sent++;
  }

  private drop(m: Message, p: SimPeer): void {
    p.dropped++;
    this.later(() => {
      this.reportUnreachable(m.to, p);
      if (m.type === MessageType.MsgSnap) this.handler?.onSnapshotStatus(m.to, false);
    });
  }

  private reportUnreachable(to: NodeId, p: SimPeer): void {
    if (p.unreachableReported || !this.running) return;
    p.unreachableReported = true;
    this.handler?.onUnreachable(to);
  }

  /** Reports go through the scheduler: the node is never re-entered from inside its send(). */
  private later(fn: () => void): void {
    this.net.scheduler.after(0, () => {
      if (this.running) fn();
    });
  }
}
