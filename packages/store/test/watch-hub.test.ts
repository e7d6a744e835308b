/**
 * The watch hub on a state machine in this process, with fake gRPC calls whose client reads only
 * when told to: a snapshot installed under live watchers (etcd's watchableStore.Restore), etcd's
 * watch errors, progress requests deferred until the stream is synced, and the bound on what one
 * never-reading connection costs.
 */
import { EventEmitter } from "node:events";
import { etcdServices, type WatchResponse } from "@skiff/etcd-client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { StoreStateMachine } from "../src/server/statemachine.js";
import { WatchHub } from "../src/server/watch.js";
import { connectionBudgetBytes, streamShareBytes } from "../src/server/watch-connection.js";

const codec = (etcdServices().Watch as unknown as { service: Record<string, Codec> }).service.Watch as Codec;
interface Codec {
  responseSerialize(r: unknown): Buffer;
  responseDeserialize(b: Buffer): WatchResponse;
}

const header = () => ({ cluster_id: 1, member_id: 2, raft_term: 3 });
const b = (s: string) => Buffer.from(s);

/**
 * A server-side Watch call as the hub sees it. What the hub writes is decoded at once into
 * `got` (the order it wrote); the bytes count as unread until read() runs their callbacks, as a
 * client that stops reading leaves them in the HTTP/2 connection.
 */
class FakeCall extends EventEmitter {
  readonly got: WatchResponse[] = [];
  private unread: { bytes: number; cb: (() => void) | undefined }[] = [];
  reading = true;

  constructor(
    readonly connection: object,
    private readonly meter: { outstanding: number; peak: number },
  ) {
    super();
  }

  write(res: unknown, cb?: () => void): boolean {
    const buf = Buffer.isBuffer(res) ? res : codec.responseSerialize(res);
    this.got.push(codec.responseDeserialize(buf));
    return this.queue(buf.length, cb);
  }

  writeFramed(framed: Buffer, cb?: () => void): boolean {
    for (let at = 0; at < framed.length; ) {
      const n = framed.readUInt32BE(at + 1);
      this.got.push(codec.responseDeserialize(framed.subarray(at + 5, at + 5 + n)));
      at += 5 + n;
    }
    return this.queue(framed.length, cb);
  }

  private queue(bytes: number, cb: (() => void) | undefined): boolean {
    this.meter.outstanding += bytes;
    this.meter.peak = Math.max(this.meter.peak, this.meter.outstanding);
    this.unread.push({ bytes, cb });
    if (this.reading) setImmediate(() => this.read());
    return true;
  }

  end(): void {
    this.reading = false;
  }

  /** The client reads everything written so far. */
  read(): void {
    const unread = this.unread;
    this.unread = [];
    for (const u of unread) {
      this.meter.outstanding -= u.bytes;
      u.cb?.();
    }
  }

  request(req: object): void {
    this.emit("data", { watch_id: 0, filters: [], ...req });
  }

  watch(prefix: string, opts: { start?: number; watchId?: number; prevKv?: boolean } = {}): void {
    const end = b(prefix);
    end[end.length - 1] = (end[end.length - 1] ?? 0) + 1;
    this.create({ key: b(prefix), range_end: end, ...opts });
  }

  create(c: { key: Buffer; range_end?: Buffer; start?: number; watchId?: number; prevKv?: boolean }): void {
    this.request({
      create_request: {
        key: c.key,
        range_end: c.range_end ?? Buffer.alloc(0),
        start_revision: c.start ?? 0,
        watch_id: c.watchId ?? 0,
        prev_kv: c.prevKv ?? false,
        progress_notify: false,
        filters: [],
        fragment: false,
      },
    });
  }

  /** The revisions of the events watcher `id` got, in order. */
  revisions(id: number): number[] {
    return this.got
      .filter((r) => Number(r.watch_id) === id)
      .flatMap((r) => (r.events ?? []).map((e) => Number(e.kv?.mod_revision)));
  }

  canceled(id: number): WatchResponse | undefined {
    return this.got.find((r) => Number(r.watch_id) === id && r.canceled === true && r.created !== true);
  }
}

function put(sm: StoreStateMachine, key: string, value: string): number {
  sm.mvcc.put({ key: b(key), value: b(value) });
  return sm.mvcc.revision;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function setup(t: { teardown(f: () => void): void }) {
  const sm = new StoreStateMachine();
  const hub = new WatchHub(sm, header, { batchIntervalMs: 0 });
  const meter = { outstanding: 0, peak: 0 };
  const calls: FakeCall[] = [];
  const call = (connection: object = {}) => {
    const c = new FakeCall(connection, meter);
    calls.push(c);
    hub.serve(c as never);
    return c;
  };
  t.teardown(() => hub.close());
  return { sm, hub, meter, call };
}

t.test("a snapshot installed under live watchers: every revision once, in order", async (t) => {
  const leader = new StoreStateMachine();
  const { sm, call } = setup(t);
  for (let i = 0; i < 5; i++) {
    put(leader, "w/a", `v${i}`);
    put(sm, "w/a", `v${i}`);
  }
  const c = call();
  c.watch("w/"); // live from revision 7
  const from = sm.mvcc.revision + 1;
  await waitFor(() => c.got.length === 1, { what: "created" });
  // The follower applies 3 more revisions, then misses 40 the leader snapshots.
  for (let i = 0; i < 3; i++) {
    put(leader, "w/b", `x${i}`);
    put(sm, "w/b", `x${i}`);
  }
  for (let i = 0; i < 40; i++) put(leader, `w/k${i % 7}`, `y${i}`);
  sm.restore(leader.snapshot());
  for (let i = 0; i < 10; i++) put(sm, "w/c", `z${i}`);
  const last = sm.mvcc.revision;
  await waitFor(() => c.revisions(0).at(-1) === last, { what: `the watcher to reach ${last}` });
  t.same(c.revisions(0), range(from, last), "every revision once, in order, across the install");
  t.equal(c.canceled(0), undefined, "not canceled");
});

t.test("a snapshot whose history is compacted past a watcher cancels it with compact_revision", async (t) => {
  const leader = new StoreStateMachine();
  const { sm, call } = setup(t);
  put(leader, "w/a", "1");
  put(sm, "w/a", "1");
  const c = call();
  c.watch("w/");
  c.watch("w/", { start: 1 }); // catching up
  await waitFor(() => c.got.filter((r) => r.created).length === 2, { what: "created" });
  for (let i = 0; i < 20; i++) put(leader, "w/b", `x${i}`);
  leader.mvcc.compact(15);
  sm.restore(leader.snapshot());
  await waitFor(() => c.canceled(0) !== undefined && c.canceled(1) !== undefined, {
    what: "both canceled",
  });
  for (const id of [0, 1]) {
    t.equal(Number(c.canceled(id)?.compact_revision), 15, `watcher ${id}: compact_revision 15`);
    const revs = c.revisions(id);
    t.same(revs, range(revs[0] ?? 1, revs.at(-1) ?? 0), `watcher ${id}: what it got is gapless`);
    t.ok((revs.at(-1) ?? 0) < 3, `watcher ${id}: nothing after what the follower applied`);
  }
});

t.test("etcd's watch errors: duplicate id, empty range", async (t) => {
  const { sm, call } = setup(t);
  put(sm, "a", "1");
  const c = call();
  c.watch("a", { watchId: 7 });
  c.watch("b", { watchId: 7 });
  c.create({ key: b("b"), range_end: b("a") });
  c.create({ key: b("b"), range_end: b("b") });
  c.create({ key: b("b"), range_end: Buffer.from([0]) }); // from key: not empty
  await waitFor(() => c.got.length === 5, { what: "five answers" });
  const fields = (r: WatchResponse) => ({
    watch_id: Number(r.watch_id),
    created: r.created,
    canceled: r.canceled,
    cancel_reason: r.cancel_reason,
    revision: Number(r.header?.revision),
  });
  const dup = { watch_id: -1, created: true, canceled: true, revision: 2 };
  t.same(c.got.map(fields), [
    { watch_id: 7, created: true, canceled: false, cancel_reason: "", revision: 2 },
    { ...dup, cancel_reason: "mvcc: duplicate watch ID provided on the WatchStream" },
    { ...dup, cancel_reason: "mvcc: watcher range is empty" },
    { ...dup, cancel_reason: "mvcc: watcher range is empty" },
    { watch_id: 0, created: true, canceled: false, cancel_reason: "", revision: 2 },
  ]);
});

t.test("a never-reading connection: bounded together, progress deferred, then all delivered", async (t) => {
  const { sm, hub, meter, call } = setup(t);
  const conn = {};
  const streams = 16;
  const calls: FakeCall[] = [];
  for (let i = 0; i < streams; i++) {
    const c = call(conn);
    c.watch("p/", { prevKv: true });
    c.watch("p/");
    calls.push(c);
  }
  // One more stream on the connection whose client keeps reading: its neighbours must not starve it.
  const reader = call(conn);
  reader.watch("p/");
  await waitFor(() => calls.every((c) => c.got.length === 2) && reader.got.length === 1, { what: "created" });
  const from = sm.mvcc.revision + 1;
  // A synced stream answers a progress request at once, with the current revision.
  const probe = calls[0] as FakeCall;
  probe.request({ progress_request: {} });
  await waitFor(() => probe.got.length === 3, { what: "the progress response" });
  t.same(
    [Number(probe.got[2]?.watch_id), Number(probe.got[2]?.header?.revision)],
    [-1, from - 1],
    "synced: answered at once",
  );

  for (const c of calls) c.reading = false;
  const value = "v".repeat(1024);
  let peakBuffered = 0;
  // 16 streams x ~3 KiB per revision (two watchers, one with prev_kv): far more than the budget.
  const revisions = 1500;
  for (let i = 0; i < revisions; i++) {
    put(sm, `p/${i % 16}`, `${i}-${value}`);
    if (i % 50 === 49) {
      // Let the hub's flushes and catch-up run between batches (they are on timers).
      await new Promise((r) => setTimeout(r, 2));
      const st = hub.stats;
      peakBuffered = Math.max(peakBuffered, st.queuedBytes + st.pendingBytes);
    }
    if (i === revisions / 2) probe.request({ progress_request: {} });
  }
  const last = sm.mvcc.revision;
  // The budget, then each stream its share and one response past it (whole revisions).
  const bound = connectionBudgetBytes + (streams + 1) * (streamShareBytes + 32 * 1024);
  t.comment(
    `peak unread ${(meter.peak / 2 ** 20).toFixed(2)} MiB, peak held ${(peakBuffered / 2 ** 20).toFixed(2)} MiB, bound ${(bound / 2 ** 20).toFixed(2)} MiB`,
  );
  t.ok(meter.peak <= bound, "what the connection's streams wrote unread stays within its budget");
  t.ok(peakBuffered <= bound, "and so does what the hub holds for them (written + gathered)");
  await waitFor(() => reader.revisions(0).at(-1) === last, { what: `the reading stream to reach ${last}` });
  t.same(reader.revisions(0), range(from, last), "the stream that reads got every revision meanwhile");
  const progressAt = () => probe.got.findIndex((r, i) => i > 2 && Number(r.watch_id) === -1);
  t.equal(progressAt(), -1, "a progress request on a stream still catching up waits");

  for (const c of calls) {
    c.reading = true;
    c.read();
  }
  await waitFor(() => calls.every((c) => c.revisions(0).at(-1) === last && c.revisions(1).at(-1) === last), {
    what: `every watcher to reach ${last}`,
  });
  const problems = calls.flatMap((c, i) =>
    [0, 1].flatMap((id) => {
      const revs = c.revisions(id);
      const want = range(from, last);
      return revs.length === want.length && revs.every((r, j) => r === want[j])
        ? []
        : [`stream ${i} watcher ${id}: ${revs.length} events for ${want.length} revisions`];
    }),
  );
  t.same(problems, [], "once read, every watcher got every revision once, in order");
  await waitFor(() => progressAt() !== -1, { what: "the deferred progress response" });
  const p = probe.got[progressAt()] as WatchResponse;
  const before = probe.got.slice(0, progressAt());
  const seen = (id: number) =>
    Math.max(
      ...before
        .filter((r) => Number(r.watch_id) === id)
        .flatMap((r) => (r.events ?? []).map((e) => Number(e.kv?.mod_revision))),
    );
  t.ok(
    Number(p.header?.revision) >= from + revisions / 2,
    "the deferred answer carries a revision past the request",
  );
  t.same(
    [seen(0), seen(1)],
    [Number(p.header?.revision), Number(p.header?.revision)],
    "and comes after every event up to its revision",
  );
});
