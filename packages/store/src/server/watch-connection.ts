/**
 * What the watch streams of one client connection hold for it, together. A client that never
 * reads costs what its streams have queued (written, not yet taken by the peer's HTTP/2 flow
 * control) plus the live events gathered for them; without a bound per connection, a client
 * opening many streams on one connection could make the server hold any amount. etcd's grpc-go
 * transport bounds what each stream queues (its write quota) and etcd moves a watcher whose
 * channel is full to its victims, which wait; here a connection over its budget stops taking
 * events for its streams and their watchers catch up from the MVCC history once it has drained.
 */

/** Bytes one connection's watch streams may hold, queued and gathered, before they stop taking more. */
export const connectionBudgetBytes = 4 * 1024 * 1024;

export class WatchConnection {
  /** Written to the connection's streams, not yet flushed towards the client. */
  queuedBytes = 0;
  /** Live events gathered for its streams and not yet written (counted once per watcher). */
  pendingBytes = 0;
  /** Over budget: catch-up resumes from a write callback once half of it has drained. */
  waitingForDrain = false;
  /** Open watch streams on it (the hub forgets the connection at 0). */
  streams = 0;

  constructor(private readonly budget = connectionBudgetBytes) {}

  /** Past its budget: its streams write nothing more until the client has read some of it. */
  get full(): boolean {
    return this.queuedBytes >= this.budget;
  }

  /** Queued and gathered bytes together over the budget: its streams' watchers must catch up. */
  get overBudget(): boolean {
    return this.queuedBytes + this.pendingBytes > this.budget;
  }

  /** Drained far enough below the budget to take catch-up responses again. */
  get drained(): boolean {
    return this.queuedBytes < this.budget / 2;
  }
}
