/**
 * etcd's Watch service on the MVCC history (etcd's watchableStore, simplified): every watcher is
 * either synced (it gets each applied revision's events as they happen) or catching up (it is fed
 * from the MVCC history in bounded batches until it reaches the current revision). A watcher whose
 * stream cannot keep up is moved back to catching up: its memory stays bounded, it loses nothing.
 * Events of one revision always go out in one response (atomic per revision). A snapshot installed
 * from the leader moves every watcher back to catching up (etcd's watchableStore.Restore), so a
 * stream never skips a revision: it gets each one once, or a cancel with compact_revision.
 */

import type * as g from "@skiff/etcd-client";
import { WatchFilterType } from "@skiff/etcd-client";
import { failStream } from "../grpc/errors.js";
import { compareBytes } from "../mvcc/bytes.js";
import { MvccError } from "../mvcc/errors.js";
import type { EventCache as MadeEvents } from "../mvcc/history.js";
import type * as m from "../mvcc/types.js";
import type { HeaderFields } from "./convert.js";
import type { StoreStateMachine } from "./statemachine.js";
import { WatchConnection } from "./watch-connection.js";
import { encodeHeaderField, encodeWatchResponse } from "./watch-encode.js";
import { EncodedEvents, EventCache, matches } from "./watch-events.js";
import { type StreamHost, type WatchCall, type Watcher, WatchStream } from "./watch-stream.js";

/** Events a catching-up watcher reads per step. */
const catchUpBatch = 500;
/** A catch-up response stops taking whole revisions past this size (large buffers linger in RSS). */
const catchUpResponseBytes = 16 * 1024;
/**
 * Live events waiting for a busy stream, counted once per watcher, past which its watchers catch
 * up from history instead. The events themselves are shared among the watchers (one encoding per
 * event), so this is far more than the memory they hold; catching up reads history once per
 * watcher, which with many watchers on one prefix costs more than the wait.
 */
const livePendingBytes = 4 * 1024 * 1024;
/**
 * Most a stream frames per flush (whole watchers' batches): the rest stays pending, shared, and
 * goes once the client has read this (framing copies each event once per watcher).
 */
const flushFrameBytes = 256 * 1024;
/**
 * etcd's watch errors (mvcc/watcher.go), answered as etcd's watch server does: a created and
 * canceled response with watch_id -1 and the error as cancel_reason.
 */
const errDuplicateWatchId = "mvcc: duplicate watch ID provided on the WatchStream";
const errEmptyWatcherRange = "mvcc: watcher range is empty";
/** etcd's watch server watches key "\0", the smallest key, for an empty key. */
const smallestKey = new Uint8Array([0]);
/**
 * After a flush of n live responses a stream's next flush waits n times this long (at most the
 * batch interval): a stream with one or a few watchers gets each revision at once, a stream
 * carrying many busy watchers writes at most about 1,000 / this responses per second and each of
 * its responses carries the revisions since the last one (see flush()).
 */
const flushGapPerResponseMs = 2;

/** The wait before a stream's next live flush, after one of `responses` responses. */
export function flushGapMs(responses: number, batchIntervalMs: number): number {
  return Math.min(batchIntervalMs, responses * flushGapPerResponseMs);
}

export interface WatchHubOptions {
  /** etcd's --experimental-watch-progress-notify-interval (10 minutes). */
  readonly progressNotifyIntervalMs?: number;
  /**
   * --experimental-watch-batch-interval: the longest a busy stream holds live events to send
   * several revisions per response (100 ms; 0 writes every revision at once). See flushGapMs.
   */
  readonly batchIntervalMs?: number;
  /** The clock for the flush pacing (ms; performance.now by default). */
  readonly now?: () => number;
}

export interface WatchHubStats {
  /** Open Watch streams, and their watchers. */
  streams: number;
  watchers: number;
  /** Watchers catching up from history (etcd's unsynced and victim watchers). */
  slowWatchers: number;
  /** Responses written and not yet flushed towards the clients. */
  queuedBytes: number;
  /** Live events gathered for streams and not yet written (counted once per watcher). */
  pendingBytes: number;
}

export class WatchHub implements StreamHost {
  private readonly streams = new Set<WatchStream>();
  /** The client connections of the streams (a call without one is a connection of its own). */
  private readonly connections = new Map<object, WatchConnection>();
  private catchUpScheduled = false;
  private progressTimer: ReturnType<typeof setInterval> | undefined;
  private readonly batchIntervalMs: number;
  private readonly now: () => number;
  /** The timer of the next paced flush, and when it fires. */
  private flushTimer: { at: number; timer: ReturnType<typeof setTimeout> } | undefined;

  constructor(
    private readonly sm: StoreStateMachine,
    private readonly header: () => HeaderFields,
    opts: WatchHubOptions = {},
  ) {
    this.batchIntervalMs = opts.batchIntervalMs ?? 100;
    this.now = opts.now ?? (() => performance.now());
    sm.onEvents = (rev, events) => this.onEvents(rev, events);
    sm.onRestored = () => this.onRestored();
    this.progressTimer = setInterval(() => this.progressNotify(), opts.progressNotifyIntervalMs ?? 600_000);
    this.progressTimer.unref();
  }

  close(): void {
    if (this.progressTimer !== undefined) clearInterval(this.progressTimer);
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer.timer);
    for (const s of this.streams) {
      s.closed = true;
      s.call.end();
    }
    this.streams.clear();
  }

  get watcherCount(): number {
    let n = 0;
    for (const s of this.streams) n += s.watchers.size;
    return n;
  }

  /** What the hub serves and holds now, for its metrics (see watch-metrics.ts). */
  get stats(): WatchHubStats {
    const st = { streams: this.streams.size, watchers: 0, slowWatchers: 0, queuedBytes: 0, pendingBytes: 0 };
    for (const s of this.streams) {
      st.watchers += s.watchers.size;
      for (const w of s.watchers.values()) if (!w.synced) st.slowWatchers++;
    }
    // By connection: a closed stream's writes still queued count until their callbacks run.
    for (const c of this.connections.values()) {
      st.queuedBytes += c.queuedBytes;
      st.pendingBytes += c.pendingBytes;
    }
    return st;
  }

  /** Serves one Watch stream until the client ends it. */
  serve(call: WatchCall): void {
    const key = call.connection ?? call;
    let conn = this.connections.get(key);
    if (conn === undefined) {
      conn = new WatchConnection();
      this.connections.set(key, conn);
    }
    conn.streams++;
    const stream = new WatchStream(call, this, conn);
    this.streams.add(stream);
    call.on("data", (req: g.WatchRequest) => {
      try {
        this.request(stream, req);
      } catch (e) {
        failStream(call, e);
      }
    });
    const end = () => {
      if (stream.closed) return;
      stream.closed = true;
      this.streams.delete(stream);
      stream.pending.clear();
      stream.pendingBytes = 0;
      // Writes not yet flushed still run their callbacks, which take their bytes off the count.
      if (--(conn as WatchConnection).streams === 0) this.connections.delete(key);
    };
    call.on("end", () => {
      end();
      call.end();
    });
    call.on("error", end);
    call.on("cancelled", end);
  }

  private hdr(): g.ResponseHeader {
    return { ...this.header(), revision: this.sm.mvcc.revision };
  }

  private request(stream: WatchStream, req: g.WatchRequest): void {
    if (
      req.create_request !== undefined &&
      (req.request_union === undefined || req.request_union === "create_request")
    ) {
      this.create(stream, req.create_request);
    } else if (
      req.cancel_request !== undefined &&
      (req.request_union === undefined || req.request_union === "cancel_request")
    ) {
      const id = Number(req.cancel_request.watch_id);
      const w = stream.watchers.get(id);
      if (w !== undefined) {
        stream.watchers.delete(id);
        this.dropPending(stream, w);
        stream.send({ header: this.hdr(), watch_id: id, canceled: true });
        this.answerDeferredProgress(stream);
      }
    } else if (req.progress_request !== undefined) {
      // The response (watch_id -1) carries the current revision, so it goes only when the stream
      // has been given every event up to it: at once if every watcher is synced, else once they
      // are (etcd's RequestProgressAll and deferredProgress). Requests meanwhile make one answer.
      stream.deferredProgress = true;
      this.answerDeferredProgress(stream);
    }
  }

  /** Answers a deferred progress request once the stream has delivered everything. */
  private answerDeferredProgress(stream: WatchStream): void {
    if (!stream.deferredProgress || stream.closed || !stream.synced) return;
    stream.deferredProgress = false;
    stream.send({ header: this.hdr(), watch_id: -1 });
  }

  /** A watcher's gathered live events, dropped (it is canceled or goes back to catching up). */
  private dropPending(stream: WatchStream, w: Watcher): void {
    const p = stream.pending.get(w);
    if (p === undefined) return;
    stream.pending.delete(w);
    stream.pendingBytes -= p.bytes;
    w.nextRev = Math.min(w.nextRev, p.from);
  }

  private create(stream: WatchStream, c: g.WatchCreateRequest): void {
    const current = this.sm.mvcc.revision;
    const key = c.key.length > 0 ? c.key : smallestKey;
    const rangeEnd = c.range_end.length > 0 ? c.range_end : undefined;
    // etcd refuses a range with nothing in it (key >= range_end; "\0" means from key), then an
    // id in use, both before making a watcher.
    const fromKey = rangeEnd !== undefined && rangeEnd.length === 1 && rangeEnd[0] === 0;
    const empty = rangeEnd !== undefined && !fromKey && compareBytes(key, rangeEnd) >= 0;
    const id = empty ? undefined : stream.allocateId(Number(c.watch_id));
    if (id === undefined) {
      stream.send({
        header: this.hdr(),
        watch_id: -1,
        created: true,
        canceled: true,
        cancel_reason: empty ? errEmptyWatcherRange : errDuplicateWatchId,
      });
      return;
    }
    const start = Number(c.start_revision);
    const w: Watcher = {
      id,
      stream,
      key,
      rangeEnd,
      nextRev: start > 0 ? start : current + 1,
      noPut: c.filters.includes(WatchFilterType.NOPUT),
      noDelete: c.filters.includes(WatchFilterType.NODELETE),
      prevKv: c.prev_kv,
      progressNotify: c.progress_notify,
      synced: true,
    };
    stream.send({ header: this.hdr(), watch_id: id, created: true });
    const compacted = this.sm.mvcc.compacted;
    if (start > 0 && start < compacted) {
      // etcd: a watch from a compacted revision is canceled with the compact revision.
      stream.send({
        // etcd sends only the id and the compact revision (header revision 0, no reason).
        header: { ...this.header(), revision: 0 },
        watch_id: id,
        canceled: true,
        compact_revision: compacted,
      });
      return;
    }
    stream.watchers.set(id, w);
    if (w.nextRev <= current) {
      w.synced = false;
      this.scheduleCatchUp();
    }
  }

  /**
   * Live events are gathered per watcher and written when the stream has nothing unflushed and
   * its pacing allows (see flush): an idle stream gets each revision at once (next turn of the
   * event loop), a busy one gets all the revisions since its last write in one response per
   * watcher (whole revisions; etcd also sends several revisions per response to a slow watcher).
   * Each event is encoded once (with and without prev_kv) and shared among all watchers.
   */
  private onEvents(revision: number, events: m.Event[]): void {
    const cache = new EventCache(events);
    for (const stream of this.streams) {
      for (const w of stream.watchers.values()) {
        if (!w.synced || revision < w.nextRev) continue;
        if (revision > w.nextRev) {
          // A revision this watcher was never given (the state changed under it without
          // onRestored): it catches up from history rather than skip it.
          this.dropPending(stream, w);
          w.synced = false;
          this.scheduleCatchUp();
          continue;
        }
        const out = this.filter(w, events, cache);
        if (out.length > 0) {
          let p = stream.pending.get(w);
          if (p === undefined) {
            p = { from: w.nextRev, events: [], bytes: 0 };
            stream.pending.set(w, p);
          }
          for (const e of out) {
            p.events.push(e);
            p.bytes += e.length;
            stream.pendingBytes += e.length;
          }
        }
        w.nextRev = revision + 1;
      }
      if (stream.pending.size === 0) continue;
      // Too much gathered for this stream, or it holds its share of a connection over its
      // budget: its watchers catch up as its client reads.
      if (stream.pendingBytes > livePendingBytes || stream.overShare) this.unsync(stream);
      else this.scheduleFlush();
    }
  }

  /**
   * The state machine installed a snapshot from the leader: the revisions it covers were never
   * applied here one by one, so no watcher was given their events. As etcd's
   * watchableStore.Restore moves every synced watcher to unsynced, each catches up from its next
   * revision out of the restored history, or is canceled with compact_revision if that is gone.
   */
  private onRestored(): void {
    for (const stream of this.streams) this.unsync(stream);
  }

  /** The stream cannot keep up: its watchers catch up from history, from what they have not been sent. */
  private unsync(stream: WatchStream): void {
    for (const [w, p] of stream.pending) w.nextRev = Math.min(w.nextRev, p.from);
    stream.pending.clear();
    stream.pendingBytes = 0;
    for (const w of stream.watchers.values()) w.synced = false;
    this.scheduleCatchUp();
  }

  private flushScheduled = false;

  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Writes each stream's gathered live events. A client pays per response (decoding its header,
   * dispatching it), so a stream that just wrote n responses waits flushGapMs(n) before the next
   * flush: a stream of one watcher is held about 2 ms at most, one of 50 busy watchers (etcd's
   * clientv3 puts all of a client's watchers on one stream) sends each watcher one response per
   * batch interval with every revision since, instead of one per revision.
   */
  private flush(): void {
    this.flushScheduled = false;
    let header: Uint8Array | undefined;
    const now = this.now();
    let nextDue = Number.POSITIVE_INFINITY;
    for (const stream of this.streams) {
      if (stream.pending.size === 0 || stream.queuedBytes > 0 || stream.closed) continue;
      if (now < stream.nextFlushAt) {
        nextDue = Math.min(nextDue, stream.nextFlushAt);
        continue;
      }
      header ??= encodeHeaderField({ ...this.header(), revision: this.sm.mvcc.revision });
      const pending = stream.pending;
      stream.pending = new Map();
      stream.pendingBytes = 0;
      const ids: number[] = [];
      const events: Uint8Array[][] = [];
      let framed = 0;
      for (const [w, p] of pending) {
        if (stream.watchers.get(w.id) !== w || !w.synced) continue;
        if (framed >= flushFrameBytes) {
          stream.pending.set(w, p);
          stream.pendingBytes += p.bytes;
          continue;
        }
        ids.push(w.id);
        events.push(p.events);
        framed += p.bytes;
      }
      // What is left goes as soon as the client has read this (the write callback flushes).
      stream.nextFlushAt = stream.pending.size > 0 ? now : now + flushGapMs(ids.length, this.batchIntervalMs);
      if (ids.length > 0) {
        stream.sendShared(header, ids, events);
        this.answerDeferredProgress(stream);
        // One stream's batch per turn of the event loop: the I/O between (Raft messages, client
        // requests) waits for one stream's batch, not for every stream's.
        this.scheduleFlush();
        return;
      }
    }
    if (nextDue !== Number.POSITIVE_INFINITY) this.flushAt(nextDue, now);
  }

  /** One timer for the earliest paced flush. */
  private flushAt(at: number, now: number): void {
    if (this.flushTimer !== undefined && this.flushTimer.at <= at) return;
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer.timer);
    const timer = setTimeout(
      () => {
        this.flushTimer = undefined;
        this.flush();
      },
      Math.max(1, Math.ceil(at - now)),
    );
    this.flushTimer = { at, timer };
  }

  private filter(w: Watcher, events: readonly m.Event[], cache: EventCache): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as m.Event;
      if (!matches(w, e.kv.key)) continue;
      if (e.type === "PUT" ? w.noPut : w.noDelete) continue;
      out.push(cache.get(i, w.prevKv));
    }
    return out;
  }

  /** Called when a stream that was full has drained. */
  resume(): void {
    this.scheduleCatchUp();
  }

  private scheduleCatchUp(): void {
    if (this.catchUpScheduled) return;
    this.catchUpScheduled = true;
    setTimeout(() => {
      this.catchUpScheduled = false;
      this.catchUp();
    }, 1);
  }

  /** One bounded step for every watcher that is behind; reschedules itself until all are synced. */
  private catchUp(): void {
    let behind = false;
    const current = this.sm.mvcc.revision;
    const encoded = new EncodedEvents();
    const made: MadeEvents = new Map();
    let headerBytes: Uint8Array | undefined;
    const header = () => {
      headerBytes ??= encodeHeaderField({ ...this.header(), revision: current });
      return headerBytes;
    };
    for (const stream of this.streams) {
      if (stream.closed) continue;
      if (stream.full) {
        stream.waitingForDrain = true; // a write callback resumes the catch-up
        continue;
      }
      for (const w of stream.watchers.values()) {
        if (w.synced) continue;
        let events: m.Event[];
        let more: boolean;
        try {
          // A step's worth only: what one response can carry (events are read from disk).
          ({ events, more } = this.sm.mvcc.eventsPage(w.nextRev, w.key, w.rangeEnd, {
            limit: catchUpBatch,
            maxBytes: catchUpResponseBytes,
            cache: made,
          }));
        } catch (e) {
          if (!(e instanceof MvccError) || e.code !== "compacted") throw e;
          stream.watchers.delete(w.id);
          stream.send({
            header: { ...this.header(), revision: 0 },
            watch_id: w.id,
            canceled: true,
            compact_revision: this.sm.mvcc.compacted,
          });
          continue;
        }
        // One response with whole revisions only, at most about catchUpBatch events (etcd sends a
        // catching-up watcher many revisions per response, too). Each event's wire form is made
        // once per step and shared by every watcher that needs it.
        let i = 0;
        let sentTo = w.nextRev - 1;
        const out: Uint8Array[] = [];
        let bytes = 0;
        while (i < events.length && i < catchUpBatch && bytes < catchUpResponseBytes) {
          const rev = (events[i] as m.Event).kv.mod_revision;
          let j = i;
          while (j < events.length && (events[j] as m.Event).kv.mod_revision === rev) j++;
          for (let k = i; k < j; k++) {
            const e = events[k] as m.Event;
            if (!matches(w, e.kv.key) || (e.type === "PUT" ? w.noPut : w.noDelete)) continue;
            const b = encoded.get(e, w.prevKv);
            out.push(b);
            bytes += b.length;
          }
          sentTo = rev;
          i = j;
        }
        if (out.length > 0) stream.sendEncoded(encodeWatchResponse(header(), w.id, out));
        const full = stream.full;
        if (i >= events.length && !more) {
          // A watcher from a future start revision keeps it.
          w.nextRev = Math.max(w.nextRev, current + 1);
          w.synced = true;
        } else {
          w.nextRev = sentTo + 1;
          behind = true;
        }
        if (full) {
          // The other watchers of this stream wait until the client has read what is queued.
          stream.waitingForDrain = true;
          break;
        }
      }
      this.answerDeferredProgress(stream);
    }
    if (behind) this.scheduleCatchUp();
  }

  private progressNotify(): void {
    for (const stream of this.streams) {
      for (const w of stream.watchers.values()) {
        if (w.progressNotify && w.synced && !stream.pending.has(w))
          stream.send({ header: this.hdr(), watch_id: w.id });
      }
    }
  }
}
