/**
 * What the watch streams of one client connection hold for it, together. A client that never
 * reads costs what its streams have queued (written, not yet taken by the peer's HTTP/2 flow
 * control) plus the live events gathered for them; each stream alone is bounded (about 1 MiB
 * queued), but without a bound per connection a client opening many streams on one connection
 * could make the server hold that much per stream. etcd's grpc-go transport lets each stream
 * queue at most its write quota (64 KiB) and etcd parks a watcher whose channel is full as a
 * victim; here, once a connection's streams together hold its budget, each of them may hold only
 * that share, and their watchers catch up from the MVCC history as the client reads.
 */

/** Bytes one connection's watch streams may hold together (queued and gathered). */
export const connectionBudgetBytes = 4 * 1024 * 1024;

/**
 * What each stream of a connection over its budget may still hold (grpc-go's defaultWriteQuota):
 * a stream whose client reads keeps going, one whose client does not stops here. So a reading
 * stream is never starved by its never-reading neighbours, and those cost at most this each.
 */
export const streamShareBytes = 64 * 1024;

export class WatchConnection {
  /** Written to the connection's streams, not yet flushed towards the client. */
  queuedBytes = 0;
  /** Live events gathered for its streams and not yet written (counted once per watcher). */
  pendingBytes = 0;
  /** Open watch streams on it (the hub forgets the connection at 0). */
  streams = 0;

  constructor(private readonly budget = connectionBudgetBytes) {}

  /** Its streams together hold its budget: each may hold only streamShareBytes more. */
  get overBudget(): boolean {
    return this.queuedBytes + this.pendingBytes >= this.budget;
  }
}
