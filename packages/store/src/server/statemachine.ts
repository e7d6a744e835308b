/**
 * The replicated state of `skiff store`: the MVCC key space, the leases (id -> granted TTL),
 * alarms and the members' published attributes. Every member applies the same requests in the
 * same order and gets the same results; errors are results too (an apply never throws for a bad
 * request, or the member would stop).
 */
import type { Entry } from "@skiff/raft";
import { Packr } from "msgpackr";
import type { MvccDisk } from "../backend/mvcc-disk.js";
import { MvccError } from "../mvcc/errors.js";
import { History } from "../mvcc/history.js";
import { MvccStore } from "../mvcc/store.js";
import type * as m from "../mvcc/types.js";
import type { StateMachine } from "../raftnode/statemachine.js";
import { decodeRequest, type StoreRequest, type StoreResult } from "./request.js";
import { decodeFullSnapshot, diskMarker, encodeFullSnapshot, isDiskMarker } from "./snapshot-stream.js";

export { decodeRequest, encodeRequest, type StoreRequest, type StoreResult } from "./request.js";

export interface MemberAttributes {
  name: string;
  clientURLs: string[];
}

const packr = new Packr({ useRecords: false, moreTypes: true });

/** etcd's lease limits (lease/lessor.go): MaxLeaseTTL is 9,000,000,000 s. */
export const maxLeaseTTL = 9_000_000_000;

export class StoreStateMachine implements StateMachine {
  mvcc: MvccStore;
  readonly leases = new Map<bigint, { ttl: number }>();
  readonly alarms = new Map<string, { memberId: string; alarm: number }>();
  readonly attributes = new Map<string, MemberAttributes>();
  /** Watch and lease hooks, called after each applied write (on every member). */
  onEvents: ((revision: number, events: m.Event[]) => void) | undefined;
  onLeaseGranted: ((id: bigint, ttl: number) => void) | undefined;
  onLeaseRevoked: ((id: bigint) => void) | undefined;
  /** After restore() replaced the state (a snapshot from the leader): watchers must catch up. */
  onRestored: ((revision: number) => void) | undefined;
  /** Admission at apply (etcd's quotaApplierV3, see quota.ts): runs execute, may refuse or fail it. */
  admit: ((r: StoreRequest, execute: () => unknown) => unknown) | undefined;

  /** The MVCC's data on LevelDB, once attached (the real store; the simulator runs in memory). */
  private disk: MvccDisk | undefined;
  /** etcd's consistent index: the last Raft index applied here. */
  consistentIndex = 0;
  /** Entries up to here are already in the state loaded from disk or a snapshot: not applied again. */
  private loadedIndex = 0;

  constructor() {
    this.mvcc = this.newMvcc();
  }

  private newMvcc(): MvccStore {
    return new MvccStore({
      onEvents: (rev, events) => this.onEvents?.(rev, events),
      leaseExists: (id) => this.leases.has(id),
      ...(this.disk === undefined ? {} : { sink: this.disk }),
      // etcd checks --max-txn-ops in its gRPC layer only (StoreBackend), never at apply.
      maxTxnOps: Number.POSITIVE_INFINITY,
    });
  }

  /** Keeps the data on `disk` from now on, starting from what it holds (a restart). */
  async attachDisk(disk: MvccDisk): Promise<void> {
    const h = new History();
    const meta = await disk.load(h);
    this.disk = disk;
    this.mvcc = this.newMvcc();
    this.mvcc.adopt(h, meta.revision, meta.compactRevision);
    this.leases.clear();
    this.alarms.clear();
    this.attributes.clear();
    if (meta.app !== undefined) this.restoreApp(packr.unpack(meta.app) as AppState);
    this.consistentIndex = meta.consistentIndex;
    this.loadedIndex = meta.consistentIndex;
    this.persist = () => disk.flush();
    this.streamSnapshot = (onIndex) => this.fullSnapshot(onIndex);
  }

  /** Every applied Raft index, conf changes and duplicates included (etcd's consistent index). */
  advance(index: number): void {
    if (index <= this.consistentIndex) return;
    this.consistentIndex = index;
    this.disk?.noteApplied(index, this.mvcc.revision, this.mvcc.compacted);
  }

  /** Set once the data is on disk: writes what was applied; resolves with the index it covers. */
  persist?: () => Promise<number>;
  /** Set once the data is on disk: a follower's snapshot, built off the hot path. */
  streamSnapshot?: (onIndex: (index: number) => void) => Promise<{ index: number; data: Uint8Array }>;

  async close(): Promise<void> {
    await this.disk?.close();
  }

  apply(entry: Entry): StoreResult {
    // etcd's shouldApplyV3: an entry the loaded state already holds is skipped.
    if (entry.index <= this.loadedIndex) return { ok: null, revision: this.mvcc.revision };
    const r = decodeRequest(entry.data);
    let result: StoreResult;
    try {
      const ok = this.admit === undefined ? this.execute(r) : this.admit(r, () => this.execute(r));
      result = { ok, revision: this.mvcc.revision };
    } catch (e) {
      if (e instanceof MvccError) result = { err: e.message, code: e.code };
      else if (e instanceof StoreError) result = { err: e.message, code: e.code };
      else throw e;
    }
    this.consistentIndex = entry.index;
    if (this.disk !== undefined) {
      if (r.op !== "put" && r.op !== "deleteRange" && r.op !== "txn" && r.op !== "compact") {
        this.disk.noteApp(packr.pack(this.appState()));
      }
      this.disk.noteApplied(entry.index, this.mvcc.revision, this.mvcc.compacted);
    }
    return result;
  }

  private execute(r: StoreRequest): unknown {
    switch (r.op) {
      case "put":
        return this.mvcc.put(r.req);
      case "deleteRange":
        return this.mvcc.deleteRange(r.req);
      case "txn":
        return this.mvcc.txn(r.req);
      case "compact":
        return this.mvcc.compact(r.revision);
      case "leaseGrant": {
        if (this.leases.has(r.id)) throw new StoreError("LeaseExist", "etcdserver: lease already exists");
        this.leases.set(r.id, { ttl: r.ttl });
        this.onLeaseGranted?.(r.id, r.ttl);
        return { id: r.id, ttl: r.ttl };
      }
      case "leaseRevoke": {
        if (!this.leases.has(r.id)) throw new MvccError("leaseNotFound");
        // The attached keys go in one revision, then the lease (etcd lessor.Revoke).
        const res = this.mvcc.revokeLease(r.id);
        this.leases.delete(r.id);
        this.onLeaseRevoked?.(r.id);
        return res;
      }
      case "alarm": {
        const key = `${r.memberId}/${r.alarm}`;
        if (r.action === "activate") this.alarms.set(key, { memberId: r.memberId, alarm: r.alarm });
        else this.alarms.delete(key);
        return [...this.alarms.values()];
      }
      case "publish":
        this.attributes.set(r.memberId, { name: r.name, clientURLs: r.clientURLs });
        return null;
    }
  }

  /**
   * The state for a Raft snapshot. On disk, a local snapshot only marks the log position (the data
   * is in LevelDB, as etcd's v3 data is in bbolt, not in its raft snapshots); a follower gets the
   * data from streamSnapshot(). In memory, the whole state.
   */
  snapshot(): Uint8Array {
    if (this.disk !== undefined) return diskMarker();
    return packr.pack({
      mvcc: this.mvcc.snapshot(),
      ...this.appState(),
    });
  }

  /**
   * The whole state for a follower or a backup, with the consistent index it covers. On disk it is
   * read in chunks from a LevelDB snapshot of what is applied now (etcd sends its db file the same
   * way), so applying and serving go on meanwhile; in memory it is snapshot().
   */
  async fullSnapshot(onIndex?: (index: number) => void): Promise<{ index: number; data: Uint8Array }> {
    if (this.disk === undefined) {
      onIndex?.(this.consistentIndex);
      return { index: this.consistentIndex, data: this.snapshot() };
    }
    const view = await this.disk.snapshotView();
    try {
      onIndex?.(view.consistentIndex);
      return { index: view.consistentIndex, data: await encodeFullSnapshot(view) };
    } finally {
      await view.close();
    }
  }

  /**
   * Replaces the state with a snapshot's, taken at Raft index `index`. A restarted member whose
   * disk already holds that index keeps its disk state (the snapshot in its log is older).
   */
  restore(data: Uint8Array, index = 0): void {
    if (data.length > 0 && isDiskMarker(data)) {
      // Assertion: a local snapshot is only taken of what was flushed.
      if (this.disk === undefined || this.consistentIndex < index) {
        throw new Error(`store: the snapshot at ${index} is on disk, which holds ${this.consistentIndex}`);
      }
      return;
    }
    if (this.disk !== undefined && index > 0 && this.consistentIndex >= index) return;
    this.leases.clear();
    this.alarms.clear();
    this.attributes.clear();
    let h = new History();
    let revision = 1;
    let compacted = -1;
    if (data.length > 0) {
      const full = decodeFullSnapshot(data);
      if (full === undefined) {
        const s = packr.unpack(data) as AppState & { mvcc: Uint8Array };
        const mvcc = new MvccStore();
        mvcc.restore(s.mvcc);
        h = mvcc.h;
        revision = mvcc.revision;
        compacted = mvcc.compacted;
        this.restoreApp(s);
      } else {
        h = full.history;
        revision = full.revision;
        compacted = full.compactRevision;
        if (full.app !== undefined) this.restoreApp(packr.unpack(full.app) as AppState);
      }
    }
    this.mvcc = this.newMvcc();
    this.mvcc.adopt(h, revision, compacted);
    this.consistentIndex = index;
    this.loadedIndex = index;
    const disk = this.disk;
    if (disk !== undefined) {
      h.values = disk;
      disk.stageReset();
      for (const [k, rec] of h.revisions()) disk.stagePut(k, rec);
      disk.noteApp(packr.pack(this.appState()));
      disk.noteApplied(index, revision, compacted);
    }
    // Watchers go back to catching up from their next revision (reads see the new state now).
    if (data.length > 0) this.onRestored?.(this.mvcc.revision);
  }

  private appState(): AppState {
    return {
      leases: [...this.leases].map(([id, l]) => [id, l.ttl]),
      alarms: [...this.alarms.values()],
      attributes: [...this.attributes],
    };
  }

  private restoreApp(s: AppState): void {
    for (const [id, ttl] of s.leases) this.leases.set(id, { ttl });
    for (const a of s.alarms) this.alarms.set(`${a.memberId}/${a.alarm}`, a);
    for (const [id, a] of s.attributes) this.attributes.set(id, a);
  }
}

/** The state machine's own state besides the MVCC. */
interface AppState {
  leases: [bigint, number][];
  alarms: { memberId: string; alarm: number }[];
  attributes: [string, MemberAttributes][];
}

/** A store-level error that is a result of applying a request (not a member failure). */
export class StoreError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "StoreError";
  }
}
