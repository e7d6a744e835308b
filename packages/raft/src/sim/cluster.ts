/**
 * The simulated cluster: nodes, network, disks and clock wired together on one scheduler. Every
 * node event (tick, message, write completion, client request) goes through nodeEvent(), which
 * drops events of a crashed lifetime, queues them while the process is paused, and after each one
 * runs the node's Ready loop and the per-step invariant checks.
 */
import {
  bootstrapStorage,
  type ConfChange,
  ConfChangeType,
  type ConfState,
  MemoryStorage,
  type Message,
  MessageType,
  type NodeId,
  type RawNode,
  type SeededRand,
  StateType,
} from "../index.js";
import { SafetyChecker } from "./checker.js";
import { SimDisk } from "./disk.js";
import { fmtHardState, fmtMessage, stateName } from "./format.js";
import { type NetworkHost, SimNetwork } from "./network.js";
import { type NodeEnv, observed, SimNode } from "./node.js";
import type { ResolvedOptions } from "./options.js";
import { ClientChecker } from "./reads.js";
import { Scheduler } from "./scheduler.js";
import { Trace } from "./trace.js";

export interface ClusterStats {
  writes: number;
  snapshotsCreated: number;
  snapshotsInstalled: number;
  crashes: number;
  restarts: number;
  pauses: number;
  partitions: number;
  slowDisks: number;
  slowNodes: number;
  lossyWindows: number;
  transfers: number;
  confChangesProposed: number;
  removed: number;
  learnersAdded: number;
  proposals: number;
  proposalsDropped: number;
  acked: number;
  reads: number;
  readsFailed: number;
}

/** The seed's independent random streams, one per concern (forked from the one root generator). */
export interface Streams {
  network: SeededRand;
  disk: SeededRand;
  nodes: SeededRand;
  process: SeededRand;
  client: SeededRand;
}

export class SimCluster implements NodeEnv, NetworkHost {
  readonly sched = new Scheduler();
  readonly trace: Trace;
  readonly net: SimNetwork;
  readonly safety: SafetyChecker;
  readonly clients = new ClientChecker();
  /** Every node ever created, in creation (= id) order, so iteration is deterministic. */
  readonly nodes = new Map<NodeId, SimNode>();
  readonly stats: ClusterStats = {
    writes: 0,
    snapshotsCreated: 0,
    snapshotsInstalled: 0,
    crashes: 0,
    restarts: 0,
    pauses: 0,
    partitions: 0,
    slowDisks: 0,
    slowNodes: 0,
    lossyWindows: 0,
    transfers: 0,
    confChangesProposed: 0,
    removed: 0,
    learnersAdded: 0,
    proposals: 0,
    proposalsDropped: 0,
    acked: 0,
    reads: 0,
    readsFailed: 0,
  };
  /** The membership after the highest-index conf change anyone applied (the committed configuration). */
  conf: ConfState;
  private confIndex = 0;
  /** Conf changes known applied, as `${type}:${nodeId}`. */
  readonly confDone = new Set<string>();
  /** Called when a node acknowledges a value (the liveness probe listens here). */
  onAck: ((node: SimNode, value: number, index: number) => void) | undefined;
  /** Client values and read ids are unique across the run (see clients.ts). */
  nextValueId = 1;
  nextReadId = 1;
  private readonly shutdowns: SimNode[] = [];
  private readonly lastRole = new Map<NodeId, string>();

  constructor(
    readonly opts: ResolvedOptions,
    private readonly streams: Streams,
  ) {
    this.trace = new Trace(opts.trace, opts.tailLines, () => this.sched.now);
    this.net = new SimNetwork(opts.network, streams.network, this.sched, this.trace, this);
    const voters = Array.from({ length: opts.nodes }, (_, i) => i + 1);
    const learners = Array.from({ length: opts.learners }, (_, i) => opts.nodes + i + 1);
    this.conf = { voters, learners };
    this.safety = new SafetyChecker(this.conf, opts.checks.durability);
  }

  /** Creates and starts the initial members (a fresh cluster: each disk records the membership). */
  bootstrap(): void {
    const { voters, learners } = this.conf;
    // Every founding disk exists before any node runs: the checker counts them all from the start.
    const founders = [...voters, ...learners].map((id) => {
      const storage = new MemoryStorage();
      bootstrapStorage(storage, voters, learners);
      this.safety.bootstrapIndex = storage.lastIndex();
      return this.addNode(id, storage);
    });
    for (const node of founders) this.startNode(node);
  }

  now(): number {
    return this.sched.now;
  }

  /** The id the next joining node gets (ids are never reused, as in etcd). */
  get nextNodeId(): NodeId {
    return this.nodes.size + 1;
  }

  addNode(id: NodeId, storage: MemoryStorage): SimNode {
    const disk = new SimDisk(this.opts.disk, this.streams.disk.fork());
    const node = new SimNode(id, storage, disk, this.streams.nodes.fork(), this);
    this.nodes.set(id, node);
    this.safety.addNode(node);
    return node;
  }

  startNode(node: SimNode): void {
    node.start();
    this.startTicks(node);
    this.afterEvent(node);
  }

  /** Schedules fn on the node's process: dropped if it crashes first, queued while it is paused. */
  nodeEvent(node: SimNode, delay: number, fn: (raw: RawNode) => void): void {
    const inc = node.incarnation;
    this.sched.after(delay, () => this.runOn(node, inc, fn, true));
  }

  /**
   * Runs fn on the node's process. An event that may step the core goes through node.handle(),
   * which the store loop queues while a write is in flight; the disk's completion (handle=false)
   * always runs.
   */
  private runOn(node: SimNode, inc: number, fn: (raw: RawNode) => void, handle: boolean): void {
    if (node.incarnation !== inc || !node.up || node.raw === undefined) return;
    if (node.paused) {
      node.pausedQueue.push(() => this.runOn(node, inc, fn, handle));
      return;
    }
    if (!handle) fn(node.raw);
    else if (!node.handle(fn)) return; // queued until the write completes
    this.afterEvent(node);
  }

  /** After every node step: run its Ready loop, check the invariants, stop removed members. */
  private afterEvent(node: SimNode): void {
    if (node.raw !== undefined && node.up) {
      node.pump();
      this.observe(node);
    }
    while (this.shutdowns.length > 0) {
      const n = this.shutdowns.shift() as SimNode;
      if (!n.up) continue;
      n.crash();
      if (this.trace.on) this.trace.add(`n${n.id} removed from the cluster: shut down`);
    }
  }

  private observe(node: SimNode): void {
    const st = observed(node.raw as RawNode);
    this.safety.observe(node.id, st);
    if (!this.trace.on) return;
    const role = `${stateName(st.raftState)} term=${st.term}`;
    if (this.lastRole.get(node.id) !== role) {
      this.lastRole.set(node.id, role);
      this.trace.add(`n${node.id} is ${role} lead=${(node.raw as RawNode).raft.lead} commit=${st.commit}`);
    }
  }

  private startTicks(node: SimNode): void {
    const inc = node.incarnation;
    const tickMs = this.opts.tickMs;
    const tickOnce = () => {
      if (node.incarnation !== inc || !node.up || node.raw === undefined) return;
      const slow = this.sched.now < node.slowUntil ? node.slowFactor : 1;
      this.sched.after(tickMs * slow, tickOnce);
      if (node.paused) return; // a stopped process misses its ticks
      if (node.handle((raw) => raw.tick())) this.afterEvent(node);
    };
    this.sched.after(1 + this.streams.process.intn(tickMs), tickOnce);
  }

  // ---- NodeEnv ----

  send(msgs: readonly Message[]): void {
    for (const m of msgs) this.net.send(m);
  }

  scheduleWriteDone(node: SimNode, delay: number): void {
    const inc = node.incarnation;
    this.sched.after(delay, () => this.runOn(node, inc, () => node.writeDone(), false));
  }

  valueApplied(node: SimNode, value: number, index: number): void {
    if (!node.proposed.delete(value)) return;
    this.stats.acked++;
    this.clients.ack(value, index);
    if (this.trace.on) this.trace.add(`n${node.id} ack v${value} at ${index}`);
    this.onAck?.(node, value, index);
  }

  confApplied(_node: SimNode, index: number, cc: ConfChange, cs: ConfState): void {
    this.confDone.add(`${cc.type}:${cc.nodeId}`);
    if (index > this.confIndex) {
      this.confIndex = index;
      this.conf = cs;
    }
    const target = this.nodes.get(cc.nodeId);
    if (cc.type === ConfChangeType.RemoveNode && target !== undefined && !target.removed) {
      target.removed = true;
      this.stats.removed++;
      // The removal is committed. "shutdown": peers now reject the member and it stops (as an
      // etcd member does). "keepRunning": it keeps running and sending, and peers step what it
      // sends (a member that never learns of its removal keeps campaigning in its old membership).
      if (this.opts.removed === "shutdown") this.shutdowns.push(target);
      else if (this.trace.on) this.trace.add(`n${target.id} removed from the cluster: keeps running`);
    }
  }

  // ---- NetworkHost ----

  arrive(m: Message): void {
    const node = this.nodes.get(m.to);
    const from = this.nodes.get(m.from);
    const rejected = this.opts.removed === "shutdown" && (node?.removed === true || from?.removed === true);
    if (node === undefined || !node.up || rejected) {
      if (this.trace.on) this.trace.add(`n${m.to} unreachable: lost ${fmtMessage(m)} <-n${m.from}`);
      this.lost(m, true);
      return;
    }
    const slow = this.sched.now < node.slowUntil ? node.slowFactor : 0;
    const delay = slow > 0 ? this.streams.process.intn(3 * slow) : 0;
    this.nodeEvent(node, delay, (raw) => {
      if (this.trace.on) this.trace.add(`n${m.to} recv ${fmtMessage(m)} <-n${m.from}`);
      raw.step(m);
    });
    if (m.type === MessageType.MsgSnap && from !== undefined)
      this.nodeEvent(from, 0, (raw) => raw.reportSnapshot(m.to, true));
  }

  /**
   * The sender's transport notices a message that could not be delivered (a broken connection):
   * a snapshot's failure is always reported, or the leader would wait for it forever (etcd's
   * ReportSnapshot); a lost append to an unreachable peer sends the leader back to probing.
   */
  lost(m: Message, unreachable: boolean): void {
    const from = this.nodes.get(m.from);
    if (from === undefined) return;
    if (m.type === MessageType.MsgSnap) this.nodeEvent(from, 0, (raw) => raw.reportSnapshot(m.to, false));
    else if (unreachable && m.type === MessageType.MsgApp)
      this.nodeEvent(from, 0, (raw) => raw.reportUnreachable(m.to));
  }

  // ---- queries ----

  /** Running members (not crashed, not removed), in id order. */
  liveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up && !n.removed);
  }

  /** Members not removed (running or crashed), in id order. */
  members(): SimNode[] {
    return [...this.nodes.values()].filter((n) => !n.removed);
  }

  /** The running leader with the highest term, if any (what an omniscient observer would call leader). */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const n of this.liveNodes()) {
      const st = n.raw === undefined ? undefined : observed(n.raw);
      if (st !== undefined && st.raftState === StateType.Leader && st.term > bestTerm) {
        best = n;
        bestTerm = st.term;
      }
    }
    return best;
  }

  /** Resolves a fault's node pick among candidates: -1 is the leader (else the first), k is the k-th. */
  pick(pick: number, candidates: SimNode[]): SimNode | undefined {
    if (candidates.length === 0) return undefined;
    if (pick < 0) {
      const l = this.leader();
      return l !== undefined && candidates.includes(l) ? l : candidates[0];
    }
    return candidates[pick % candidates.length];
  }

  // ---- faults that act on one node ----

  crash(node: SimNode, downMs: number): void {
    if (!node.up || node.removed) return;
    node.crash();
    this.stats.crashes++;
    if (this.trace.on)
      this.trace.add(
        `n${node.id} CRASH (down ${downMs}ms); on disk: ${fmtHardState(node.storage.hardState)} log ${node.storage.firstIndex()}..${node.storage.lastIndex()}`,
      );
    const inc = node.incarnation;
    this.sched.after(downMs, () => {
      if (node.incarnation === inc && !node.up && !node.removed) this.restart(node);
    });
  }

  restart(node: SimNode): void {
    this.stats.restarts++;
    if (this.trace.on)
      this.trace.add(
        `n${node.id} RESTART from ${fmtHardState(node.storage.hardState)} snap=${node.storage.snapshot().metadata.index} log ${node.storage.firstIndex()}..${node.storage.lastIndex()}`,
      );
    this.startNode(node);
  }

  pause(node: SimNode, durationMs: number): void {
    if (!node.up || node.paused) return;
    node.paused = true;
    this.stats.pauses++;
    if (this.trace.on) this.trace.add(`n${node.id} PAUSE for ${durationMs}ms`);
    const inc = node.incarnation;
    this.sched.after(durationMs, () => {
      if (node.incarnation === inc) this.resume(node);
    });
  }

  resume(node: SimNode): void {
    if (!node.paused) return;
    node.paused = false;
    if (this.trace.on) this.trace.add(`n${node.id} RESUME (${node.pausedQueue.length} queued events)`);
    const queued = node.pausedQueue;
    node.pausedQueue = [];
    for (const run of queued) run();
  }

  /** Ends every fault: links, loss, pauses, slowness; restarts crashed members. */
  healAll(): void {
    this.net.healAll();
    if (this.trace.on)
      this.trace.add("HEAL: all links up, no loss, no pauses, normal disks; crashed members restart");
    for (const n of this.nodes.values()) {
      if (n.removed) continue;
      n.slowUntil = 0;
      n.disk.slowUntil = 0;
      if (n.paused) this.resume(n);
      if (!n.up) this.restart(n);
    }
  }
}
