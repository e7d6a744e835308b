/**
 * Client-visible guarantees: acknowledged writes and linearizable reads (Raft dissertation §6.4).
 *
 * A write is acknowledged when the node the client proposed it to applies it. A ReadIndex read
 * returns the state machine of the node it was sent to, once that node has applied up to the
 * ReadState's index. Every read must see:
 * - every write acknowledged before the read was invoked (its log index is applied),
 * - at least the state of every read that completed before it was invoked (real-time order),
 * - a prefix of the one committed history (its digest matches the committed history's).
 */
import type { NodeId } from "../index.js";
import type { ListStateMachine } from "./statemachine.js";
import { violated } from "./violation.js";

interface PendingRead {
  readonly node: NodeId;
  readonly invokedAt: number;
  /** Highest log index of a write acknowledged before the read was invoked, and that write. */
  readonly ackedIndex: number;
  readonly ackedValue: number | undefined;
  /** Highest state (applied index) returned by a read that completed before this one was invoked. */
  readonly seenIndex: number;
}

export class ClientChecker {
  /** Acknowledged values (and the index each was applied at), in acknowledgement order. */
  readonly acked: { value: number; index: number }[] = [];
  private maxAckedIndex = 0;
  private lastAckedValue: number | undefined;
  private maxReadIndex = 0;
  private readonly pending = new Map<number, PendingRead>();
  readsServed = 0;

  /** Value v, proposed at some node, was applied there at log index `index`. */
  ack(value: number, index: number): void {
    this.acked.push({ value, index });
    if (index >= this.maxAckedIndex) {
      this.maxAckedIndex = index;
      this.lastAckedValue = value;
    }
  }

  readInvoked(id: number, node: NodeId, now: number): void {
    this.pending.set(id, {
      node,
      invokedAt: now,
      ackedIndex: this.maxAckedIndex,
      ackedValue: this.lastAckedValue,
      seenIndex: this.maxReadIndex,
    });
  }

  /** The read could not be served (dropped, or its node crashed): it returns nothing, so it constrains nothing. */
  readFailed(id: number): void {
    this.pending.delete(id);
  }

  isPending(id: number): boolean {
    return this.pending.has(id);
  }

  /** Read `id` returns `sm` (the node has applied at least the ReadState's index). */
  readServed(
    id: number,
    node: NodeId,
    readIndex: number,
    sm: ListStateMachine,
    committedDigest: string | undefined,
  ): void {
    const r = this.pending.get(id);
    if (r === undefined) return; // a duplicate ReadState for a read already served
    this.pending.delete(id);
    this.readsServed++;
    const a = sm.appliedIndex;
    const what = `read r${id} (invoked at t=${r.invokedAt} on n${r.node}, read index ${readIndex}) returned the state at index ${a}`;
    if (a < readIndex) violated("linearizable-read", `${what}, below its read index`);
    if (a < r.ackedIndex || (r.ackedValue !== undefined && !sm.has(r.ackedValue))) {
      violated(
        "linearizable-read",
        `${what}, but write v${r.ackedValue} was acknowledged at index ${r.ackedIndex} before the read`,
      );
    }
    if (a < r.seenIndex)
      violated(
        "linearizable-read",
        `${what}, older than a read that completed before it (index ${r.seenIndex})`,
      );
    if (committedDigest !== undefined && committedDigest !== sm.digest) {
      violated("linearizable-read", `${what}, a history that differs from the committed one`);
    }
    if (node !== r.node) violated("linearizable-read", `read r${id} was served by n${node}, not n${r.node}`);
    if (a > this.maxReadIndex) this.maxReadIndex = a;
  }

  /**
   * At the end: the final leader, having applied its liveness probe (proposed after the heal, so
   * after every write acknowledged during the faults), holds every acknowledged write at or below
   * its applied index ("no acknowledged write lost").
   */
  finalCheck(leader: NodeId, sm: ListStateMachine): void {
    for (const { value, index } of this.acked) {
      if (index <= sm.appliedIndex && !sm.has(value)) {
        violated(
          "acknowledged-write-lost",
          `write v${value} was acknowledged at index ${index} but the final leader n${leader} does not have it`,
        );
      }
    }
  }
}
