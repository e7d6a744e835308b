import { fromBin, keyRange } from "./bytes.js";
import {
  checkDeleteRequest,
  checkPutRequest,
  checkRangeRequest,
  checkTxnRequest,
  DEFAULT_MAX_TXN_OPS,
} from "./check.js";
import { MvccError } from "./errors.js";
import type { RevisionRecord } from "./hash.js";
import { type EventsPage, History, type Rec } from "./history.js";
import { rangeAt } from "./range.js";
import { historyRevisions } from "./revisions.js";
import { decodeSnapshot, encodeSnapshot } from "./snapshot.js";
import {
  applyDeleteRange,
  applyPut,
  applyTxn,
  checkPutState,
  checkTxnAgainstState,
  compareToPath,
  type TxnContext,
} from "./txn.js";
import type {
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Event,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  TxnRequest,
  TxnResponse,
} from "./types.js";
import { LeaseIndex, WriteTxn } from "./write.js";

export interface MvccStoreOptions {
  /** Called once per write txn that changed something, with its events in revision order (for watch). */
  onEvents?: (revision: number, events: Event[]) => void;
  /** The lessor's lookup; a put with an unknown lease fails with "requested lease not found". */
  leaseExists?: (id: bigint) => boolean;
  /** etcd --max-txn-ops (default 128). */
  maxTxnOps?: number;
  /** Where committed records and compactions go (the LevelDB backend), if anywhere. */
  sink?: MvccSink;
}

/** A backend that keeps the records (see backend/mvcc-disk.ts). */
export interface MvccSink {
  stagePut(k: string, rec: Rec): void;
  stageDrop(recs: readonly Rec[]): void;
}

/**
 * etcd's mvcc store (server/mvcc, v3.4) in memory: a pure, deterministic state machine with the
 * semantics of etcd's applierV3backend on top. A fresh store is at revision 1; every write txn that
 * changes something takes the next revision. Returned KeyValues are shared with the history:
 * callers must not mutate them.
 */
export class MvccStore implements TxnContext {
  /** The history; public only for the txn helpers (TxnContext), not part of the API. */
  h = new History();
  private rev = 1;
  /** etcd's compactMainRev: -1 until the first compaction. */
  private compactRev = -1;
  private readonly leases = new LeaseIndex();
  private readonly opts: MvccStoreOptions;

  constructor(opts: MvccStoreOptions = {}) {
    this.opts = opts;
  }

  get revision(): number {
    return this.rev;
  }

  get compacted(): number {
    return this.compactRev;
  }

  /** Approximate bytes of all kept history (keys, values, per-revision overhead), for a quota. */
  get sizeBytes(): number {
    return this.h.sizeBytes;
  }

  leaseExists(id: bigint): boolean {
    return this.opts.leaseExists ? this.opts.leaseExists(id) : true;
  }

  range(req: RangeRequest): RangeResponse {
    checkRangeRequest(req);
    return rangeAt(this.h, req, this.rev, this.compactRev);
  }

  put(req: PutRequest): PutResponse {
    checkPutRequest(req);
    // Outside a txn etcd looks the lease up before reading the key (apply.go Put).
    if (req.lease !== undefined && req.lease !== 0n && !this.leaseExists(req.lease)) {
      throw new MvccError("leaseNotFound");
    }
    checkPutState(this, this.rev, req);
    return this.write((tw) => applyPut(this, tw, req));
  }

  deleteRange(req: DeleteRangeRequest): DeleteRangeResponse {
    checkDeleteRequest(req);
    return this.write((tw) => applyDeleteRange(this, tw, req));
  }

  txn(req: TxnRequest): TxnResponse {
    checkTxnRequest(req, this.opts.maxTxnOps ?? DEFAULT_MAX_TXN_OPS);
    const path = compareToPath(this.h, this.rev, req);
    checkTxnAgainstState(this, this.rev, req, path);
    // etcd sets the txn header after the txn: its revision if it wrote, else the current one.
    return this.write((tw) => applyTxn(this, tw, req, path));
  }

  /** Drops history below `revision` (etcd Compact; it does not take a revision itself). */
  compact(revision: number): CompactionResponse {
    if (revision <= this.compactRev) throw new MvccError("compacted");
    if (revision > this.rev) throw new MvccError("futureRev");
    this.compactRev = revision;
    const dropped = this.h.compact(revision);
    this.opts.sink?.stageDrop(dropped);
    return { header: { revision: this.rev } };
  }

  /** The keys attached to a lease now, in byte order. */
  keysWithLease(id: bigint): Uint8Array[] {
    return this.leases.keys(id).map(fromBin);
  }

  /** Deletes every key of a revoked or expired lease in one revision (etcd lessor.Revoke). */
  revokeLease(id: bigint): { revision: number; deleted: number } {
    const keys = this.leases.keys(id);
    return this.write((tw) => {
      for (const k of keys) tw.deleteRange({ start: k, end: undefined });
      return { revision: tw.rev, deleted: keys.length };
    });
  }

  /**
   * The changes at revisions >= `revision` in [key, range_end), for watch replay. A revision below
   * the compact revision is gone: etcd answers such a watch with the compacted error.
   */
  eventsSince(revision: number, key: Uint8Array, rangeEnd?: Uint8Array): Event[] {
    return this.eventsPage(revision, key, rangeEnd, {}).events;
  }

  /** eventsSince a step at a time (see History.eventsPage); `more` says some were left. */
  eventsPage(
    revision: number,
    key: Uint8Array,
    rangeEnd: Uint8Array | undefined,
    page: EventsPage,
  ): { events: Event[]; more: boolean } {
    if (revision < this.compactRev) throw new MvccError("compacted");
    if (revision <= 0) return { events: [], more: false };
    return this.h.eventsPage(revision, keyRange(key, rangeEnd), page);
  }

  /** Every record kept, tombstones included, in revision order (what mvcc/hash.ts hashes). */
  revisions(): Generator<RevisionRecord> {
    return historyRevisions(this.h);
  }

  snapshot(): Uint8Array {
    return encodeSnapshot({ revision: this.rev, compactRevision: this.compactRev, history: this.h });
  }

  restore(data: Uint8Array): void {
    const s = decodeSnapshot(data);
    this.adopt(s.history, s.revision, s.compactRevision);
  }

  /** Takes over a history (loaded from disk, or decoded from a snapshot). */
  adopt(h: History, revision: number, compactRevision: number): void {
    this.h = h;
    this.rev = revision;
    this.compactRev = compactRevision;
    this.leases.clear();
    for (const [k] of this.h.entries()) {
      const rec = this.h.getRec(k, this.rev);
      if (rec) this.leases.attach(rec.lease, k);
    }
  }

  /** One write txn: commits (bumps the revision, emits events) only if it changed something. */
  private write<T>(f: (tw: WriteTxn) => T): T {
    const tw = new WriteTxn(this.h, this.leases, this.rev);
    let result: T;
    try {
      result = f(tw);
    } catch (e) {
      // An error found half-way (e.g. ignore_value on a key this txn deleted): nothing happened.
      tw.rollback();
      throw e;
    }
    if (tw.events.length > 0) {
      this.rev = tw.beginRev + 1;
      const sink = this.opts.sink;
      if (sink) for (const w of tw.written()) sink.stagePut(w.k, w.rec);
      this.opts.onEvents?.(this.rev, tw.events);
    }
    return result;
  }
}
