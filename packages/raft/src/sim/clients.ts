/**
 * Client requests: a proposal of new values, or a ReadIndex read, sent to one node. A value is
 * acknowledged when that node applies it; a read is invoked when the client sends it (so the
 * acknowledged writes it must see are fixed then) and served when the node has applied up to its
 * read index.
 */
import { NotLeaderError, ProposalDroppedError } from "../index.js";
import type { SimCluster } from "./cluster.js";
import { encodeReadCtx, type SimNode } from "./node.js";
import { encodeValue } from "./statemachine.js";

/** A client proposes `count` new values at node; returns them. */
export function propose(c: SimCluster, node: SimNode, count: number): number[] {
  const values = Array.from({ length: count }, () => c.nextValueId++);
  c.nodeEvent(node, 0, (raw) => {
    for (const v of values) {
      try {
        raw.propose(encodeValue(v));
        node.proposed.add(v);
        c.stats.proposals++;
        if (c.trace.on) c.trace.add(`n${node.id} propose v${v}`);
      } catch (e) {
        if (!(e instanceof ProposalDroppedError || e instanceof NotLeaderError)) throw e;
        c.stats.proposalsDropped++;
        if (c.trace.on) c.trace.add(`n${node.id} propose v${v} refused: ${e.message}`);
      }
    }
  });
  return values;
}

/** A client asks node for a linearizable read. */
export function read(c: SimCluster, node: SimNode): void {
  const id = c.nextReadId++;
  c.stats.reads++;
  c.clients.readInvoked(id, node.id, c.sched.now);
  c.nodeEvent(node, 0, (raw) => {
    try {
      raw.readIndex(encodeReadCtx(id));
      node.reads.add(id);
      if (c.trace.on) c.trace.add(`n${node.id} read r${id} invoked`);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError || e instanceof NotLeaderError)) throw e;
      c.stats.readsFailed++;
      c.clients.readFailed(id);
      if (c.trace.on) c.trace.add(`n${node.id} read r${id} refused: ${e.message}`);
    }
  });
}
