/**
 * Liveness after the heal: once every fault has ended, within `boundTicks` ticks
 * 1. a leader must be elected and must apply a new proposal (the probe, re-proposed at whichever
 *    node leads), and
 * 2. every running member of the committed configuration must apply up to the probe too: a
 *    follower (or learner) stuck behind forever is a liveness failure even while a quorum commits.
 */
import { propose } from "./clients.js";
import type { SimCluster } from "./cluster.js";
import type { SimNode } from "./node.js";
import { violated } from "./violation.js";

export interface LivenessResult {
  /** Simulated ms from the heal until the leader applied the probe. */
  ms: number;
  /** Simulated ms from the heal until every running member applied it. */
  allMs: number;
  leader: SimNode;
  probeIndex: number;
}

export function checkLiveness(c: SimCluster, boundTicks: number): LivenessResult {
  const healAt = c.sched.now;
  const deadline = healAt + boundTicks * c.opts.tickMs;
  let probe: { value: number; node: SimNode; incarnation: number } | undefined;
  let committed: { ms: number; leader: SimNode; probeIndex: number } | undefined;
  c.onAck = (node, value, index) => {
    if (probe !== undefined && value === probe.value && node === probe.node)
      committed = { ms: c.sched.now - healAt, leader: node, probeIndex: index };
  };
  const members = () =>
    c.liveNodes().filter((n) => c.conf.voters.includes(n.id) || c.conf.learners.includes(n.id));
  const laggard = (index: number) => members().find((n) => n.sm.appliedIndex < index);
  const monitor = () => {
    if (committed !== undefined) return;
    const leader = c.leader();
    const current =
      leader !== undefined &&
      probe !== undefined &&
      probe.node === leader &&
      probe.incarnation === leader.incarnation &&
      leader.proposed.has(probe.value);
    if (leader !== undefined && !current) {
      const [value] = propose(c, leader, 1);
      probe = { value: value as number, node: leader, incarnation: leader.incarnation };
      if (c.trace.on) c.trace.add(`LIVENESS probe v${value} at n${leader.id}`);
    }
    c.sched.after(c.opts.tickMs, monitor);
  };
  c.sched.after(0, monitor);
  c.sched.runUntil(deadline, () => committed !== undefined && laggard(committed.probeIndex) === undefined);
  c.onAck = undefined;
  const bound = `${boundTicks} ticks (${boundTicks * c.opts.tickMs}ms) after the heal at t=${healAt}`;
  if (committed === undefined) {
    const l = c.leader();
    violated(
      "liveness",
      `no leader applied a new proposal within ${bound}; leader now: ${l === undefined ? "none" : `n${l.id}`}`,
    );
  }
  const behind = laggard(committed.probeIndex);
  if (behind !== undefined) {
    violated(
      "liveness",
      `n${behind.id} did not catch up within ${bound}: it applied up to ${behind.sm.appliedIndex}, the leader n${committed.leader.id} committed the probe at ${committed.probeIndex}`,
    );
  }
  const allMs = c.sched.now - healAt;
  if (c.trace.on) {
    c.trace.add(
      `LIVENESS ok: n${committed.leader.id} applied the probe at ${committed.probeIndex} ${committed.ms}ms after the heal; every member had it after ${allMs}ms`,
    );
  }
  return { ...committed, allMs };
}
