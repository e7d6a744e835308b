/**
 * A synchronous in-memory network of RawNodes for scenario tests (like etcd's raft_test network):
 * every Ready is persisted at once, messages are delivered in order until the cluster is quiet,
 * and links can be cut one way or both.
 */
import {
  bootstrapStorage,
  type Config,
  decodeConfChange,
  type Entry,
  EntryType,
  MemoryStorage,
  type Message,
  type MessageType,
  type NodeId,
  RawNode,
  type ReadState,
  SeededRand,
  StateType,
} from "../src/index.js";

export interface TestNode {
  id: NodeId;
  rn: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: ReadState[];
}

export type NodeOptions = Partial<Omit<Config, "id" | "storage" | "rand">>;

export class Net {
  readonly nodes = new Map<NodeId, TestNode>();
  private readonly cut = new Set<string>();
  readonly delivered: Message[] = [];
  /** Messages in flight, delivered by deliver(). */
  queue: Message[] = [];

  constructor(
    ids: readonly NodeId[],
    private readonly opts: NodeOptions = {},
    seed = 1,
  ) {
    const rand = new SeededRand(seed);
    for (const id of ids) {
      const storage = new MemoryStorage();
      bootstrapStorage(storage, ids);
      this.add(id, storage, rand.fork());
    }
    // Apply the bootstrap conf-change entries, as a real node does with its first Ready.
    this.settle();
  }

  add(id: NodeId, storage: MemoryStorage, rand = new SeededRand(id), extra: NodeOptions = {}): TestNode {
    const rn = new RawNode({
      id,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      rand,
      applied: storage.snapshot().metadata.index,
      ...this.opts,
      ...extra,
    });
    const node = { id, rn, storage, applied: [], readStates: [] };
    this.nodes.set(id, node);
    return node;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Cuts the link from a to b (one way). */
  cutOneWay(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}>${b}`);
  }

  cutLink(a: NodeId, b: NodeId): void {
    this.cutOneWay(a, b);
    this.cutOneWay(b, a);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cutLink(id, other);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Handles one Ready of every node that has one (persist, apply, collect messages). */
  handleReadies(): boolean {
    let any = false;
    for (const id of [...this.nodes.keys()].sort((a, b) => a - b)) {
      const n = this.nodes.get(id) as TestNode;
      if (!n.rn.hasReady()) continue;
      any = true;
      const rd = n.rn.ready();
      if (rd.snapshot !== undefined) {
        n.storage.applySnapshot(rd.snapshot);
        n.applied = []; // state machine replaced by the snapshot
      }
      n.storage.append(rd.entries);
      if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
      for (const e of rd.committedEntries) {
        if (e.type === EntryType.ConfChange) n.rn.applyConfChange(decodeConfChange(e.data));
        n.applied.push(e);
      }
      n.readStates.push(...rd.readStates);
      this.queue.push(...rd.messages);
      n.rn.advance();
    }
    return any;
  }

  /** Delivers every queued message (dropping those on cut links or to absent nodes). */
  deliver(): boolean {
    const msgs = this.queue;
    this.queue = [];
    for (const m of msgs) {
      if (this.cut.has(`${m.from}>${m.to}`)) continue;
      const to = this.nodes.get(m.to);
      if (to === undefined) continue;
      this.delivered.push(m);
      to.rn.step(m);
    }
    return msgs.length > 0;
  }

  /** Runs until no node has anything to do. */
  settle(maxRounds = 10_000): void {
    for (let i = 0; i < maxRounds; i++) {
      const a = this.handleReadies();
      const b = this.deliver();
      if (!a && !b) return;
    }
    throw new Error("network did not settle");
  }

  /** Ticks every node (or the given ones) n times, settling after each tick. */
  tick(n = 1, ids: readonly NodeId[] = [...this.nodes.keys()]): void {
    for (let i = 0; i < n; i++) {
      for (const id of ids) this.node(id).rn.tick();
      this.settle();
    }
  }

  campaign(id: NodeId): void {
    this.node(id).rn.campaign();
    this.settle();
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.rn.raft.state === StateType.Leader).map((n) => n.id);
  }

  propose(id: NodeId, text: string): void {
    this.node(id).rn.propose(new TextEncoder().encode(text));
    this.settle();
  }

  /** Applied normal, non-empty entries of a node, as text. */
  appliedText(id: NodeId): string[] {
    return this.node(id)
      .applied.filter((e) => e.type === EntryType.Normal && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }

  count(type: MessageType): number {
    return this.delivered.filter((m) => m.type === type).length;
  }
}
