import { SeededRand } from "@skiff/raft";
import { Scheduler } from "@skiff/raft/sim";
import { waitFor } from "@skiff/testkit";
import { Registry } from "prom-client";
import t from "tap";
import { encodeKv, KvStateMachine } from "../src/member/kv.js";
import { type Clock, realClock } from "../src/raftnode/clock.js";
import { NodeMetrics } from "../src/raftnode/metrics.js";
import { RaftNode } from "../src/raftnode/node.js";
import { SimClock } from "../src/sim/clock.js";
import { SimDisk, SimLogStore } from "../src/sim/logstore.js";
import { SimNet, SimTransport } from "../src/sim/transport.js";

/**
 * One contract for both clocks: every() repeats until cancelled, after() fires once unless
 * cancelled. On real time, how many ticks fit in 55 ms depends on how busy the machine is, so
 * there every() is checked by waiting for three ticks, and only never to tick faster than its
 * period from the first tick on (timers fire late on a busy machine, never early; one tick of
 * slack for the event loop's cached time). The checks after a cancel hold on real time too: a timer due earlier than the
 * one `advance` waits for runs first, however late both are.
 */
async function clockContract(
  t: Tap.Test,
  name: string,
  clock: Clock,
  advance: (ms: number) => Promise<void>,
  realTime = false,
) {
  t.test(`clock contract: ${name}`, async (t) => {
    const t0 = clock.now();
    let ticks = 0;
    const at: number[] = [];
    const stop = clock.every(10, () => {
      ticks++;
      at.push(clock.now());
    });
    if (realTime) await waitFor(() => ticks >= 3, { what: "three ticks of every(10)" });
    else await advance(55);
    stop();
    const seen = ticks;
    if (realTime) {
      const span = (at.at(-1) ?? 0) - (at[0] ?? 0);
      t.ok(seen - 1 <= Math.floor(span / 10) + 1, `every(10) fired ${seen} times in ${span.toFixed(0)} ms`);
    } else t.ok(seen >= 3 && seen <= 6, `every(10) fired ${seen} times in 55 ms`);
    await advance(40);
    t.equal(ticks, seen, "no tick after cancel");
    let fired = 0;
    clock.after(20, () => fired++);
    const cancel = clock.after(20, () => fired++);
    cancel();
    await advance(60);
    t.equal(fired, 1, "after() fires once; a cancelled one never");
    t.ok(clock.now() >= t0 + (realTime ? 100 : 150), "now() advanced");
  });
}

declare namespace Tap {
  type Test = Parameters<Parameters<typeof t.test>[1]>[0];
}

clockContract(t, "real", realClock, (ms) => new Promise((r) => setTimeout(r, ms)), true);
{
  const sched = new Scheduler();
  clockContract(t, "simulated", new SimClock(sched), async (ms) => sched.runUntil(sched.now + ms));
}

/** A started one-member cluster in the simulator, and run(ms) to advance its time. */
async function singleMember(disk: SimDisk, seed: number, metrics: NodeMetrics) {
  const sched = new Scheduler();
  const net = new SimNet({ scheduler: sched, rand: new SeededRand(seed) });
  const node = new RaftNode({
    id: 1,
    initialCluster: new Map([[1, "sim://n1"]]),
    initialClusterState: "new",
    logStore: await SimLogStore.open(disk),
    transport: new SimTransport(net, 1),
    clock: new SimClock(sched),
    stateMachine: new KvStateMachine(),
    rand: new SeededRand(seed + 1),
    metrics,
  });
  await node.start();
  const run = async (ms: number) => {
    const end = sched.now + ms;
    while (sched.now < end) {
      sched.runUntil(Math.min(end, sched.now + 10));
      await new Promise((r) => setImmediate(r));
    }
  };
  return { node, run };
}

t.test("a member whose disk fails stops taking writes with a clear error", async (t) => {
  const disk = new SimDisk("n1");
  const { node, run } = await singleMember(disk, 1, new NodeMetrics(new Registry()));
  await run(3000);
  t.ok(node.isLeader(), "a single member leads itself");
  const ok = node.propose(encodeKv({ op: "put", key: "a", value: "1" }));
  await run(100);
  t.same(await ok, { index: node.appliedIndex(), prev: undefined });
  disk.failWrites(true);
  const failing = t.rejects(
    node.propose(encodeKv({ op: "put", key: "b", value: "2" })),
    /raft log write to n1 failed: ENOSPC/,
    "the write in flight fails with the disk's error",
  );
  await run(100);
  await failing;
  t.match(node.failed()?.message ?? "", /ENOSPC/, "the member is marked failed");
  await t.rejects(
    node.propose(encodeKv({ op: "put", key: "c", value: "3" })),
    /ENOSPC/,
    "later writes are refused at once",
  );
  await t.rejects(node.readIndex(), /ENOSPC/, "and reads too: the member stops serving");
  node.halt();
});

t.test("linearizable reads queued together share one ReadIndex round", async (t) => {
  const metrics = new NodeMetrics(new Registry());
  const { node, run } = await singleMember(new SimDisk("n1"), 3, metrics);
  await run(3000);
  const rounds = async () => (await metrics.readIndexRounds.get()).values[0]?.value ?? 0;
  const before = await rounds();
  const write = node.propose(encodeKv({ op: "put", key: "k", value: "v" }));
  await run(50);
  const { index } = (await write) as { index: number };
  const reads = Array.from({ length: 50 }, () => node.readIndex().then(() => node.appliedIndex()));
  await run(200);
  const applied = await Promise.all(reads);
  t.ok(
    applied.every((a) => a >= index),
    "every read sees the write acknowledged before it",
  );
  const used = (await rounds()) - before;
  t.ok(used >= 1 && used <= 2, `50 reads took ${used} ReadIndex round(s)`);
  node.halt();
});
