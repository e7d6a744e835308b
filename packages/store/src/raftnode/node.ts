import { type Logger, silentLogger } from "@skiff/component-base";
import {
  bootstrapStorage,
  type ConfChange,
  ConfChangeType,
  type ConfState,
  decodeConfChange,
  type Entry,
  EntryType,
  MemoryStorage,
  type Message,
  MessageType,
  mayPrecedeWrite,
  type NodeId,
  None,
  ProposalDroppedError,
  type Rand,
  RawNode,
  type Ready,
  StateType,
} from "@skiff/raft";
import type { Clock } from "./clock.js";
import { coalesceAppends } from "./coalesce.js";
import { AppliedRequests } from "./dedup.js";
import { unwrap, wrap } from "./envelope.js";
import { errNoLeader, errStopped, errTimeout, RaftNodeError } from "./errors.js";
import type { LogStore } from "./logstore.js";
import { NodeMetrics } from "./metrics.js";
import { decodeSnapshotData, encodeSnapshotData } from "./snapshotdata.js";
import type { StateMachine } from "./statemachine.js";
import type { Transport } from "./transport.js";

export interface RaftNodeOptions {
  readonly id: NodeId;
  /** The initial cluster: member id -> peer address (used to bootstrap a new cluster). */
  readonly initialCluster: ReadonlyMap<NodeId, string>;
  /** "new": bootstrap from initialCluster if the log is empty; "existing": join, learn all from the leader. */
  readonly initialClusterState: "new" | "existing";
  readonly logStore: LogStore;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly stateMachine: StateMachine;
  readonly rand: Rand;
  /** etcd's --heartbeat-interval (ms). Default 100. */
  readonly heartbeatMs?: number;
  /** etcd's --election-timeout (ms). Default 1000. */
  readonly electionMs?: number;
  /** etcd's --snapshot-count: entries applied between snapshots. Default 10,000. */
  readonly snapshotCount?: number;
  /** Entries kept behind a snapshot so slow followers catch up by log, not snapshot. Default 5,000. */
  readonly snapshotCatchUpEntries?: number;
  /** How long a proposal or read may wait. Default 7 s (etcd: 5 s + 2 * election timeout). */
  readonly requestTimeoutMs?: number;
  /** Proposals waiting to enter the log; more are refused ("too many requests"). Default 10,000. */
  readonly maxPendingProposals?: number;
  readonly logger?: Logger;
  readonly metrics?: NodeMetrics;
  /** Testing only: acknowledge proposals before the log is synced (jepsen-lite must catch this). */
  readonly unsafeNoFsync?: boolean;
}

interface Waiter {
  resolve(v: unknown): void;
  reject(e: Error): void;
  cancel: () => void;
}

/** A ReadIndex round whose read state came back: its reads are served once `index` is applied. */
interface PendingRead {
  ctx: string;
  index: number;
}

/** A local event that arrived while a Ready was being handled; stepped after advance(). */
type Inbound = { kind: "msg"; m: Message } | { kind: "tick" } | { kind: "call"; fn: () => void };

/**
 * A durable Raft member: the pure core (RawNode) driven by a clock, with its log on a LogStore,
 * messages on a Transport and committed entries applied to a StateMachine. The same class runs
 * for real (LevelDB, TCP, wall clock) and inside the simulator (simulated disk, network, time).
 *
 * The Ready cycle (etcd's raftNode): persist entries + hard state + snapshot in one batch (fsync
 * when the Ready says so; proposals that arrived meanwhile share the next batch: group commit),
 * then send messages, then apply committed entries, then advance. Events that arrive while a
 * cycle is in progress wait in `inbox` and are stepped before the next cycle.
 */
export class RaftNode {
  readonly id: NodeId;
  readonly metrics: NodeMetrics;
  private readonly log: Logger;
  private readonly storage = new MemoryStorage();
  private rn: RawNode | undefined;
  private stopTicks: (() => void) | undefined;
  private inbox: Inbound[] = [];
  private processing = false;
  private proposals: { data: Uint8Array; id: bigint }[] = [];
  private readonly waiters = new Map<bigint, Waiter>();
  /** Proposals handed to Raft and not yet applied here, by request id: re-proposed on a leader change. */
  private readonly inflight = new Map<bigint, Uint8Array>();
  private readonly appliedRequests = new AppliedRequests();
  private reads: PendingRead[] = [];
  /** The in-memory hard state has a newer commit than the stored one (see handleReady). */
  private commitUnsaved = false;
  /**
   * Reads waiting for the next ReadIndex round. As etcd's linearizableReadLoop, one round is in
   * flight at a time and it serves every read that arrived before it was issued: one heartbeat
   * round per batch of reads instead of one per read.
   */
  private readQueue = new Set<Waiter>();
  /** The reads of each round issued and not yet served, by the round's request context. */
  private readonly readWaiters = new Map<string, Set<Waiter>>();
  /** The round in flight (no read state yet), and the cancel of its retry timer. */
  private readRound: { ctx: string; cancelRetry: () => void } | undefined;
  private nextRequest = 1n;
  /** High 32 bits of this member's request ids: from its id and the seeded generator, per start. */
  private readonly requestPrefix: bigint;
  private applied = 0;
  private snapshotIndex = 0;
  private confState: ConfState = { voters: [], learners: [] };
  private lead: NodeId = None;
  private failure: Error | undefined;
  private stopped = false;
  private readonly heartbeatMs: number;
  private readonly electionTicks: number;
  private readonly snapshotCount: number;
  private readonly catchUpEntries: number;
  private readonly requestTimeoutMs: number;
  private readonly maxPending: number;
  private readonly idle: (() => void)[] = [];
  /** Member id -> peer address: from the initial cluster, conf changes and snapshots. */
  private readonly peers = new Map<NodeId, string>();
  /** Ids of removed members, never to be added again (etcd's RaftCluster.removed). */
  private readonly removed = new Set<NodeId>();

  constructor(private readonly opts: RaftNodeOptions) {
    this.id = opts.id;
    this.log = opts.logger ?? silentLogger;
    this.metrics = opts.metrics ?? new NodeMetrics();
    this.heartbeatMs = opts.heartbeatMs ?? 100;
    const electionMs = opts.electionMs ?? 1000;
    if (!(electionMs >= 5 * this.heartbeatMs)) {
      throw new Error("--election-timeout should be at least 5 times --heartbeat-interval");
    }
    this.electionTicks = Math.round(electionMs / this.heartbeatMs);
    this.snapshotCount = opts.snapshotCount ?? 10_000;
    this.catchUpEntries = opts.snapshotCatchUpEntries ?? 5_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 5000 + 2 * electionMs;
    this.maxPending = opts.maxPendingProposals ?? 10_000;
    this.requestPrefix = BigInt.asUintN(
      32,
      (BigInt(opts.id) * 2654435761n) ^ BigInt(opts.rand.intn(0x7fffffff)),
    );
  }

  /** A request id, unique to this member and this start: 64 bits, as the envelope carries it. */
  private requestId(): bigint {
    return (this.requestPrefix << 32n) | BigInt.asUintN(32, this.nextRequest++);
  }

  /** Loads the log (refusing a damaged one), restores the state machine, starts ticking and listening. */
  async start(): Promise<void> {
    const state = await this.opts.logStore.load();
    const fresh =
      state.hardState.term === 0 && state.entries.length === 0 && state.snapshot.metadata.index === 0;
    for (const [id, addr] of this.opts.initialCluster) this.peers.set(id, addr);
    if (state.snapshot.metadata.index > 0) {
      this.storage.applySnapshot(state.snapshot);
      this.restoreSnapshotData(state.snapshot.data, state.snapshot.metadata.index);
      this.snapshotIndex = state.snapshot.metadata.index;
      this.confState = state.snapshot.metadata.confState;
    }
    this.storage.append(state.entries);
    this.storage.setHardState(state.hardState);
    if (fresh && this.opts.initialClusterState === "new") {
      const voters = [...this.opts.initialCluster.keys()].sort((a, b) => a - b);
      bootstrapStorage(this.storage, voters);
      // The bootstrap entries are persisted like any other before the node may campaign.
      await this.opts.logStore.save(
        {
          entries: this.storage.entries(1, this.storage.lastIndex() + 1, Number.MAX_SAFE_INTEGER),
          hardState: this.storage.hardState,
        },
        true,
      );
      this.confState = { voters, learners: [] };
    }
    this.applied = this.storage.snapshot().metadata.index;
    this.rn = new RawNode({
      id: this.id,
      electionTick: this.electionTicks,
      heartbeatTick: 1,
      storage: this.storage,
      applied: this.applied,
      rand: this.opts.rand,
      preVote: true,
      checkQuorum: true,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 512,
      maxUncommittedEntriesSize: 1 << 30,
    });
    for (const [id, addr] of this.peers) if (id !== this.id) this.opts.transport.addPeer(id, addr);
    await this.opts.transport.start({
      onMessage: (m) => this.enqueue({ kind: "msg", m }),
      onUnreachable: (id) => this.enqueue({ kind: "call", fn: () => this.rn?.reportUnreachable(id) }),
      onSnapshotStatus: (id, ok) => this.enqueue({ kind: "call", fn: () => this.rn?.reportSnapshot(id, ok) }),
    });
    // The voters as far as the start knows them (later conf changes are in the log).
    const voters =
      state.snapshot.metadata.index > 0 ? this.confState.voters : [...this.opts.initialCluster.keys()];
    const alone = voters.length === 1 && voters[0] === this.id;
    if (alone) {
      // The only voter has no one to hear from: it campaigns at once (etcd's adjustTicks advances
      // a lone member's election clock to the same end).
      this.enqueue({ kind: "call", fn: () => this.rn?.campaign() });
    } else if (fresh && this.opts.initialClusterState === "new") {
      // A brand-new cluster has no leader to wait for: fast-forward the election clock so the
      // first election comes after a few heartbeats, not a whole timeout (etcd advances its
      // election ticks at start the same way).
      for (let i = 0; i < this.electionTicks - 2; i++) this.enqueue({ kind: "tick" });
    }
    this.stopTicks = this.opts.clock.every(this.heartbeatMs, () => this.enqueue({ kind: "tick" }));
    this.log.info(
      {
        term: state.hardState.term,
        commit: state.hardState.commit,
        snapshot: this.snapshotIndex,
        entries: state.entries.length,
      },
      "raft member started",
    );
    this.kick();
  }

  // ---- the public API ----

  /** Proposes data; resolves with the state machine's result of applying it (on this member). */
  propose(data: Uint8Array): Promise<unknown> {
    const early = this.refuse();
    if (early !== undefined) return Promise.reject(early);
    if (this.proposals.length >= this.maxPending) {
      return Promise.reject(new RaftNodeError("Timeout", "etcdserver: too many requests"));
    }
    const id = this.requestId();
    return new Promise((resolve, reject) => {
      this.waiters.set(
        id,
        this.waiter(resolve, reject, () => this.waiters.delete(id)),
      );
      this.proposals.push({ data: wrap(id, data), id });
      this.metrics.proposalsPending.inc();
      this.kick();
    });
  }

  /**
   * Resolves once this member has applied everything committed before the call: reads from the
   * state machine after that are linearizable (ReadIndex, Raft dissertation §6.4).
   */
  readIndex(): Promise<void> {
    const early = this.refuse();
    if (early !== undefined) return Promise.reject(early);
    return new Promise((resolve, reject) => {
      const w: Waiter = this.waiter(
        () => resolve(),
        reject,
        () => {
          // Timed out: out of the queue, or out of its round.
          if (this.readQueue.delete(w)) return;
          for (const set of this.readWaiters.values()) if (set.delete(w)) return;
        },
      );
      this.readQueue.add(w);
      this.issueRead();
    });
  }

  /** Starts a ReadIndex round for the queued reads, unless one is in flight. */
  private issueRead(): void {
    if (this.readRound !== undefined || this.readQueue.size === 0 || this.stopped) return;
    const ctxBytes = wrap(this.requestId(), new Uint8Array(0));
    const ctx = Buffer.from(ctxBytes).toString("hex");
    this.readWaiters.set(ctx, this.readQueue);
    this.readQueue = new Set();
    this.metrics.readIndexRounds.inc();
    // A leader change drops the rounds it had not answered, without a word (etcd's raft too):
    // a round without an answer after an election timeout is given up and its reads go again.
    const cancelRetry = this.opts.clock.after(this.electionTicks * this.heartbeatMs, () => {
      if (this.readRound?.ctx !== ctx) return;
      this.readRound = undefined;
      const waiting = this.readWaiters.get(ctx);
      this.readWaiters.delete(ctx);
      if (waiting !== undefined) this.readQueue = new Set([...waiting, ...this.readQueue]);
      this.issueRead();
    });
    this.readRound = { ctx, cancelRetry };
    this.enqueue({
      kind: "call",
      fn: () => {
        try {
          this.rn?.readIndex(ctxBytes);
        } catch (e) {
          this.finishRead(ctx, e instanceof ProposalDroppedError ? errNoLeader() : (e as Error));
        }
      },
    });
  }

  /** Proposes a membership change; resolves when it is applied here. */
  /**
   * Proposes a membership change; resolves once this member has applied that change (matched by
   * type and node id), wherever the proposal went (a follower forwards it to the leader, and a
   * leader with a change still pending drops it: then this times out, as etcd's does).
   */
  proposeConfChange(cc: ConfChange): Promise<void> {
    const early = this.refuse();
    if (early !== undefined) return Promise.reject(early);
    return new Promise((resolve, reject) => {
      this.enqueue({
        kind: "call",
        fn: () => {
          const entry = { type: cc.type, nodeId: cc.nodeId, waiter: undefined as Waiter | undefined };
          entry.waiter = this.waiter(
            () => resolve(),
            reject,
            () => this.confWaiters.delete(entry),
          );
          this.confWaiters.add(entry);
          // The leader drops a change while another is pending (one at a time, e.g. just after
          // an election): propose again every election timeout until it is applied or the
          // request times out. A repeated change that already applied is a no-op in Raft.
          const propose = (first: boolean) => {
            if (!this.confWaiters.has(entry)) return;
            if (!first && this.reflects(cc)) {
              this.finishConfChange(cc); // applied while we waited (e.g. through a snapshot)
              return;
            }
            try {
              this.rn?.proposeConfChange(cc);
            } catch (e) {
              // No leader right now (an election): try again below, until the request times out.
              if (!(e instanceof ProposalDroppedError) && first) {
                this.confWaiters.delete(entry);
                entry.waiter?.cancel();
                reject(e as Error);
                return;
              }
            }
            this.opts.clock.after(this.opts.electionMs ?? 1000, () =>
              this.enqueue({ kind: "call", fn: () => propose(false) }),
            );
          };
          propose(true);
        },
      });
    });
  }

  /** Whether the configuration already shows the change. */
  private reflects(cc: ConfChange): boolean {
    const cs = this.confState;
    if (cc.type === ConfChangeType.RemoveNode)
      return !cs.voters.includes(cc.nodeId) && !cs.learners.includes(cc.nodeId);
    if (cc.type === ConfChangeType.AddLearnerNode) return cs.learners.includes(cc.nodeId);
    return cs.voters.includes(cc.nodeId);
  }

  /** Membership changes proposed here, waiting to be applied. */
  private readonly confWaiters = new Set<{
    type: ConfChangeType;
    nodeId: NodeId;
    waiter: Waiter | undefined;
  }>();

  private finishConfChange(cc: ConfChange, err?: Error): void {
    for (const w of this.confWaiters) {
      if (err === undefined && (w.type !== cc.type || w.nodeId !== cc.nodeId)) continue;
      this.confWaiters.delete(w);
      w.waiter?.cancel();
      if (err === undefined) w.waiter?.resolve(undefined);
      else w.waiter?.reject(err);
    }
  }

  /** Hands leadership to `to` and resolves when this member sees a different leader (or times out). */
  async transferLeadership(
    to: NodeId,
    timeoutMs = 2 * this.electionTicks * this.heartbeatMs,
  ): Promise<boolean> {
    this.enqueue({ kind: "call", fn: () => this.rn?.transferLeadership(to) });
    const deadline = this.opts.clock.now() + timeoutMs;
    return this.waitFor(() => this.lead !== this.id && this.lead !== None, deadline);
  }

  /**
   * Stops the member. With `transfer`, a leader first hands leadership to the most caught-up voter
   * so that clients see no failed request (etcd does this on SIGTERM).
   */
  async stop(opts: { transfer?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    if (opts.transfer && this.isLeader()) {
      const to = this.bestTransferee();
      if (to !== None) {
        this.log.info({ term: this.term(), to }, "transferring leadership before stopping");
        await this.transferLeadership(to);
      }
    }
    if (opts.transfer) {
      // Let the requests in flight here finish (through the new leader) before going away.
      const deadline = this.opts.clock.now() + 2 * this.electionTicks * this.heartbeatMs;
      await this.waitFor(
        () => this.waiters.size === 0 && this.readWaiters.size === 0 && this.readQueue.size === 0,
        deadline,
      );
    }
    this.stopped = true;
    this.stopTicks?.();
    await this.waitIdle();
    this.failAll(errStopped());
    await this.opts.transport.stop();
    await this.opts.logStore.close();
    this.log.info({ term: this.term() }, "raft member stopped");
  }

  /** Stops at once, as a crash would (the simulator's kill -9): nothing is flushed or handed over. */
  halt(): void {
    this.stopped = true;
    this.stopTicks?.();
    this.failAll(errStopped());
  }

  isLeader(): boolean {
    return this.rn?.raft.state === StateType.Leader;
  }

  leader(): NodeId {
    return this.lead;
  }

  term(): number {
    return this.rn?.raft.term ?? 0;
  }

  appliedIndex(): number {
    return this.applied;
  }

  commitIndex(): number {
    return this.rn?.raft.raftLog.committed ?? 0;
  }

  members(): ConfState {
    return this.confState;
  }

  /** Members removed by conf change: their ids are not reused (etcd: "membership: ID removed"). */
  removedMembers(): ReadonlySet<NodeId> {
    return this.removed;
  }

  /** The leader's match index of every member (etcd's raftStatus().Progress); undefined off the leader. */
  matchIndexes(): ReadonlyMap<NodeId, number> | undefined {
    const st = this.rn?.status();
    if (st === undefined || !this.isLeader()) return undefined;
    return new Map([...st.progress].map(([id, pr]) => [id, pr.match]));
  }

  /** Member id -> peer URL, as this member knows them (initial cluster, conf changes, snapshots). */
  peerAddresses(): ReadonlyMap<NodeId, string> {
    return this.peers;
  }

  /** The failure that stopped this member from taking writes, if any. */
  failed(): Error | undefined {
    return this.failure;
  }

  // ---- the loop ----

  private enqueue(ev: Inbound): void {
    if (this.stopped) return;
    this.inbox.push(ev);
    this.kick();
  }

  private kick(): void {
    if (this.processing || this.stopped || this.rn === undefined) return;
    this.processing = true;
    // Run on a microtask: callers (a transport callback, a timer) return at once.
    queueMicrotask(() => void this.process());
  }

  private async process(): Promise<void> {
    const rn = this.rn as RawNode;
    try {
      for (;;) {
        if (this.stopped || this.failure !== undefined) break;
        this.drainInbox(rn);
        this.flushProposals(rn);
        if (!rn.hasReady()) break;
        await this.handleReady(rn, rn.ready());
      }
    } catch (e) {
      this.fail(e as Error);
    } finally {
      this.processing = false;
      for (const fn of this.idle.splice(0)) fn();
      const proposable = this.proposals.length > 0 && this.rn !== undefined && this.canPropose(this.rn);
      if (!this.stopped && this.failure === undefined && (this.inbox.length > 0 || proposable)) this.kick();
    }
  }

  private drainInbox(rn: RawNode): void {
    const events = this.inbox;
    this.inbox = [];
    for (const ev of events) {
      if (ev.kind === "msg") rn.step(ev.m);
      else if (ev.kind === "tick") rn.tick();
      else ev.fn();
    }
  }

  /**
   * Hands queued proposals to Raft in one batch. While no leader is known, or this leader is
   * handing over, they wait (until their timeout): the next leader takes them, so a client sees a
   * slower answer rather than a failure.
   */
  private flushProposals(rn: RawNode): void {
    if (this.proposals.length === 0 || !this.canPropose(rn)) return;
    const batch = this.proposals;
    this.proposals = [];
    this.metrics.proposalsPending.dec(batch.length);
    try {
      rn.proposeBatch(batch.map((p) => p.data));
      for (const p of batch) this.inflight.set(p.id, p.data);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
      this.proposals = batch.concat(this.proposals);
      this.metrics.proposalsPending.inc(batch.length);
    }
  }

  private canPropose(rn: RawNode): boolean {
    const r = rn.raft;
    if (r.lead === None) return false;
    return r.state !== StateType.Leader || r.leadTransferee === None;
  }

  private async handleReady(rn: RawNode, rd: Ready): Promise<void> {
    if (rd.softState !== undefined) this.onSoftState(rd.softState.lead, rd.softState.raftState);
    // The broken mode for checkers: send (and so acknowledge) before anything is durable.
    // Messages that promise nothing about this member's disk go out while it syncs; votes and
    // acknowledgements wait for the disk. The broken mode for the checkers sends everything first.
    const early: Message[] = [];
    const late: Message[] = [];
    const snaps: Message[] = [];
    for (const m of coalesceAppends(rd.messages)) {
      if (m.type === MessageType.MsgSnap && this.opts.stateMachine.streamSnapshot !== undefined) {
        snaps.push(m);
        continue;
      }
      if (this.opts.unsafeNoFsync === true || mayPrecedeWrite(m)) early.push(m);
      else late.push(m);
    }
    if (early.length > 0) this.opts.transport.send(early);
    // 1. Persist: one batch for entries, hard state and snapshot (group commit).
    // A Ready that only moves the commit index writes nothing: Raft needs the term and vote
    // durable, not the commit (a restarted member learns it again). The newer commit goes with
    // the next write, and every snapshot saves the hard state (a log's commit is never below its
    // snapshot). One LevelDB write and the wait for it saved per commit-only Ready.
    const hs = rd.hardState;
    const current = this.storage.hardState;
    if (
      hs !== undefined &&
      rd.entries.length === 0 &&
      rd.snapshot === undefined &&
      hs.term === current.term &&
      hs.vote === current.vote
    ) {
      this.storage.setHardState(hs);
      this.commitUnsaved = true;
    } else if (rd.snapshot !== undefined || rd.entries.length > 0 || hs !== undefined) {
      const sync = rd.mustSync && this.opts.unsafeNoFsync !== true;
      const started = this.opts.clock.now();
      const latest = hs ?? (this.commitUnsaved ? current : undefined);
      this.commitUnsaved = false;
      const update = {
        entries: rd.entries,
        ...(latest === undefined ? {} : { hardState: latest }),
        ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }),
      };
      await this.opts.logStore.save(update, sync);
      if (sync) this.metrics.fsyncDuration.observe((this.opts.clock.now() - started) / 1000);
      if (rd.snapshot !== undefined) this.installSnapshot(rd.snapshot);
      this.storage.append(rd.entries);
      if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
    }
    if (this.stopped) return; // a halt (crash) during the write: nothing after it happens
    // 2. Only then send (persist-before-send, written on the Ready type).
    if (late.length > 0) this.opts.transport.send(late);
    for (const m of snaps) void this.sendStreamedSnapshot(m);
    // 3. Apply.
    this.applyEntries(rn, rd.committedEntries);
    for (const rs of rd.readStates) this.onReadState(Buffer.from(rs.requestCtx).toString("hex"), rs.index);
    rn.advance();
    this.serveReads();
    await this.maybeSnapshot();
  }

  /**
   * A follower needs a snapshot: as etcd's createMergedSnapshotMessage, send the state as of now
   * (the state machine's data read from its disk snapshot, at an index at or past the local
   * snapshot's, which is committed), not the local snapshot, which on disk holds no data.
   */
  private async sendStreamedSnapshot(m: Message): Promise<void> {
    const sm = this.opts.stateMachine;
    const confState = this.confState;
    try {
      // The entry's term is read as soon as the index is fixed: the log may be compacted past it
      // while the data is read (seconds for a large store).
      let term = 0;
      let requests: [bigint, number][] = [];
      const stream = sm.streamSnapshot as NonNullable<StateMachine["streamSnapshot"]>;
      const { index, data } = await stream((at) => {
        term = this.storage.term(at);
        requests = this.appliedRequests.entries().filter(([, applied]) => applied <= at);
      });
      // A membership change applied meanwhile: the conf state at `index` is not known here; Raft
      // retries the snapshot.
      if (this.confState !== confState) throw new Error("membership changed while the snapshot was made");
      const snapshot = {
        metadata: { index, term, confState },
        data: encodeSnapshotData({ peers: this.peers, requests, removed: [...this.removed] }, data),
      };
      if (this.stopped) return;
      this.opts.transport.send([{ ...m, snapshot }]);
      this.log.info({ term: this.term(), to: m.to, index, bytes: data.length }, "sent snapshot");
    } catch (e) {
      this.log.warn({ to: m.to, err: String(e) }, "snapshot not sent");
      this.enqueue({ kind: "call", fn: () => this.rn?.reportSnapshot(m.to, false) });
    }
  }

  private installSnapshot(snap: Ready["snapshot"] & object): void {
    this.storage.applySnapshot(snap);
    this.restoreSnapshotData(snap.data, snap.metadata.index);
    this.applied = snap.metadata.index;
    this.snapshotIndex = snap.metadata.index;
    this.confState = snap.metadata.confState;
    for (const [id, addr] of this.peers) if (id !== this.id) this.opts.transport.addPeer(id, addr);
    this.metrics.snapshotsInstalled.inc();
    this.log.info({ term: this.term(), index: snap.metadata.index }, "installed snapshot from leader");
  }

  private applyEntries(rn: RawNode, entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index <= this.applied) continue;
      if (e.type === EntryType.ConfChange) {
        const cc = decodeConfChange(e.data);
        this.confState = rn.applyConfChange(cc);
        this.syncPeers(cc);
        this.finishConfChange(cc);
        this.log.info(
          { term: this.term(), index: e.index, change: ConfChangeType[cc.type], node: cc.nodeId },
          "applied membership change",
        );
      } else if (e.data.length > 0) {
        const env = unwrap(e.data);
        this.metrics.proposalsCommitted.inc();
        if (env !== undefined && !this.appliedRequests.has(env.id)) {
          const result = this.opts.stateMachine.apply({ ...e, data: env.payload });
          this.appliedRequests.add(env.id, e.index);
          this.metrics.proposalsApplied.inc();
          this.inflight.delete(env.id);
          this.finish(env.id, undefined, result);
        }
      }
      this.opts.stateMachine.advance?.(e.index);
      this.applied = e.index;
    }
  }

  /** Connects to members added by a conf change (their address travels in its context). */
  private syncPeers(cc: ConfChange): void {
    if (cc.type === ConfChangeType.RemoveNode) {
      this.peers.delete(cc.nodeId);
      this.removed.add(cc.nodeId);
      if (cc.nodeId !== this.id) this.opts.transport.removePeer(cc.nodeId);
    } else if (cc.context !== undefined && cc.context.length > 0) {
      const addr = new TextDecoder().decode(cc.context);
      this.peers.set(cc.nodeId, addr);
      if (cc.nodeId !== this.id) this.opts.transport.addPeer(cc.nodeId, addr);
    }
  }

  private restoreSnapshotData(data: Uint8Array, index: number): void {
    const { peers, requests, app, removed } = decodeSnapshotData(data);
    for (const [id, addr] of peers) this.peers.set(id, addr);
    for (const id of removed ?? []) this.removed.add(id);
    this.appliedRequests.restore(requests);
    this.opts.stateMachine.restore(app, index);
  }

  private async maybeSnapshot(): Promise<void> {
    if (this.applied - this.snapshotIndex < this.snapshotCount) return;
    const index = this.applied;
    const confState = this.confState;
    // A state machine on disk first writes what it applied: the log is never compacted past it.
    if (this.opts.stateMachine.persist !== undefined) await this.opts.stateMachine.persist();
    const data = encodeSnapshotData(
      // Requests applied after `index` (while persisting) are not in this snapshot.
      {
        peers: this.peers,
        requests: this.appliedRequests.entries().filter(([, at]) => at <= index),
        removed: [...this.removed],
      },
      this.opts.stateMachine.snapshot(),
    );
    const snap = this.storage.createSnapshot(index, confState, data);
    const compactIndex = Math.max(this.storage.firstIndex(), index - this.catchUpEntries);
    if (compactIndex > this.storage.firstIndex()) this.storage.compact(compactIndex);
    this.snapshotIndex = index;
    await this.opts.logStore.saveSnapshot(snap, compactIndex, this.storage.hardState);
    this.metrics.snapshotsSaved.inc();
    this.log.info({ term: this.term(), index, compactIndex }, "saved snapshot");
  }

  private onSoftState(lead: NodeId, state: StateType): void {
    if (lead !== this.lead) {
      if (lead !== None) this.metrics.leaderChanges.inc();
      // The old leader may have dropped what we proposed through it: propose it again. An entry
      // that makes it into the log twice is applied once (AppliedRequests).
      if (lead !== None && this.inflight.size > 0) {
        for (const [id, data] of this.inflight) {
          if (!this.waiters.has(id)) continue;
          this.proposals.push({ id, data });
          this.metrics.proposalsPending.inc();
        }
        this.inflight.clear();
      }
      this.log.info(
        { term: this.term(), lead, state: StateType[state] },
        lead === None ? "lost leader" : "leader elected",
      );
      this.lead = lead;
    }
    this.metrics.hasLeader.set(lead === None ? 0 : 1);
    this.metrics.isLeader.set(state === StateType.Leader ? 1 : 0);
  }

  // ---- reads ----

  private onReadState(ctx: string, index: number): void {
    if (this.readRound?.ctx === ctx) this.endRound();
    if (this.readWaiters.has(ctx)) this.reads.push({ ctx, index });
  }

  /** The round in flight got its answer (or failed): the next one may start. */
  private endRound(): void {
    this.readRound?.cancelRetry();
    this.readRound = undefined;
    this.issueRead();
  }

  private serveReads(): void {
    if (this.reads.length === 0) return;
    const ready = this.reads.filter((r) => r.index <= this.applied);
    this.reads = this.reads.filter((r) => r.index > this.applied);
    for (const r of ready) this.finishRead(r.ctx);
  }

  private finishRead(ctx: string, err?: Error): void {
    const waiting = this.readWaiters.get(ctx);
    this.readWaiters.delete(ctx);
    if (this.readRound?.ctx === ctx) this.endRound();
    for (const w of waiting ?? []) {
      w.cancel();
      if (err === undefined) w.resolve(undefined);
      else w.reject(err);
    }
  }

  // ---- waiting ----

  private waiter(resolve: (v: unknown) => void, reject: (e: Error) => void, remove: () => void): Waiter {
    const cancel = this.opts.clock.after(this.requestTimeoutMs, () => {
      remove();
      this.metrics.proposalsFailed.inc();
      reject(errTimeout());
    });
    return { resolve, reject, cancel };
  }

  private finish(id: bigint, err?: Error, result?: unknown): void {
    const w = this.waiters.get(id);
    if (w === undefined) return;
    this.waiters.delete(id);
    w.cancel();
    if (err === undefined) w.resolve(result);
    else w.reject(err);
  }

  private refuse(): Error | undefined {
    if (this.failure !== undefined) return this.failure;
    if (this.stopped || this.rn === undefined) return errStopped();
    return undefined;
  }

  private fail(e: Error): void {
    this.failure = e;
    this.log.error({ term: this.term(), err: e.message }, "raft member failed: it stops taking writes");
    this.stopTicks?.();
    this.failAll(e);
  }

  private failAll(e: Error): void {
    this.finishConfChange({ type: ConfChangeType.AddNode, nodeId: 0 }, e);
    for (const [id] of this.waiters) this.finish(id, e);
    this.inflight.clear();
    const queued = this.readQueue;
    this.readQueue = new Set();
    for (const ctx of [...this.readWaiters.keys()]) this.finishRead(ctx, e);
    for (const w of queued) {
      w.cancel();
      w.reject(e);
    }
    this.metrics.proposalsPending.set(0);
    this.proposals = [];
  }

  private waitIdle(): Promise<void> {
    if (!this.processing) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private async waitFor(cond: () => boolean, deadline: number): Promise<boolean> {
    while (!cond()) {
      if (this.opts.clock.now() >= deadline || this.stopped) return false;
      await new Promise<void>((resolve) => this.opts.clock.after(this.heartbeatMs, resolve));
    }
    return true;
  }

  private bestTransferee(): NodeId {
    const st = this.rn?.status();
    if (st === undefined) return None;
    let best: NodeId = None;
    let bestMatch = -1;
    for (const [id, pr] of st.progress) {
      if (id === this.id || !st.config.voters.includes(id)) continue;
      if (pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    return best;
  }

  /** For tests and metrics: the message types this member has queued (debugging aid). */
  static describe(m: Message): string {
    return `${MessageType[m.type]} ${m.from}->${m.to} t${m.term}`;
  }
}
