import type { Message, NodeId } from "./types.js";

/** Context bytes as a map key. */
export function ctxKey(ctx: Uint8Array): string {
  let s = "";
  for (let i = 0; i < ctx.length; i++) s += String.fromCharCode(ctx[i] as number);
  return s;
}

interface ReadIndexStatus {
  readonly req: Message;
  readonly index: number;
  readonly acks: Set<NodeId>;
}

/**
 * Pending ReadIndex requests on the leader (etcd's readOnly, "safe" option; Raft dissertation
 * §6.4): a read at commit index `index` may be served once a quorum acknowledged a heartbeat sent
 * after the request arrived, which proves no newer leader existed at that moment.
 */
export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  /** Records a request to be answered at `index` once a quorum acknowledges its heartbeat. */
  addRequest(index: number, m: Message, ctx: Uint8Array): void {
    const key = ctxKey(ctx);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req: m, index, acks: new Set() });
    this.queue.push(key);
  }

  /** Records a heartbeat acknowledgement; returns the acknowledgers of that request so far. */
  recvAck(id: NodeId, ctx: Uint8Array): ReadonlySet<NodeId> | undefined {
    const rs = this.pending.get(ctxKey(ctx));
    if (rs === undefined) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /**
   * Dequeues the request with this context and every request queued before it (they are
   * confirmed by the same round, since heartbeats are answered in order).
   */
  advance(ctx: Uint8Array): { req: Message; index: number }[] {
    const key = ctxKey(ctx);
    const i = this.queue.indexOf(key);
    if (i < 0) return [];
    const done = this.queue.slice(0, i + 1);
    this.queue = this.queue.slice(i + 1);
    return done.map((k) => {
      const rs = this.pending.get(k) as ReadIndexStatus;
      this.pending.delete(k);
      return { req: rs.req, index: rs.index };
    });
  }

  /** The context of the newest pending request (piggybacked on heartbeats). */
  lastPendingRequestCtx(): Uint8Array | undefined {
    const last = this.queue[this.queue.length - 1];
    return last === undefined ? undefined : this.pending.get(last)?.req.context;
  }

  get size(): number {
    return this.queue.length;
  }
}
