/**
 * One gRPC Watch stream of the watch hub (watch.ts): its watchers, what it has written and not yet
 * flushed towards its client, the live events gathered for it, and the bounds on both (its own,
 * and its share of its connection's: watch-connection.ts).
 */
import type * as g from "@skiff/etcd-client";
import type { ServerStreamCall } from "../grpc/backend.js";
import { streamShareBytes, type WatchConnection } from "./watch-connection.js";
import { encodeWatchResponse, frameWatchResponses } from "./watch-encode.js";

/**
 * Unflushed bytes past which a stream's watchers stop getting live responses and catch up from
 * history instead, in batches of many revisions per response (as etcd's slow "victim" watchers).
 */
const liveQueuedBytes = 64 * 1024;
/** Unflushed bytes past which catching up pauses until the client has read half of them. */
const maxQueuedBytes = 1024 * 1024;

/** What a stream asks of its hub when its client has read what it wrote. */
export interface StreamHost {
  /** Write the live events gathered for streams that have flushed. */
  scheduleFlush(): void;
  /** Go on catching up the watchers of streams that were full. */
  resume(): void;
}

/** Roughly what a response weighs on the wire. */
function responseBytes(resp: g.WatchResponse): number {
  let n = 64;
  for (const e of resp.events ?? [])
    n += 48 + (e.kv?.key.length ?? 0) + (e.kv?.value?.length ?? 0) + (e.prev_kv?.value?.length ?? 0);
  return n;
}

export interface Watcher {
  id: number;
  stream: WatchStream;
  key: Uint8Array;
  rangeEnd: Uint8Array | undefined;
  /** The next revision this watcher must see. */
  nextRev: number;
  noPut: boolean;
  noDelete: boolean;
  prevKv: boolean;
  progressNotify: boolean;
  synced: boolean;
}

export type WatchCall = ServerStreamCall<g.WatchRequest, g.WatchResponse>;

/** One gRPC Watch stream: many watchers, ids unique within the stream. */
export class WatchStream {
  readonly watchers = new Map<number, Watcher>();
  private nextId = 0;
  queuedBytes = 0;
  /**
   * Full (see `full`): catch-up resumes from its write callbacks once it is not, and has less
   * than half its own bound queued.
   */
  waitingForDrain = false;
  closed = false;
  /**
   * Live events not yet written, per watcher, with the first revision each has not been sent.
   * They go out when the stream has flushed what it wrote before (so a slow client gets fewer,
   * larger responses), or move to catch-up past livePendingBytes or the connection's budget.
   */
  pending = new Map<Watcher, { from: number; events: Uint8Array[]; bytes: number }>();
  /** Bytes of `pending`, counted once per watcher (and in the connection's total). */
  private pendingTotal = 0;
  /** No live flush before this time (ms, the hub's clock): see flushGapMs. */
  nextFlushAt = 0;
  /**
   * A progress request arrived while a watcher was catching up or had events not yet written: it
   * is answered once every watcher is synced, after the events it covers (etcd 3.4.25's
   * deferredProgress; before that etcd answered at once, with a revision the stream had not
   * delivered yet).
   */
  deferredProgress = false;

  constructor(
    readonly call: WatchCall,
    readonly hub: StreamHost,
    readonly conn: WatchConnection,
  ) {}

  get pendingBytes(): number {
    return this.pendingTotal;
  }

  set pendingBytes(n: number) {
    this.conn.pendingBytes += n - this.pendingTotal;
    this.pendingTotal = n;
  }

  /** Every watcher is synced and has been given every event up to the current revision. */
  get synced(): boolean {
    if (this.pending.size > 0) return false;
    for (const w of this.watchers.values()) if (!w.synced) return false;
    return true;
  }

  /** Writes a response; false once the stream holds more than its share of unflushed bytes. */
  send(resp: g.WatchResponse): boolean {
    return this.write(responseBytes(resp), (cb) => this.call.write(resp, cb));
  }

  /** Writes an already-encoded WatchResponse (see watch-encode.ts). */
  sendEncoded(resp: Buffer): boolean {
    return this.write(resp.length, (cb) => this.call.write(resp, cb));
  }

  /**
   * Writes responses that share one header together: one buffer of framed messages and one
   * HTTP/2 DATA frame where the call can take framed messages (a client pays per frame), else one
   * response per write.
   */
  sendShared(header: Uint8Array, ids: number[], events: Uint8Array[][]): boolean {
    const call = this.call;
    if (call.writeFramed === undefined) {
      let ok = true;
      for (let i = 0; i < ids.length; i++)
        ok = this.sendEncoded(encodeWatchResponse(header, ids[i] as number, events[i] as Uint8Array[]));
      return ok;
    }
    const framed = frameWatchResponses(header, ids, events);
    return this.write(framed.length, (cb) => call.writeFramed?.(framed, cb));
  }

  private write(bytes: number, write: (cb: () => void) => void): boolean {
    if (this.closed) return false;
    const conn = this.conn;
    this.queuedBytes += bytes;
    conn.queuedBytes += bytes;
    // The callback runs when the response has been flushed towards the client.
    write(() => {
      this.queuedBytes -= bytes;
      conn.queuedBytes -= bytes;
      if (this.queuedBytes === 0 && this.pending.size > 0) this.hub.scheduleFlush();
      if (this.waitingForDrain && this.queuedBytes < maxQueuedBytes / 2 && !this.full) {
        this.waitingForDrain = false;
        this.hub.resume();
      }
    });
    return this.queuedBytes < liveQueuedBytes;
  }

  /** What it holds for its client: queued, and gathered (counted once per watcher). */
  get heldBytes(): number {
    return this.queuedBytes + this.pendingTotal;
  }

  /** Its connection's streams together hold their budget, and it holds its share of it. */
  get overShare(): boolean {
    return this.conn.overBudget && this.heldBytes >= streamShareBytes;
  }

  /**
   * Nothing more is written to it until its client reads: it has its own bound queued, or it is
   * over its share of its connection (watch-connection.ts). Its write callbacks resume it.
   */
  get full(): boolean {
    return this.queuedBytes >= maxQueuedBytes || this.overShare;
  }

  /** Requested 0 picks the next free id; a requested id in use is refused (etcd's watchStream.Watch). */
  allocateId(requested: number): number | undefined {
    if (requested > 0) return this.watchers.has(requested) ? undefined : requested;
    while (this.watchers.has(this.nextId)) this.nextId++;
    return this.nextId++;
  }
}
