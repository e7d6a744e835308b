import type { EtcdClients } from "@skiff/etcd-client";
import { waitFor as waitUntil } from "@skiff/testkit";
import t from "tap";
import { flushGapMs } from "../src/server/watch.js";
import {
  b,
  Clients,
  call,
  checkWatch,
  eventsOf,
  lastRevOf,
  leaderOf,
  randomWriter,
  rss,
  sleep,
  uniqueValue,
  WatchConn,
  type WatcherLog,
  WriteModel,
  waitFor,
  waitLastRev,
  writeTxn,
} from "./store-watch-helpers.js";
import { StoreCluster, type StoreMember } from "./storeprocs.js";

// etcd's watch guarantees (its robustness tests' watch checks) on a real 3-member skiff store:
// ordered, no duplicates, no gaps, atomic per revision, prev_kv right, resumable; a slow watcher
// does not make the server buffer without bound; compaction cancels; a member crash is survivable.

t.test("watch guarantees on a 3-member skiff store", async (t) => {
  const cluster = new StoreCluster(["--heartbeat-interval", "50", "--election-timeout", "500"]);
  const clients = new Clients();
  const conns: WatchConn[] = [];
  t.teardown(async () => {
    for (const c of conns) c.close();
    clients.close();
    await cluster.close();
  });
  await cluster.start();
  const [, mb, mc] = cluster.members as [StoreMember, StoreMember, StoreMember];
  const byName = new Map(cluster.members.map((m) => [m.name, clients.of(m)]));
  const ca = byName.get("a") as EtcdClients;
  const cb = byName.get("b") as EtcdClients;
  const cc = byName.get("c") as EtcdClients;
  const conn = (c: EtcdClients) => {
    const w = new WatchConn(c);
    conns.push(w);
    return w;
  };

  await t.test("ordered, complete, atomic, prev_kv; from the past and live; resumable", async (t) => {
    const model = new WriteModel();
    const P = "w/";
    // Some history first, so that a watcher can start in the past. The phases below are counted
    // in revisions, not in time: a slower machine only makes them longer.
    let stop = false;
    await Promise.all([ca, cb, cc].map((c) => randomWriter(c, model, P, () => model.writes.size >= 60)));
    const pastStart = [...model.writes.keys()].sort((x, y) => x - y)[
      Math.floor(model.writes.size / 2)
    ] as number;

    const live = await conn(ca).watch(P); // member a, live
    const liveFrom = Number(live.created?.header.revision) + 1;
    const past = await conn(cb).watch(P, pastStart); // member b, from a past revision
    const resConn = conn(cb);
    const resumable = await resConn.watch(P, liveFrom); // member b, canceled and resumed on c

    const writers = [ca, cb, cc].map((c) => randomWriter(c, model, P, () => stop));
    const writes = (what: string, after: number, n: number) =>
      waitFor(what, () => {
        if (model.revisionsAfter(after) < n) throw new Error(`${model.revisionsAfter(after)} so far`);
      });
    await writes("40 revisions from the live writers", liveFrom - 1, 40);
    // Member c, from revision 1 while the writers run: catch-up, then live.
    const fromOne = await conn(cc).watch(P, 1);
    const createdAt = Number(fromOne.created?.header.revision);
    await writes("40 revisions after the watch from revision 1", createdAt, 40);
    await waitFor("events on the resumable watcher", () => {
      if (lastRevOf(resumable) < liveFrom) throw new Error("none yet");
    });
    await resConn.cancel(resumable);
    const resumeFrom = lastRevOf(resumable) + 1;
    t.ok(resumeFrom > liveFrom, `the resumable watcher got events before its cancel (to ${resumeFrom - 1})`);
    const resumed = await conn(cc).watch(P, resumeFrom);
    await writes("60 revisions after the resume", Number(resumed.created?.header.revision), 60);
    stop = true;
    const counts = await Promise.all(writers);
    t.ok(model.errors.length === 0, `writers' revisions are distinct: ${model.errors.join("; ")}`);
    const last = model.lastRev;
    t.comment(
      `${counts.reduce((x, y) => x + y, 0)} writes; ${model.writes.size} revisions on ${P}; last ${last}`,
    );
    await waitLastRev([live, past, fromOne, resumed], last);

    t.same(checkWatch(live.responses, model, liveFrom), [], "live watcher on a");
    t.same(checkWatch(past.responses, model, pastStart), [], `watcher on b from past revision ${pastStart}`);
    t.same(checkWatch(fromOne.responses, model, 1), [], "watcher on c from revision 1, created mid-workload");
    t.same(
      checkWatch([...resumable.responses, ...resumed.responses], model, liveFrom),
      [],
      `canceled at ${resumeFrom - 1} on b and resumed on c: the union has no loss or duplicate`,
    );
    t.ok(eventsOf(fromOne).length > 100, `the watchers saw many events (${eventsOf(fromOne).length})`);
  });

  await t.test("a slow watcher: bounded server memory, then every event in order", async (t) => {
    const model = new WriteModel();
    const P = "s/";
    const slow = conn(cc);
    const watchers: WatcherLog[] = [];
    for (let i = 0; i < 16; i++) watchers.push(await slow.watch(P));
    const from = Number(watchers[0]?.created?.header.revision) + 1;
    slow.stream.pause(); // read nothing: the server must stop feeding it and remember where it is

    const pidC = mc.child?.pid as number;
    const pidB = mb.child?.pid as number;
    const base = { c: rss(pidC), b: rss(pidB) };
    // 4 keys x ~400 B per revision, with prev_kv: ~3.5 KB per response, 16 responses per revision.
    const revisions = 2400;
    let next = 0;
    const writer = async (c: EtcdClients) => {
      while (next < revisions) {
        next++;
        const ops = [0, 1, 2, 3].map((j) => ({
          type: 0 as const,
          key: `${P}k${(next * 4 + j) % 24}`,
          value: uniqueValue(P, 400),
        }));
        await writeTxn(c, model, P, ops);
      }
    };
    const t0 = Date.now();
    await Promise.all([ca, ca, ca, cb, cb, cb].map(writer));
    // Member c has applied every revision (so it has had every event to send), then a second for
    // the RSS figures to settle; the sleep stands for no event.
    await waitFor("member c to apply every revision", async () => {
      const r = await call(cc, "KV", "Range", { key: b(`${P}k0`), serializable: true });
      if (Number(r.header.revision) < model.lastRev) throw new Error(`at ${r.header.revision}`);
    });
    await sleep(1000);
    const paused = { c: rss(pidC), b: rss(pidB) };
    const eventBytes = revisions * 16 * 4 * 2 * 400;
    const growC = (paused.c.rssKb - base.c.rssKb) / 1024;
    const growB = (paused.b.rssKb - base.b.rssKb) / 1024;
    t.comment(
      `${revisions} revisions in ${Date.now() - t0} ms, ~${(eventBytes / 2 ** 20).toFixed(0)} MB of events for the paused stream; ` +
        `VmRSS growth while paused: c (serving) ${growC.toFixed(1)} MB, b (control) ${growB.toFixed(1)} MB`,
    );
    t.ok(
      growC - growB < 12,
      `the member serving the paused stream does not buffer its events (grew ${growC.toFixed(1)} MB vs ${growB.toFixed(1)} MB)`,
    );
    const got = watchers.reduce((n, w) => n + eventsOf(w).length, 0);
    t.ok(got < revisions * 16 * 4, `the paused client did not receive everything yet (${got} events)`);

    slow.stream.resume();
    await waitLastRev(watchers, model.lastRev);
    const after = { c: rss(pidC), b: rss(pidB) };
    const peakC = (after.c.hwmKb - base.c.rssKb) / 1024;
    const peakB = (after.b.hwmKb - base.b.rssKb) / 1024;
    t.comment(
      `VmHWM over the baseline RSS after the catch-up: c ${peakC.toFixed(1)} MB, b ${peakB.toFixed(1)} MB`,
    );
    // A member that held the backlog would grow by at least its size (~120 MB); what a catch-up
    // leaves behind is garbage within V8's old-space slack (24 MB at least, heap.ts), the young
    // generation and LevelDB's block cache, whatever the backlog.
    const backlogMb = eventBytes / 2 ** 20;
    t.ok(
      peakC - peakB < backlogMb / 2.5,
      `catching the slow stream up stays bounded too (peak +${peakC.toFixed(1)} MB vs +${peakB.toFixed(1)} MB, backlog ${backlogMb.toFixed(0)} MB)`,
    );
    const problems = watchers.flatMap((w, i) =>
      checkWatch(w.responses, model, from, { max: 3 }).map((p) => `w${i}: ${p}`),
    );
    t.same(problems.slice(0, 10), [], "after resuming, all 16 watchers got every event in order (catch-up)");
  });

  await t.test(
    "a busy stream's watchers get several revisions per response; a lone watcher is not held",
    async (t) => {
      // --experimental-watch-batch-interval (100 ms here, the default): after a flush of n
      // responses a stream waits min(2n ms, 100 ms) before the next one.
      const model = new WriteModel();
      const P = "bz/";
      const busy = conn(ca);
      const watchers: WatcherLog[] = [];
      for (let i = 0; i < 30; i++) watchers.push(await busy.watch(P));
      const lone = await conn(ca).watch(P);
      const from = Number(watchers[0]?.created?.header.revision) + 1;
      const revisions = 200;
      let next = 0;
      const writer = async (c: EtcdClients) => {
        while (next < revisions) {
          next++;
          await writeTxn(c, model, P, [{ type: 0, key: `${P}k${next % 7}`, value: uniqueValue(P) }]);
        }
      };
      const writing = performance.now();
      await Promise.all([ca, ca, cb, cb].map(writer));
      await waitLastRev([...watchers, lone], model.lastRev);
      const took = performance.now() - writing;
      const problems = [...watchers, lone].flatMap((w, i) =>
        checkWatch(w.responses, model, from, { max: 3 }).map((p) => `w${i}: ${p}`),
      );
      t.same(problems.slice(0, 10), [], "every watcher got every revision, in order, each revision whole");
      const responses = watchers.map((w) => w.responses.length);
      t.comment(
        `${revisions} revisions in ${took.toFixed(0)} ms; responses per busy watcher ${Math.min(...responses)}-${Math.max(...responses)}`,
      );
      // The stream's flushes are at least 60 ms apart (2 ms per response, checked on flushGapMs
      // below), so however slowly the revisions came, each watcher got at most one response per
      // 60 ms of the run (+2 for the ends); a machine that wrote them in under 4 s is held to a
      // third of them.
      const bound = Math.max(revisions / 3, took / 60 + 2);
      t.ok(
        Math.max(...responses) <= bound,
        `a stream of 30 busy watchers sends each several revisions per response (at most ${Math.max(...responses)} responses for ${revisions} revisions, bound ${bound.toFixed(0)})`,
      );

      // How long a stream waits after a flush is the pacing rule; whether a revision then shares
      // a response with the next depends on the machine's speed, so the lone watcher's latency
      // is a printed figure. Each revision is delivered before the next is written.
      t.equal(flushGapMs(1, 100), 2, "a stream that wrote one response waits 2 ms before the next");
      t.equal(flushGapMs(30, 100), 60, "one that wrote 30 waits 60 ms");
      t.equal(flushGapMs(80, 100), 100, "never longer than the batch interval");
      const spaced = 10;
      const before = lone.responses.length;
      const latencies: number[] = [];
      for (let i = 0; i < spaced; i++) {
        const rev = await writeTxn(ca, model, P, [{ type: 0, key: `${P}lone`, value: uniqueValue(P) }]);
        const acked = performance.now();
        await waitUntil(() => lastRevOf(lone) >= rev, {
          what: `revision ${rev} on the lone watcher`,
          intervalMs: 1,
        });
        latencies.push(performance.now() - acked);
      }
      const perResponse = lone.responses.slice(before).map((r) => (r.events ?? []).length);
      t.same(
        perResponse,
        Array(spaced).fill(1),
        "a lone watcher gets each spaced revision in a response of its own",
      );
      latencies.sort((x, y) => x - y);
      t.comment(
        `lone watcher, write acknowledged to event received: median ${latencies[spaced >> 1]?.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms`,
      );
    },
  );

  await t.test("a stream's backlog larger than one flush reaches every watcher, in order", async (t) => {
    // 24 watchers on one stream and 16 KiB values: a batch interval's revisions are several
    // hundred KiB per flush for the stream, more than it frames at once (256 KiB); the rest waits,
    // pending, for the client to read the first part.
    const model = new WriteModel();
    const P = "bb/";
    const stream = conn(ca);
    const watchers: WatcherLog[] = [];
    for (let i = 0; i < 24; i++) watchers.push(await stream.watch(P));
    const from = Number(watchers[0]?.created?.header.revision) + 1;
    let next = 0;
    const writer = async (c: EtcdClients) => {
      while (next < 60) {
        next++;
        await writeTxn(c, model, P, [{ type: 0, key: `${P}k${next % 5}`, value: uniqueValue(P, 16 * 1024) }]);
      }
    };
    await Promise.all([ca, ca, cb, cb].map(writer));
    await waitLastRev(watchers, model.lastRev);
    const problems = watchers.flatMap((w, i) =>
      checkWatch(w.responses, model, from).map((p) => `w${i}: ${p}`),
    );
    t.same(problems.slice(0, 10), [], "every watcher got every revision, in order, each revision whole");
  });

  await t.test("a watch on a compacted revision is canceled with compact_revision", async (t) => {
    const model = new WriteModel();
    for (let i = 0; i < 5; i++) await writeTxn(ca, model, "cp/", [{ type: 0, key: "cp/k", value: `v${i}` }]);
    const rev = model.lastRev;
    await call(ca, "KV", "Compact", { revision: String(rev - 1), physical: true });
    const w = conn(ca);
    const gone = await w.watch("cp/", rev - 2);
    await waitFor("the compacted cancel", () => {
      if (gone.canceled === undefined) throw new Error("not canceled");
    });
    t.equal(Number(gone.canceled?.compact_revision), rev - 1, "canceled with compact_revision");
    t.equal(eventsOf(gone).length, 0, "and no events");
    const ok = await w.watch("cp/", rev - 1);
    await waitLastRev([ok], rev);
    t.equal(ok.canceled, undefined, "a watch from the compact revision itself works");
    t.same(
      eventsOf(ok).map((e) => e.kv?.value?.toString()),
      ["v3", "v4"],
    );
    // The other members applied the compaction too: once a read at a compacted revision fails
    // there, a watch from it is canceled.
    for (const c of [cb, cc]) {
      await waitFor("the member to apply the compaction", async () => {
        const r = await call(c, "KV", "Range", { key: b("cp/k"), revision: String(rev - 2) }).then(
          () => "readable",
          (e: { details?: string }) => e.details ?? String(e),
        );
        if (!/compacted/.test(r)) throw new Error(r);
      });
      const other = await conn(c).watch("cp/", rev - 2);
      await waitFor("the compacted cancel on another member", () => {
        if (other.canceled === undefined) throw new Error("not canceled");
      });
      t.equal(Number(other.canceled?.compact_revision), rev - 1, "compacted on another member");
    }
    // Watchers that fall behind (their stream paused, 8 x 250 responses: over the server's
    // per-stream bound) past a compaction must not skip the compacted events silently: what each
    // got is gapless, and one that could not finish is canceled with compact_revision.
    const behindModel = new WriteModel();
    const behindConn = conn(cb);
    const behind: WatcherLog[] = [];
    for (let i = 0; i < 8; i++) behind.push(await behindConn.watch("cq/"));
    const from = Number(behind[0]?.created?.header.revision) + 1;
    behindConn.stream.pause();
    let n = 0;
    const writer = async () => {
      while (n++ < 250) {
        const ops = [0, 1, 2, 3].map((j) => ({
          type: 0 as const,
          key: `cq/${j}`,
          value: uniqueValue("cq", 1000),
        }));
        await writeTxn(ca, behindModel, "cq/", ops);
      }
    };
    await Promise.all([writer(), writer(), writer(), writer()]);
    const compactAt = behindModel.lastRev;
    await call(ca, "KV", "Compact", { revision: String(compactAt), physical: true });
    await waitFor("member b to apply the compaction", async () => {
      const r = await call(cb, "KV", "Range", {
        key: Buffer.from("cq/0"),
        revision: String(compactAt - 1),
      }).then(
        () => "readable",
        (e: { details?: string }) => e.details ?? String(e),
      );
      if (!/compacted/.test(r)) throw new Error(r);
    });
    behindConn.stream.resume();
    await waitFor("the behind watchers to be canceled or complete", () => {
      for (const w of behind)
        if (w.canceled === undefined && lastRevOf(w) < compactAt)
          throw new Error(`${w.id} at ${lastRevOf(w)}`);
    });
    const canceled = behind.filter((w) => w.canceled !== undefined);
    t.comment(
      `behind watchers reached ${behind.map(lastRevOf).join(",")} of ${compactAt}; ${canceled.length} canceled`,
    );
    const problems: string[] = [];
    for (const w of behind) {
      const gotTo = lastRevOf(w);
      const upTo = new WriteModel();
      for (const [rev, ops] of behindModel.writes) if (rev <= gotTo) upTo.record(rev, ops);
      problems.push(...checkWatch(w.responses, upTo, from, { max: 2 }).map((p) => `${w.id}: ${p}`));
      if (gotTo < compactAt && Number(w.canceled?.compact_revision) !== compactAt)
        problems.push(`${w.id}: stopped at ${gotTo} without a cancel carrying compact_revision ${compactAt}`);
    }
    t.same(problems, [], "behind watchers: gapless, then canceled with compact_revision when compacted");
    t.ok(canceled.length > 0, "the paused stream was held back, so the compaction overtook some watchers");
  });

  await t.test("the member serving a watcher dies: resume on another without loss", async (t) => {
    const names = new Map([
      ["a", ca],
      ["b", cb],
      ["c", cc],
    ]);
    const leader = await leaderOf(cluster, names);
    const victim = cluster.members.find((m) => m.name !== leader) as StoreMember;
    const others = cluster.members.filter((m) => m !== victim).map((m) => names.get(m.name) as EtcdClients);
    const model = new WriteModel();
    const P = "z/";
    const first = conn(names.get(victim.name) as EtcdClients);
    const w1 = await first.watch(P);
    const from = Number(w1.created?.header.revision) + 1;
    let stop = false;
    const writers = others.map((c) => randomWriter(c, model, P, () => stop));
    await waitFor("the victim to serve 20 revisions", () => {
      if (lastRevOf(w1) < from + 20) throw new Error(`at ${lastRevOf(w1)}`);
    });
    const pid = victim.child?.pid as number;
    victim.child?.kill("SIGKILL");
    await waitFor("the watch stream to fail", () => {
      if (first.error === undefined && !first.ended) throw new Error("still open");
    });
    const resumeFrom = lastRevOf(w1) + 1;
    t.ok(
      resumeFrom > from,
      `member ${victim.name} (pid ${pid}) served events up to ${resumeFrom - 1} before it died`,
    );
    const w2 = await conn(others[0] as EtcdClients).watch(P, resumeFrom);
    await waitFor("30 revisions after the resume", () => {
      const n = model.revisionsAfter(Number(w2.created?.header.revision));
      if (n < 30) throw new Error(`${n} so far`);
    });
    stop = true;
    await Promise.all(writers);
    await waitLastRev([w2], model.lastRev);
    t.same(
      checkWatch([...w1.responses, ...w2.responses], model, from),
      [],
      "the watcher resumed from its last revision + 1 on a live member lost nothing",
    );
  });
});
