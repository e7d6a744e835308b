/**
 * One simulated member: a RawNode driven by the same Ready loop a real node runs, over a simulated
 * disk. The loop follows the Ready contract (types.ts): 1) write entries, hard state and snapshot,
 * which takes simulated time; 2) only then send the messages that promise something about the
 * disk; 3) apply committed entries and serve ReadIndex reads; 4) advance. Which messages leave
 * before the write, whether a commit-only hard state is written and whether the node steps events
 * while a write is in flight depend on the loop (RaftOptions.loop): "store" is the store's node
 * loop (the shared sendpolicy.ts), "etcd" is etcd's node goroutine. The next Ready always waits
 * for the write.
 */
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  decodeConfChange,
  type Entry,
  EntryType,
  type HardState,
  isCommitOnly,
  type MemoryStorage,
  type Message,
  MessageType,
  type NodeId,
  RawNode,
  type Ready,
  type SeededRand,
  splitByWrite,
} from "../index.js";
import type { ObservedState, SafetyChecker } from "./checker.js";
import { cloneStorage, type DiskWrite, type SimDisk } from "./disk.js";
import { fmtEntries, fmtHardState } from "./format.js";
import type { ResolvedOptions } from "./options.js";
import type { ClientChecker } from "./reads.js";
import { ListStateMachine } from "./statemachine.js";
import type { Trace } from "./trace.js";
import { violated } from "./violation.js";

/** What a node needs from the cluster around it. */
export interface NodeEnv {
  now(): number;
  readonly trace: Trace;
  readonly opts: ResolvedOptions;
  readonly safety: SafetyChecker;
  readonly clients: ClientChecker;
  send(msgs: readonly Message[]): void;
  /** Calls node.writeDone() after `delay` ms, unless the node crashed (or is paused) meanwhile. */
  scheduleWriteDone(node: SimNode, delay: number): void;
  /** A client value was applied here at `index`. */
  valueApplied(node: SimNode, value: number, index: number): void;
  /** A conf change was applied here; the cluster updates its membership registry. */
  confApplied(node: SimNode, index: number, cc: ConfChange, cs: ConfState): void;
  readonly stats: { snapshotsCreated: number; snapshotsInstalled: number; writes: number };
}

const readCtxPrefix = 0x72; // "r"
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeReadCtx(id: number): Uint8Array {
  return encoder.encode(`r${id}`);
}

function decodeReadCtx(ctx: Uint8Array): number | undefined {
  if (ctx.length < 2 || ctx[0] !== readCtxPrefix) return undefined;
  const n = Number(decoder.decode(ctx.subarray(1)));
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The "etcd" loop's policy: responses that promise something about this node's disk (an append
 * acknowledgement says the entries are durable here, a vote or pre-vote answer is tied to the
 * persisted term and vote) go out only after the write (etcd's msgsAfterAppend); every other
 * message may leave before it (Raft dissertation §10.2.1). The "store" loop uses sendpolicy.ts.
 */
export function mustWaitForWrite(m: Message): boolean {
  return (
    m.type === MessageType.MsgAppResp ||
    m.type === MessageType.MsgVoteResp ||
    m.type === MessageType.MsgPreVoteResp
  );
}

interface InFlightWrite {
  readonly rd: Ready;
  /** What goes to the disk: the Ready's, except that the store loop carries a deferred commit. */
  readonly write: DiskWrite;
  /** Messages still to send once the write completes. */
  readonly after: readonly Message[];
}

export class SimNode {
  raw: RawNode | undefined;
  sm = new ListStateMachine();
  confState: ConfState = { voters: [], learners: [] };
  /** Increments at every crash: events of an older lifetime are ignored. */
  incarnation = 0;
  up = false;
  /** Removed from the cluster (its removal was applied): shut down for good. */
  removed = false;
  /** The process is stopped (the "pause" fault): its events wait here, in order, until it resumes. */
  paused = false;
  pausedQueue: (() => void)[] = [];
  /** Ticks come `slowFactor` times slower until slowUntil (the "slowNode" fault). */
  slowFactor = 1;
  slowUntil = 0;
  private writing: InFlightWrite | undefined;
  /** Store loop: the newest commit-only hard state, not written yet (it goes with the next write). */
  private unsavedHardState: HardState | undefined;
  /** Store loop: events that arrived during a write, stepped after it (node.ts's inbox). */
  private inbox: ((raw: RawNode) => void)[] = [];
  /** The disk image before the last completed write (for the forgetSyncedWrites broken mode). */
  private beforeLastWrite: MemoryStorage | undefined;
  /** Values proposed here in this lifetime and not yet applied here (their acks). */
  readonly proposed = new Set<number>();
  /** Reads invoked here in this lifetime, and the ReadStates waiting for the apply to catch up. */
  readonly reads = new Set<number>();
  private waitingReads: { id: number; index: number }[] = [];
  /** A conf change was applied or a snapshot written: the membership check is due once settled. */
  private configCheckOwed = false;

  constructor(
    readonly id: NodeId,
    public storage: MemoryStorage,
    readonly disk: SimDisk,
    private readonly rand: SeededRand,
    private readonly env: NodeEnv,
  ) {}

  /** Starts (or restarts) from what is on disk: the state machine from the snapshot, then replay. */
  start(): void {
    const o = this.env.opts.raft;
    const snap = this.storage.snapshot();
    this.sm = ListStateMachine.decode(snap.data);
    this.confState = snap.metadata.confState;
    this.raw = new RawNode({
      id: this.id,
      electionTick: o.electionTick,
      heartbeatTick: o.heartbeatTick,
      storage: this.storage,
      applied: snap.metadata.index,
      maxSizePerMsg: o.maxSizePerMsg,
      maxInflightMsgs: o.maxInflightMsgs,
      checkQuorum: o.checkQuorum,
      preVote: o.preVote,
      readOnlyOption: "safe",
      rand: this.rand.fork(),
    });
    this.up = true;
    this.configCheckOwed = true; // the membership from the snapshot must be the committed one
    this.env.safety.restarted(this);
  }

  /** Stops the process: the write in flight is lost (or torn), and so is all volatile state. */
  crash(): void {
    const w = this.writing;
    if (w !== undefined) {
      const keep = this.disk.tornPrefix(w.write);
      if (keep > 0) {
        const ents = w.write.entries.slice(0, keep);
        this.storage.append(ents);
        if (this.env.trace.on)
          this.env.trace.add(`n${this.id} torn write: ${fmtEntries(ents)} reached the disk`);
        this.env.safety.persisted(this, { entries: ents });
      }
    }
    if (this.env.opts.broken === "forgetSyncedWrites" && this.beforeLastWrite !== undefined) {
      // BROKEN ON PURPOSE: the disk acknowledged a write it had not made durable.
      this.storage = this.beforeLastWrite;
      this.env.safety.replaceNode(this);
    }
    this.beforeLastWrite = undefined;
    this.writing = undefined;
    this.unsavedHardState = undefined;
    this.inbox = [];
    this.raw = undefined;
    this.up = false;
    this.paused = false;
    this.pausedQueue = [];
    this.incarnation++;
    this.proposed.clear();
    for (const id of this.reads) this.env.clients.readFailed(id);
    this.reads.clear();
    this.waitingReads = [];
  }

  /** The term in memory, or on disk while the node is down (for the checker). */
  currentTerm(): number {
    return this.raw?.raft.term ?? this.storage.hardState.term;
  }

  get busy(): boolean {
    return this.writing !== undefined;
  }

  /**
   * Runs an event (a tick, a message, a client request) on the core, or, with the store loop
   * while a write is in flight, queues it: node.ts steps nothing during a write, and steps what
   * arrived meanwhile before it takes the next Ready. Returns whether it ran now.
   */
  handle(fn: (raw: RawNode) => void): boolean {
    if (this.raw === undefined) return false;
    if (this.writing !== undefined && this.env.opts.raft.loop === "store") {
      this.inbox.push(fn);
      return false;
    }
    fn(this.raw);
    return true;
  }

  /** Runs the Ready loop until a write is in flight or there is nothing to do. */
  pump(): void {
    for (
      let guard = 0;
      this.raw !== undefined && this.writing === undefined && this.raw.hasReady();
      guard++
    ) {
      if (guard > 1000) throw new Error(`n${this.id}: Ready loop does not settle`);
      const raw = this.raw;
      const rd = raw.ready();
      this.env.safety.readyTaken(this.id, observed(raw));
      const store = this.env.opts.raft.loop === "store";
      const commitOnly = store && isCommitOnly(rd, this.storage.hardState);
      if (commitOnly && rd.hardState !== undefined) {
        // node.ts writes no Ready that only moves the commit: it goes with the next write.
        this.unsavedHardState = rd.hardState;
        if (this.env.trace.on)
          this.env.trace.add(`n${this.id} commit-only ${fmtHardState(rd.hardState)}: not written`);
      }
      if (
        commitOnly ||
        (rd.entries.length === 0 && rd.hardState === undefined && rd.snapshot === undefined)
      ) {
        // Nothing to write: everything leaves now (node.ts sends the early ones first).
        if (!store) this.finish(rd, rd.messages);
        else {
          const { early, late } = splitByWrite(rd.messages);
          this.finish(rd, early.length === 0 ? late : late.length === 0 ? early : [...early, ...late]);
        }
        continue;
      }
      let after = rd.messages;
      if (this.env.opts.broken === "sendBeforePersist") {
        this.env.send(rd.messages); // BROKEN ON PURPOSE: acknowledges before it is durable.
        after = [];
      } else if (store) {
        const { early, late } = splitByWrite(rd.messages);
        this.env.send(early);
        after = late;
      } else if (this.env.opts.raft.earlySend) {
        this.env.send(rd.messages.filter((m) => !mustWaitForWrite(m)));
        after = rd.messages.filter(mustWaitForWrite);
      }
      const hardState = rd.hardState ?? this.unsavedHardState;
      this.unsavedHardState = undefined;
      const write: DiskWrite = {
        entries: rd.entries,
        ...(hardState === undefined ? {} : { hardState }),
        ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }),
      };
      this.writing = { rd, write, after };
      const latency = this.disk.latency(this.env.now());
      this.env.stats.writes++;
      if (this.env.trace.on) this.env.trace.add(`n${this.id} write ${describeWrite(write)} (${latency}ms)`);
      this.env.scheduleWriteDone(this, latency);
    }
  }

  /** The write in flight completed: it is on disk now; send, apply, advance. */
  writeDone(): void {
    const w = this.writing;
    if (w === undefined || this.raw === undefined) return;
    if (this.env.opts.broken === "forgetSyncedWrites") this.beforeLastWrite = cloneStorage(this.storage);
    this.persist(w.write);
    this.writing = undefined;
    this.finish(w.rd, w.after);
    // Store loop: what arrived during the write is stepped now, before the next Ready.
    const raw = this.raw;
    const queued = this.inbox;
    this.inbox = [];
    for (const fn of queued) fn(raw);
  }

  private persist(rd: DiskWrite): void {
    const s = this.storage;
    if (rd.snapshot !== undefined) {
      s.applySnapshot(rd.snapshot);
      const md = rd.snapshot.metadata;
      this.sm = ListStateMachine.decode(rd.snapshot.data);
      if (this.sm.appliedIndex !== md.index)
        violated("snapshot", `n${this.id} got snapshot ${md.index} holding state at ${this.sm.appliedIndex}`);
      this.confState = md.confState;
      this.env.stats.snapshotsInstalled++;
      this.env.safety.snapshotRestored(this.id, md.index, this.sm.digest);
    }
    s.append(rd.entries);
    if (rd.hardState !== undefined) s.setHardState(rd.hardState);
    if (this.env.trace.on) this.env.trace.add(`n${this.id} persisted ${describeWrite(rd)}`);
    this.env.safety.persisted(this, rd);
  }

  /** Steps 2-4 of the Ready contract: send what is left to send, apply, serve reads, advance. */
  private finish(rd: Ready, toSend: readonly Message[]): void {
    const raw = this.raw as RawNode;
    this.env.send(toSend);
    if (rd.committedEntries.length > 0) this.applyAll(rd.committedEntries);
    for (const rs of rd.readStates) {
      const id = decodeReadCtx(rs.requestCtx);
      if (id !== undefined && this.reads.has(id)) this.waitingReads.push({ id, index: rs.index });
    }
    this.serveReads();
    raw.advance();
    this.maybeSnapshot();
    if (rd.snapshot !== undefined) this.configCheckOwed = true;
    // Reads the core's log directly: whether a restored snapshot still waits for its write.
    if (this.configCheckOwed && !raw.raft.raftLog.hasPendingSnapshot()) {
      this.configCheckOwed = false;
      this.env.safety.configSettled(this.id, this.sm.appliedIndex, raw.raft.prs.confState());
    }
  }

  private applyAll(ents: readonly Entry[]): void {
    const first = ents[0] as Entry;
    if (this.env.trace.on) this.env.trace.add(`n${this.id} apply ${fmtEntries(ents)}`);
    if (first.index !== this.sm.appliedIndex + 1) {
      violated(
        "apply-order",
        `n${this.id} was handed entries from ${first.index} to apply, but has applied up to ${this.sm.appliedIndex}`,
      );
    }
    for (const e of ents) {
      const value = this.sm.apply(e);
      this.env.safety.applied(this, e, this.sm.digest);
      if (value !== undefined) this.env.valueApplied(this, value, e.index);
      if (e.type === EntryType.ConfChange) this.applyConfChange(e);
    }
  }

  private applyConfChange(e: Entry): void {
    const raw = this.raw as RawNode;
    const cc = decodeConfChange(e.data);
    this.confState = raw.applyConfChange(cc);
    this.configCheckOwed = true;
    if (this.env.trace.on) {
      const kind = ConfChangeType[cc.type] ?? cc.type;
      this.env.trace.add(
        `n${this.id} conf ${kind}(n${cc.nodeId}) at ${e.index} -> voters=${this.confState.voters.join(",")} learners=${this.confState.learners.join(",")}`,
      );
    }
    this.env.safety.confApplied(e.index, this.confState);
    this.env.confApplied(this, e.index, cc, this.confState);
  }

  private serveReads(): void {
    if (this.waitingReads.length === 0) return;
    const still: { id: number; index: number }[] = [];
    for (const w of this.waitingReads) {
      if (w.index > this.sm.appliedIndex) {
        still.push(w);
        continue;
      }
      this.reads.delete(w.id);
      if (this.env.trace.on)
        this.env.trace.add(
          `n${this.id} read r${w.id} served at index ${this.sm.appliedIndex} (read index ${w.index})`,
        );
      this.env.clients.readServed(
        w.id,
        this.id,
        w.index,
        this.sm,
        this.env.safety.digestAt(this.sm.appliedIndex),
      );
    }
    this.waitingReads = still;
  }

  /** The application's snapshot policy: every snapshotCount applied entries, keeping a tail. */
  private maybeSnapshot(): void {
    const o = this.env.opts.raft;
    const s = this.storage;
    const applied = this.sm.appliedIndex;
    if (applied - s.snapshot().metadata.index < o.snapshotCount || applied > s.lastIndex()) return;
    s.createSnapshot(applied, this.confState, this.sm.encode());
    if (this.unsavedHardState !== undefined) {
      // node.ts saves the hard state with every snapshot: a log's commit is never below its snapshot.
      const hardState = this.unsavedHardState;
      this.unsavedHardState = undefined;
      s.setHardState(hardState);
      this.env.safety.persisted(this, { entries: [], hardState });
    }
    this.env.stats.snapshotsCreated++;
    const compactTo = applied - o.keepEntries;
    if (compactTo > s.firstIndex() - 1) s.compact(compactTo);
    if (this.env.trace.on)
      this.env.trace.add(
        `n${this.id} snapshot at ${applied}, log compacted to ${s.firstIndex()}..${s.lastIndex()}`,
      );
  }
}

/**
 * Term, role and commit index, read from the core's fields: RawNode.status() also builds the
 * progress map and the sorted membership, and the simulator needs these three after every event.
 */
export function observed(raw: RawNode): ObservedState {
  const r = raw.raft;
  return {
    term: r.term,
    raftState: r.state,
    commit: r.raftLog.committed,
    termAt: (i) => r.raftLog.termOrUndefined(i),
  };
}

function describeWrite(rd: DiskWrite): string {
  const parts: string[] = [];
  if (rd.snapshot !== undefined)
    parts.push(`snap=${rd.snapshot.metadata.index}/${rd.snapshot.metadata.term}`);
  if (rd.entries.length > 0) parts.push(`ents=${fmtEntries(rd.entries)}`);
  if (rd.hardState !== undefined) parts.push(fmtHardState(rd.hardState));
  return parts.join(" ");
}
