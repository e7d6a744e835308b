/**
 * `pnpm bench raft`: a 3-node in-memory cluster (no network, no disk: MemoryStorage and direct
 * message delivery) committing small proposals as fast as it can, all on one thread. It measures
 * the pure core's cost per entry, the floor under the store's throughput.
 */
import {
  bootstrapStorage,
  EntryType,
  MemoryStorage,
  type Message,
  type NodeId,
  RawNode,
  SeededRand,
  StateType,
} from "@skiff/raft";
import type { Benchmark } from "./registry.js";

interface Member {
  id: NodeId;
  rn: RawNode;
  storage: MemoryStorage;
  applied: number;
}

export interface RaftBenchResult {
  entries: number;
  seconds: number;
  entriesPerSecond: number;
  cpuMicrosPerEntry: number;
  batch: number;
  entryBytes: number;
}

export function runRaftBench(opts: { seconds: number; batch: number; entryBytes: number }): RaftBenchResult {
  const ids = [1, 2, 3];
  const rand = new SeededRand(42);
  const members = new Map<NodeId, Member>();
  for (const id of ids) {
    const storage = new MemoryStorage();
    bootstrapStorage(storage, ids);
    const rn = new RawNode({
      id,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      rand: rand.fork(),
      maxInflightMsgs: 256,
    });
    members.set(id, { id, rn, storage, applied: 0 });
  }
  const queue: Message[] = [];
  const pump = () => {
    for (;;) {
      let any = false;
      for (const m of members.values()) {
        if (!m.rn.hasReady()) continue;
        any = true;
        const rd = m.rn.ready();
        m.storage.append(rd.entries);
        if (rd.hardState !== undefined) m.storage.setHardState(rd.hardState);
        for (const e of rd.committedEntries)
          if (e.type === EntryType.Normal && e.data.length > 0) m.applied++;
        for (const msg of rd.messages) queue.push(msg);
        m.rn.advance();
      }
      if (queue.length > 0) {
        any = true;
        const msgs = queue.splice(0, queue.length);
        for (const msg of msgs) members.get(msg.to)?.rn.step(msg);
      }
      if (!any) return;
    }
  };
  pump(); // apply the bootstrap membership entries
  const leader = members.get(1) as Member;
  leader.rn.campaign();
  pump();
  if (leader.rn.raft.state !== StateType.Leader) throw new Error("bench: node 1 did not become leader");

  const payloads = Array.from({ length: opts.batch }, (_, i) => {
    const b = new Uint8Array(opts.entryBytes);
    b[0] = i & 0xff;
    return b;
  });
  const compactEvery = 50_000;
  let lastCompact = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const deadline = t0 + BigInt(Math.round(opts.seconds * 1e9));
  let now = t0;
  while (now < deadline) {
    for (let i = 0; i < 8; i++) {
      leader.rn.proposeBatch(payloads);
      pump();
    }
    // Keep memory bounded: compact every member's log behind what it applied.
    if (leader.applied - lastCompact >= compactEvery) {
      for (const m of members.values()) {
        const applied = m.rn.raft.raftLog.applied;
        if (applied > m.storage.firstIndex()) m.storage.compact(applied);
      }
      lastCompact = leader.applied;
    }
    now = process.hrtime.bigint();
  }
  const seconds = Number(now - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const entries = Math.min(...[...members.values()].map((m) => m.applied));
  return {
    entries,
    seconds,
    entriesPerSecond: entries / seconds,
    cpuMicrosPerEntry: (cpu.user + cpu.system) / entries,
    batch: opts.batch,
    entryBytes: opts.entryBytes,
  };
}

function parseFlags(args: readonly string[]): { seconds: number; json?: string } {
  let seconds = 5;
  let json: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--quick") seconds = 1;
    else if (a === "--seconds") seconds = Number(args[++i]);
    else if (a === "--json") json = args[++i];
    else throw new Error(`bench raft: unknown flag ${a}`);
  }
  if (!(seconds > 0)) throw new Error("bench raft: --seconds must be positive");
  return json === undefined ? { seconds } : { seconds, json };
}

export const raftBenchmark: Benchmark = {
  name: "raft",
  summary: "pure Raft core: 3 in-memory nodes committing small entries (target >= 500,000/s)",
  async run(args) {
    const flags = parseFlags(args);
    const rows: RaftBenchResult[] = [];
    for (const batch of [1, 64, 1024])
      rows.push(runRaftBench({ seconds: flags.seconds / 3, batch, entryBytes: 16 }));
    const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
    const out = [
      line(["proposals per batch", "entry bytes", "entries committed", "entries/s", "CPU us/entry"]),
      line(["---:", "---:", "---:", "---:", "---:"]),
      ...rows.map((r) =>
        line([
          String(r.batch),
          String(r.entryBytes),
          String(r.entries),
          Math.round(r.entriesPerSecond).toLocaleString("en-US"),
          r.cpuMicrosPerEntry.toFixed(2),
        ]),
      ),
    ];
    process.stdout.write(`${out.join("\n")}\n`);
    if (flags.json !== undefined) {
      const { writeFileSync } = await import("node:fs");
      writeFileSync(
        flags.json,
        `${JSON.stringify({ benchmark: "raft", node: process.version, rows }, null, 2)}\n`,
      );
    }
    return 0;
  },
};
