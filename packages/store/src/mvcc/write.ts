import type { KeyRange } from "./bytes.js";
import type { History, Rec } from "./history.js";
import type { Event } from "./types.js";

/** One bigint for every record without a lease (a decoded 0n is a 24-byte object of its own). */
const noLease = 0n;

/** Which keys each lease holds now (etcd's lessor itemSet), kept in step with every write. */
export class LeaseIndex {
  private readonly byLease = new Map<bigint, Set<string>>();

  attach(id: bigint, k: string): void {
    if (id === 0n) return;
    let s = this.byLease.get(id);
    if (!s) {
      s = new Set();
      this.byLease.set(id, s);
    }
    s.add(k);
  }

  detach(id: bigint, k: string): void {
    const s = this.byLease.get(id);
    if (!s) return;
    s.delete(k);
    if (s.size === 0) this.byLease.delete(id);
  }

  /** The keys of a lease in byte order (etcd revokes them in sorted order). */
  keys(id: bigint): string[] {
    return [...(this.byLease.get(id) ?? [])].sort();
  }

  clear(): void {
    this.byLease.clear();
  }
}

/** One change to undo: the record appended, and the lease attachment it made and ended. */
interface Undo {
  k: string;
  rec: Rec;
  attached: bigint | undefined;
  detached: bigint | undefined;
}

/**
 * One write transaction, etcd's storeTxnWrite: every change it makes gets main revision
 * beginRev+1 and sub revisions 0,1,2... in order. Changes go straight into the history (records
 * at beginRev+1 are invisible to reads at beginRev), so reads inside the txn after its first change
 * read at beginRev+1 and see the txn's own writes, as etcd's do.
 */
export class WriteTxn {
  readonly events: Event[] = [];
  /** What to undo, newest last, if the txn fails half-way (records, not closures: one per write). */
  private readonly undo: Undo[] = [];

  constructor(
    private readonly h: History,
    private readonly leases: LeaseIndex,
    readonly beginRev: number,
  ) {}

  /** The revision reads inside this txn see. */
  get rev(): number {
    return this.events.length > 0 ? this.beginRev + 1 : this.beginRev;
  }

  /** Returns the revision of the write (etcd: Put returns beginRev+1). */
  put(k: string, value: Uint8Array, lease: bigint): number {
    const main = this.beginRev + 1;
    const prev = this.h.getRec(k, this.rev);
    const rec: Rec = {
      main,
      sub: this.events.length,
      live: true,
      // A key that is absent (never written, or deleted) starts a new generation: new
      // create_revision, version 1 (etcd keyIndex generations).
      create: prev ? prev.create : main,
      version: prev ? prev.version + 1 : 1,
      lease: lease === 0n ? noLease : lease,
      size: value.length,
      value,
    };
    this.h.append(k, rec);
    if (prev) this.leases.detach(prev.lease, k);
    this.leases.attach(lease, k);
    this.undo.push({ k, rec, attached: lease, detached: prev?.lease });
    this.events.push(this.h.event(k, rec, prev));
    return main;
  }

  /** The records this txn wrote, in order (for a backend to store once it commits). */
  written(): { k: string; rec: Rec }[] {
    return this.undo.map((u) => ({ k: u.k, rec: u.rec }));
  }

  /** Undoes every change of this txn, newest first: a failed write txn leaves no trace. */
  rollback(): void {
    for (let u = this.undo.pop(); u !== undefined; u = this.undo.pop()) {
      if (u.attached !== undefined) this.leases.detach(u.attached, u.k);
      if (u.detached !== undefined) this.leases.attach(u.detached, u.k);
      this.h.pop(u.k, u.rec);
    }
    this.events.length = 0;
  }

  /** Deletes the live keys in the range; returns how many. */
  deleteRange(r: KeyRange): number {
    const main = this.beginRev + 1;
    const victims = this.h.rangeRecs(r, this.rev);
    for (const v of victims) this.deleteKey(v.k, v.rec, main);
    return victims.length;
  }

  private deleteKey(k: string, prev: Rec, main: number): void {
    const rec: Rec = {
      main,
      sub: this.events.length,
      live: false,
      create: 0,
      version: 0,
      lease: noLease,
      size: 0,
      value: undefined,
    };
    this.h.append(k, rec);
    this.leases.detach(prev.lease, k);
    this.undo.push({ k, rec, attached: undefined, detached: prev.lease });
    this.events.push(this.h.event(k, rec, prev));
  }
}
