/**
 * The LogStore contract: one suite run against every implementation (LevelDB and the simulator's
 * disk), so the simulator tests the node loop against the same behaviour production has.
 */
import {
  type Entry,
  EntryType,
  emptyHardState,
  emptySnapshot,
  type HardState,
  RaftError,
  SeededRand,
  type Snapshot,
} from "@skiff/raft";
import type { Test } from "tap";
import {
  type LogStore,
  type LogUpdate,
  type PersistedState,
  StorageWriteError,
} from "../src/raftnode/logstore.js";

/** One storage (a directory, a simulated disk) that stores can be opened on, again and again. */
export interface LogStoreHarness {
  /** Opens a store on this storage; after closing the previous one, this is a restart. */
  open(): Promise<LogStore>;
  /** Makes every later write of `store` fail at the storage level (a full or broken disk). */
  breakWrites(store: LogStore): Promise<void>;
  /** Removes the storage. */
  destroy(): Promise<void>;
}

export type LogStoreFactory = () => Promise<LogStoreHarness>;

const encoder = new TextEncoder();

export function entry(index: number, term: number, payload = `e${index}t${term}`): Entry {
  return { index, term, type: EntryType.Normal, data: encoder.encode(payload) };
}

export function entries(lo: number, hi: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push(entry(i, term));
  return out;
}

export function snapshot(index: number, term: number, data = `snap@${index}`): Snapshot {
  return {
    metadata: { index, term, confState: { voters: [1, 2, 3], learners: [4] } },
    data: encoder.encode(data),
  };
}

export const hardState = (term: number, commit: number, vote = 1): HardState => ({ term, vote, commit });

/** What a store should hold: the stored log and what load() returns of it. */
export class LogModel {
  hardState: HardState = emptyHardState;
  snapshot: Snapshot = emptySnapshot;
  /** Every stored entry, including any kept behind the snapshot by a compaction. */
  log: Entry[] = [];

  save(u: LogUpdate): void {
    if (u.snapshot !== undefined) {
      this.snapshot = u.snapshot;
      this.log = [];
    }
    const lo = u.entries[0]?.index;
    if (lo !== undefined) this.log = [...this.log.filter((e) => e.index < lo), ...u.entries];
    if (u.hardState !== undefined) this.hardState = u.hardState;
  }

  saveSnapshot(s: Snapshot, compactIndex: number, hs: HardState): void {
    this.snapshot = s;
    this.hardState = hs;
    this.log = this.log.filter((e) => e.index > compactIndex);
  }

  get lastIndex(): number {
    return this.log.at(-1)?.index ?? this.snapshot.metadata.index;
  }

  expected(): PersistedState {
    const si = this.snapshot.metadata.index;
    return {
      hardState: this.hardState,
      snapshot: this.snapshot,
      entries: this.log.filter((e) => e.index > si),
    };
  }
}

/** A comparable, printable form of a persisted state (data as hex). */
export function canonical(s: PersistedState): string {
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  return JSON.stringify({
    hardState: s.hardState,
    snapshot: { metadata: s.snapshot.metadata, data: hex(s.snapshot.data) },
    entries: s.entries.map((e) => [e.index, e.term, e.type, hex(e.data)]),
  });
}

/** Opens, runs fn, and closes (even when fn throws). */
async function withStore<T>(h: LogStoreHarness, fn: (s: LogStore) => Promise<T>): Promise<T> {
  const s = await h.open();
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** Checks the state both on the open store and after a restart. */
async function expectState(t: Test, h: LogStoreHarness, store: LogStore, model: LogModel, what: string) {
  t.equal(canonical(await store.load()), canonical(model.expected()), `${what}: load() on the open store`);
  await store.close();
  const reopened = await h.open();
  t.equal(canonical(await reopened.load()), canonical(model.expected()), `${what}: load() after a restart`);
  return reopened;
}

export function logStoreContract(t: Test, name: string, factory: LogStoreFactory): void {
  /** A subtest with a fresh storage, destroyed at its end. */
  const test = (title: string, fn: (t: Test, h: LogStoreHarness) => Promise<void>) =>
    t.test(`${name}: ${title}`, async (t) => {
      const h = await factory();
      t.teardown(() => h.destroy());
      await fn(t, h);
    });

  test("an empty store loads an empty state", async (t, h) => {
    await withStore(h, async (s) => {
      t.equal(canonical(await s.load()), canonical(new LogModel().expected()));
    });
  });

  test("entries and hard state survive a restart", async (t, h) => {
    const m = new LogModel();
    let s = await h.open();
    for (const u of [
      { entries: entries(1, 3, 1), hardState: hardState(1, 0) },
      { entries: entries(4, 5, 2), hardState: hardState(2, 3) },
      { entries: [], hardState: hardState(2, 5) },
    ]) {
      await s.save(u, true);
      m.save(u);
    }
    s = await expectState(t, h, s, m, "after three saves");
    await s.close();
  });

  test("entries at an existing index replace the stored suffix", async (t, h) => {
    const m = new LogModel();
    let s = await h.open();
    const steps: LogUpdate[] = [
      { entries: entries(1, 10, 1), hardState: hardState(1, 3) },
      { entries: entries(6, 7, 2), hardState: hardState(2, 3) }, // 8..10 go
      { entries: entries(8, 8, 2) }, // a plain append after the truncation
      { entries: entries(4, 4, 3), hardState: hardState(3, 3) }, // 5..8 go
    ];
    for (const [i, u] of steps.entries()) {
      await s.save(u, true);
      m.save(u);
      s = await expectState(t, h, s, m, `step ${i}`);
    }
    await s.close();
  });

  test("a snapshot from the leader replaces the whole log", async (t, h) => {
    const m = new LogModel();
    let s = await h.open();
    const steps: LogUpdate[] = [
      { entries: entries(1, 5, 1), hardState: hardState(1, 2) },
      // inside the old log, with a different term at its index: everything goes
      { entries: [], snapshot: snapshot(4, 2), hardState: hardState(2, 4) },
      { entries: entries(5, 6, 2), hardState: hardState(2, 4) },
      // far beyond the log, with the entries that follow it in the same Ready
      { entries: entries(21, 22, 3), snapshot: snapshot(20, 3), hardState: hardState(3, 20) },
    ];
    for (const [i, u] of steps.entries()) {
      await s.save(u, true);
      m.save(u);
      s = await expectState(t, h, s, m, `step ${i}`);
    }
    t.equal((await s.load()).snapshot.metadata.index, 20);
    await s.close();
  });

  test("saveSnapshot records the snapshot and compacts the log", async (t, h) => {
    const m = new LogModel();
    let s = await h.open();
    const first: LogUpdate = { entries: entries(1, 10, 1), hardState: hardState(1, 10) };
    await s.save(first, true);
    m.save(first);
    await s.saveSnapshot(snapshot(8, 1), 5, m.hardState); // 6..8 stay for slow followers; load() starts at 9
    m.saveSnapshot(snapshot(8, 1), 5, m.hardState);
    s = await expectState(t, h, s, m, "snapshot at 8, compacted to 5");
    const more: LogUpdate = { entries: entries(11, 12, 2), hardState: hardState(2, 12) };
    await s.save(more, false);
    m.save(more);
    await s.saveSnapshot(snapshot(12, 2), 12, m.hardState);
    m.saveSnapshot(snapshot(12, 2), 12, m.hardState);
    s = await expectState(t, h, s, m, "snapshot at the last entry, everything compacted");
    const after: LogUpdate = { entries: entries(13, 13, 2), hardState: hardState(2, 13) };
    await s.save(after, true);
    m.save(after);
    s = await expectState(t, h, s, m, "an append after a full compaction");
    await s.close();
  });

  test("many saves, truncations, snapshots and restarts match a model", async (t, h) => {
    const rand = new SeededRand(42);
    const m = new LogModel();
    let s = await h.open();
    let term = 1;
    for (let step = 0; step < 400; step++) {
      const { commit } = m.hardState;
      const si = m.snapshot.metadata.index;
      const r = rand.intn(100);
      if (r < 8 && commit > si) {
        // The application snapshots at or below its applied (so committed) index.
        const at = si + 1 + rand.intn(commit - si);
        const snap = snapshot(at, m.log.find((e) => e.index === at)?.term ?? -1);
        const compactIndex = at - rand.intn(4);
        await s.saveSnapshot(snap, compactIndex, m.hardState);
        m.saveSnapshot(snap, compactIndex, m.hardState);
      } else {
        // Raft rewrites only uncommitted entries (§5.3), and always with a newer term.
        const truncate = r < 25 && m.lastIndex > commit;
        if (truncate) term++;
        const lo = truncate ? commit + 1 + rand.intn(m.lastIndex - commit) : m.lastIndex + 1;
        const hi = lo + rand.intn(4);
        const u: LogUpdate = {
          entries: entries(lo, hi, term),
          hardState: hardState(term, Math.min(hi, commit + rand.intn(3))),
        };
        await s.save(u, rand.intn(2) === 0);
        m.save(u);
      }
      if (step % 100 === 99) s = await expectState(t, h, s, m, `step ${step}`);
    }
    s = await expectState(t, h, s, m, "the end");
    await s.close();
  });

  test("saves issued without waiting apply in call order", async (t, h) => {
    const m = new LogModel();
    const s = await h.open();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      // every tenth save rewrites the last two entries with a newer term
      const term = 1 + Math.floor(i / 10);
      const lo = i % 10 === 9 ? m.lastIndex - 1 : m.lastIndex + 1;
      const u: LogUpdate = {
        entries: entries(lo, lo + 1, term),
        hardState: hardState(term, Math.max(0, lo - 1)),
      };
      pending.push(s.save(u, i % 3 === 0));
      m.save(u);
    }
    await Promise.all(pending);
    await (await expectState(t, h, s, m, "60 saves in flight at once")).close();
  });

  test("unsynced writes are read back and survive a clean restart", async (t, h) => {
    const m = new LogModel();
    let s = await h.open();
    for (let i = 1; i <= 20; i++) {
      const u: LogUpdate = { entries: [entry(i, 1)], hardState: hardState(1, i - 1) };
      await s.save(u, false);
      m.save(u);
    }
    s = await expectState(t, h, s, m, "20 unsynced saves");
    await s.close();
  });

  test("a failed write rejects, and every later write is refused", async (t, h) => {
    const m = new LogModel();
    let s = await h.open();
    const ok: LogUpdate = { entries: entries(1, 3, 1), hardState: hardState(1, 2) };
    await s.save(ok, true);
    m.save(ok);
    await h.breakWrites(s);
    await t.rejects(s.save({ entries: [entry(4, 1)] }, true), StorageWriteError, "the failing write");
    await t.rejects(s.save({ entries: [entry(4, 1)] }, false), {
      name: "StorageWriteError",
      message: /refused/,
    });
    await t.rejects(s.saveSnapshot(snapshot(2, 1), 1, m.hardState), {
      name: "StorageWriteError",
      message: /refused/,
    });
    await s.close();
    s = await h.open();
    t.equal(
      canonical(await s.load()),
      canonical(m.expected()),
      "a restarted store has what was written before",
    );
    await s.close();
  });

  test("a caller's bug is an assertion, not a write failure", async (t, h) => {
    const s = await h.open();
    await s.save({ entries: entries(1, 3, 1), hardState: hardState(1, 1) }, true);
    await t.rejects(s.save({ entries: [entry(5, 1)] }, true), RaftError, "a gap after the last entry");
    await t.rejects(
      s.save({ entries: [entry(4, 1), entry(6, 1)] }, true),
      RaftError,
      "non-contiguous entries",
    );
    await t.rejects(
      s.saveSnapshot(snapshot(9, 1), 2, hardState(1, 9)),
      RaftError,
      "a snapshot beyond the log",
    );
    await t.rejects(
      s.saveSnapshot(snapshot(3, 1), 2, hardState(1, 2)),
      RaftError,
      "a commit below the snapshot",
    );
    await s.save({ entries: [entry(4, 1)] }, true);
    t.equal((await s.load()).entries.length, 4, "the store still works");
    await s.close();
  });
}
