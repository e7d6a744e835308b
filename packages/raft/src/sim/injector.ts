/** Turns fault events into actions on the cluster, and each partition shape into cut links. */

import type { NodeId } from "../index.js";
import { propose, read } from "./clients.js";
import type { SimCluster } from "./cluster.js";
import { type FaultEvent, fmtFault, type PartitionShape } from "./faults.js";
import type { MembershipDriver } from "./membership.js";

/** Directed links to cut for a partition shape, among members (in id order) with the current leader. */
export function partitionLinks(
  shape: PartitionShape,
  pick: number,
  members: NodeId[],
  leader: NodeId | undefined,
): [NodeId, NodeId][] {
  const n = members.length;
  if (n < 2) return [];
  // Rotate by pick so that different picks isolate different nodes.
  const m = members.map((_, i) => members[(i + pick) % n] as NodeId);
  const l = leader !== undefined && members.includes(leader) ? leader : (m[0] as NodeId);
  const others = members.filter((x) => x !== l);
  const both = (a: NodeId[], b: NodeId[]) =>
    a.flatMap((x) =>
      b.flatMap((y): [NodeId, NodeId][] => [
        [x, y],
        [y, x],
      ]),
    );
  switch (shape) {
    case "isolateLeader":
      return both([l], others);
    case "majorityMinority": {
      const k = Math.floor((n - 1) / 2) || 1;
      return both(m.slice(0, k), m.slice(k));
    }
    case "oneWayFromLeader":
      // The leader hears everyone but nobody hears it: followers time out while it still thinks it leads.
      return others.map((o): [NodeId, NodeId] => [l, o]);
    case "oneWayToLeader":
      // Everyone hears the leader but it hears nobody: only CheckQuorum makes it step down.
      return others.map((o): [NodeId, NodeId] => [o, l]);
    case "oneWayPair":
      return [[m[0] as NodeId, m[1] as NodeId]];
    case "bridge": {
      // Partial connectivity: m[0] talks to both halves, the halves cannot talk to each other.
      const rest = m.slice(1);
      const half = Math.ceil(rest.length / 2);
      return both(rest.slice(0, half), rest.slice(half));
    }
  }
}

export function injectFault(c: SimCluster, membership: MembershipDriver, e: FaultEvent): void {
  if (c.trace.on) c.trace.add(`FAULT ${fmtFault(e)}`);
  switch (e.kind) {
    case "crash": {
      const node = c.pick(e.node, c.liveNodes());
      if (node !== undefined) c.crash(node, e.downMs);
      return;
    }
    case "partition": {
      const members = c.members().map((x) => x.id);
      const links = partitionLinks(e.shape, e.pick, members, c.leader()?.id);
      if (links.length === 0) return;
      c.stats.partitions++;
      for (const [a, b] of links) c.net.cut(a, b);
      if (c.trace.on)
        c.trace.add(
          `PARTITION ${e.shape} cuts ${links.map(([a, b]) => `${a}->${b}`).join(" ")} for ${e.durationMs}ms`,
        );
      c.sched.after(e.durationMs, () => {
        if (c.net.healed) return; // the final heal already cleared every cut
        for (const [a, b] of links) c.net.uncut(a, b);
        if (c.trace.on) c.trace.add(`PARTITION ${e.shape} healed`);
      });
      return;
    }
    case "pause": {
      const node = c.pick(e.node, c.liveNodes());
      if (node !== undefined) c.pause(node, e.durationMs);
      return;
    }
    case "slowDisk": {
      const node = c.pick(e.node, c.members());
      if (node === undefined) return;
      c.stats.slowDisks++;
      node.disk.slowUntil = c.sched.now + e.durationMs;
      node.disk.slowLatencyMs = e.latencyMs;
      return;
    }
    case "slowNode": {
      const node = c.pick(e.node, c.members());
      if (node === undefined) return;
      c.stats.slowNodes++;
      node.slowUntil = c.sched.now + e.durationMs;
      node.slowFactor = e.factor;
      return;
    }
    case "lossy":
      c.stats.lossyWindows++;
      c.net.addLossy(e.durationMs, e.dropRate, e.dupRate);
      return;
    case "transferLeader":
      membership.transferLeader(e.to);
      return;
    case "removeVoter":
      membership.removeVoter(e.node);
      return;
    case "addLearner":
      membership.addLearner();
      return;
    case "promoteLearner":
      membership.promoteLearner();
      return;
    case "burst": {
      const node = c.pick(e.node, c.liveNodes());
      if (node === undefined) return;
      propose(c, node, e.count);
      // Reads in the same burst: they must see the acknowledged part of it and all before.
      for (let i = 0; i < Math.ceil(e.count / 2); i++) read(c, node);
      return;
    }
  }
}
