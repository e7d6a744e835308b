/**
 * The durable node loop (RaftNode, the production class) inside the deterministic simulator:
 * simulated clock (SimClock), network (SimNet) and disk (SimDisk), one seed for every fault.
 * Checks at the end of every run: nothing acknowledged is lost, every linearizable read saw every
 * write acknowledged before it began, all live members converge to the same state, and a member
 * whose disk was damaged refuses to start (it never serves corrupt data).
 */
import { type NodeId, SeededRand } from "@skiff/raft";
import { Scheduler } from "@skiff/raft/sim";
import { encodeKv, KvStateMachine } from "../member/kv.js";
import { CorruptionError } from "../raftnode/logstore.js";
import { RaftNode } from "../raftnode/node.js";
import { SimClock } from "./clock.js";
import { SimDisk, SimLogStore } from "./logstore.js";
import { SimNet, SimTransport } from "./transport.js";

export interface NodeSimOptions {
  readonly seed: number;
  readonly nodes?: 3 | 5;
  /** Simulated milliseconds of faults and load; then everything heals and the run settles. */
  readonly durationMs?: number;
  readonly snapshotCount?: number;
  /** Disk damage at crashes (torn last write, bit flips); off, only unsynced loss happens. */
  readonly diskDamage?: boolean;
  /** Testing the checker: acknowledge before fsync (the simulator must catch the loss). */
  readonly unsafeNoFsync?: boolean;
  readonly trace?: boolean;
}

export interface NodeSimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violations: string[];
  readonly acked: number;
  readonly reads: number;
  readonly crashes: number;
  readonly corruptionsDetected: number;
  readonly writeFailures: number;
  readonly trace: string[];
}

interface Member {
  id: NodeId;
  disk: SimDisk;
  clock: SimClock;
  node?: RaftNode;
  kv?: KvStateMachine;
  transport?: SimTransport;
  /** Refused to start on a damaged disk: stays down (an operator would replace it). */
  corrupt: boolean;
  /** Its disk was damaged at the last crash: the next start must refuse. */
  damaged: boolean;
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function runNodeSimulation(opts: NodeSimOptions): Promise<NodeSimResult> {
  const rand = new SeededRand(opts.seed);
  const faultRand = rand.fork();
  const loadRand = rand.fork();
  const sched = new Scheduler();
  const net = new SimNet({ scheduler: sched, rand: rand.fork(), minDelayMs: 1, maxDelayMs: 10 });
  const ids = Array.from({ length: opts.nodes ?? 3 }, (_, i) => i + 1);
  const duration = opts.durationMs ?? 20_000;
  const trace: string[] = [];
  const say = (line: string) => {
    if (opts.trace === true || trace.length < 5000) trace.push(`t=${sched.now} ${line}`);
  };
  const violations: string[] = [];
  const members = new Map<NodeId, Member>(
    ids.map((id) => [
      id,
      { id, disk: new SimDisk(`n${id}`), clock: new SimClock(sched), corrupt: false, damaged: false },
    ]),
  );
  const cluster = new Map(ids.map((id) => [id, `sim://n${id}`]));
  let crashes = 0;
  let corruptionsDetected = 0;
  let writeFailures = 0;

  const start = async (m: Member): Promise<void> => {
    if (m.node !== undefined || m.corrupt) return;
    let logStore: SimLogStore;
    try {
      logStore = await SimLogStore.open(m.disk);
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      corruptionsDetected++;
      m.corrupt = true;
      say(`n${m.id} refuses to open its log: ${e.message}`);
      return;
    }
    const transport = new SimTransport(net, m.id);
    const kv = new KvStateMachine();
    const node = new RaftNode({
      id: m.id,
      initialCluster: cluster,
      initialClusterState: "new",
      logStore,
      transport,
      clock: m.clock,
      stateMachine: kv,
      rand: rand.fork(),
      heartbeatMs: 100,
      electionMs: 1000,
      snapshotCount: opts.snapshotCount ?? 50,
      snapshotCatchUpEntries: 10,
      requestTimeoutMs: 5000,
      unsafeNoFsync: opts.unsafeNoFsync === true,
    });
    try {
      await node.start();
    } catch (e) {
      if (e instanceof CorruptionError) {
        corruptionsDetected++;
        m.corrupt = true;
        say(`n${m.id} refuses to start: ${e.message}`);
        return;
      }
      throw e;
    }
    if (m.damaged) violations.push(`n${m.id} started on a damaged disk: it would serve corrupt data`);
    m.node = node;
    m.kv = kv;
    m.transport = transport;
    say(`n${m.id} started`);
  };

  const crash = (m: Member, damage: "none" | "tear" | "flip"): void => {
    if (m.node === undefined) return;
    crashes++;
    m.node.halt();
    m.clock.crash();
    if (m.transport !== undefined) net.leave(m.transport);
    m.node = undefined;
    m.kv = undefined;
    m.transport = undefined;
    m.damaged = damage !== "none";
    if (damage === "tear")
      say(`n${m.id} crashes tearing its last write (${m.disk.tearLastWrite(faultRand)} records)`);
    else if (damage === "flip") {
      m.disk.crash(faultRand);
      say(`n${m.id} crashes; bit flip in record ${m.disk.flipBit(faultRand)}`);
    } else {
      m.disk.crash(faultRand);
      say(`n${m.id} crashes`);
    }
  };

  // ---- the run ----
  for (const m of members.values()) await start(m);

  const acked = new Map<string, { value: string; at: number }>();
  let reads = 0;
  let nextKey = 0;
  const live = () => [...members.values()].filter((m) => m.node !== undefined);

  // Client load: a write or a read every ~20 ms at a random live member.
  const clientOp = () => {
    if (sched.now >= duration) return;
    sched.after(5 + loadRand.intn(30), clientOp);
    const targets = live();
    if (targets.length === 0) return;
    const m = targets[loadRand.intn(targets.length)] as Member;
    const node = m.node as RaftNode;
    if (loadRand.float() < 0.7) {
      const key = `k${nextKey++}`;
      const value = `v${sched.now}`;
      node.propose(encodeKv({ op: "put", key, value })).then(
        () => acked.set(key, { value, at: sched.now }),
        () => undefined,
      );
    } else {
      const invokedAt = sched.now;
      const mustSee = [...acked].filter(([, a]) => a.at < invokedAt);
      const kv = m.kv as KvStateMachine;
      node.readIndex().then(
        () => {
          reads++;
          for (const [key, a] of mustSee) {
            if (kv.data.get(key) !== a.value) {
              violations.push(
                `stale read on n${m.id} at t=${sched.now}: ${key} acknowledged at t=${a.at} is missing`,
              );
              break;
            }
          }
        },
        () => undefined,
      );
    }
  };
  sched.after(1000, clientOp);

  // Faults: every 1-3 s, one of crash (+ restart later), partition (+ heal later), disk failure.
  const fault = () => {
    if (sched.now >= duration - 3000) return;
    sched.after(1000 + faultRand.intn(2000), fault);
    const all = [...members.values()];
    const kind = faultRand.intn(10);
    if (kind < 5) {
      const victims = live();
      // Keep a quorum of healthy disks: damage only while no other member is corrupt.
      const anyCorrupt = all.some((m) => m.corrupt || m.damaged);
      if (victims.length <= Math.floor(ids.length / 2)) return;
      const m = victims[faultRand.intn(victims.length)] as Member;
      const damageRoll = opts.diskDamage === true && !anyCorrupt ? faultRand.intn(4) : 3;
      crash(m, damageRoll === 0 ? "tear" : damageRoll === 1 ? "flip" : "none");
      sched.after(200 + faultRand.intn(2000), () => void start(m));
    } else if (kind < 8) {
      const a = ids[faultRand.intn(ids.length)] as NodeId;
      const others = ids.filter((x) => x !== a);
      const oneWay = faultRand.intn(2) === 0;
      for (const b of others) {
        net.cut(a, b);
        if (!oneWay) net.cut(b, a);
      }
      say(`partition: n${a} isolated${oneWay ? " (one way: it cannot send)" : ""}`);
      sched.after(500 + faultRand.intn(3000), () => {
        net.healAll();
        say("partition healed");
      });
    } else if (kind === 9) {
      // Power failure of the whole cluster: only what each member synced survives.
      say("power failure: every member crashes");
      for (const m of live()) {
        crash(m, "none");
        sched.after(300 + faultRand.intn(1500), () => void start(m));
      }
    } else if (kind === 8) {
      const victims = live();
      if (victims.length <= Math.floor(ids.length / 2) + 1) return;
      const m = victims[faultRand.intn(victims.length)] as Member;
      m.disk.failWrites(true);
      writeFailures++;
      say(`n${m.id}: its disk starts failing writes`);
      // The operator notices, fixes the disk and restarts the member.
      sched.after(1500, () => {
        m.disk.failWrites(false);
        if (m.node !== undefined) {
          const failed = m.node.failed();
          say(
            `n${m.id} ${failed === undefined ? "did not notice" : `stopped taking writes: ${failed.message}`}`,
          );
          crash(m, "none");
          void start(m);
        }
      });
    }
  };
  sched.after(1500, fault);

  // Drive the scheduler one event at a time, letting the node loops' promises run in between.
  const runTo = async (end: number) => {
    for (;;) {
      let ran = false;
      sched.runUntil(end, () => {
        ran = true;
        return true;
      });
      await settle();
      if (!ran) break;
    }
  };
  await runTo(duration);

  // ---- heal, restart every member that can start, and settle ----
  net.healAll();
  for (const m of members.values()) m.disk.failWrites(false);
  for (const m of members.values()) if (m.node === undefined && !m.corrupt) await start(m);
  say("all faults healed");
  const healthy = live();
  let settled = false;
  for (let i = 0; i < 60 && !settled; i++) {
    await runTo(sched.now + 1000);
    const leaderNode = healthy.map((m) => m.node as RaftNode).find((n) => n.isLeader());
    if (leaderNode === undefined) continue;
    const final = await Promise.race([
      leaderNode.propose(encodeKv({ op: "put", key: "final", value: "1" })).then(
        () => true,
        () => false,
      ),
      runTo(sched.now + 3000).then(() => false),
    ]);
    if (!final) continue;
    await runTo(sched.now + 2000);
    const commit = leaderNode.commitIndex();
    settled = healthy.every((m) => (m.node as RaftNode).appliedIndex() >= commit);
  }
  if (!settled) {
    violations.push(
      "liveness: after healing, the cluster did not commit a new write and converge within 60 s",
    );
    for (const m of members.values()) {
      const n = m.node;
      say(
        n === undefined
          ? `n${m.id} down${m.corrupt ? " (corrupt)" : ""}`
          : `n${m.id} lead=${n.leader()} term=${n.term()} commit=${n.commitIndex()} applied=${n.appliedIndex()} failed=${n.failed()?.message ?? "no"}`,
      );
    }
  }

  // ---- checks ----
  for (const m of healthy) {
    const kv = m.kv as KvStateMachine;
    for (const [key, a] of acked) {
      if (kv.data.get(key) !== a.value) {
        violations.push(
          `lost acknowledged write: ${key}=${a.value} (acked at t=${a.at}) is missing on n${m.id}`,
        );
        break;
      }
    }
  }
  const states = healthy.map((m) => JSON.stringify([...(m.kv as KvStateMachine).data].sort()));
  if (settled && new Set(states).size > 1) violations.push("divergence: live members hold different states");

  for (const m of members.values()) if (m.node !== undefined) m.node.halt();
  return {
    seed: opts.seed,
    ok: violations.length === 0,
    violations,
    acked: acked.size,
    reads,
    crashes,
    corruptionsDetected,
    writeFailures,
    trace,
  };
}
