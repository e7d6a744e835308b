/**
 * The watch hub on a 3-member `skiff store`, seen through the members' metrics. A watcher on a
 * follower that installs a snapshot from the leader (as etcd's robustness tests make one: the
 * follower is paused past --experimental-snapshot-catchup-entries while writes go on) gets every
 * revision exactly once, in order: the install moves its watchers back to catching up from the
 * restored history (etcd's watchableStore.Restore). A client that never reads, with many streams
 * on one connection, makes the member hold at most the connection's budget.
 */
import { type EtcdClients, unaryCall } from "@skiff/etcd-client";
import { freePort } from "@skiff/testkit";
import t from "tap";
import { connectionBudgetBytes, streamShareBytes } from "../src/server/watch-connection.js";
import {
  Clients,
  call,
  checkWatch,
  eventsOf,
  leaderOf,
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

/** Metrics of a member's /metrics, from one scrape (0 when absent), summed. */
async function metric(url: string, ...names: string[]): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  let sum = 0;
  for (const name of names) {
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    sum += line === undefined ? 0 : Number(line.split(" ")[1]);
  }
  return sum;
}

t.test("watch on a 3-member skiff store, seen through its metrics", async (t) => {
  // A snapshot every 50 entries, keeping 10 behind it: a follower paused for a few hundred
  // entries finds the leader's log compacted past what it has and must take a snapshot.
  const cluster = new StoreCluster([
    ...["--heartbeat-interval", "50", "--election-timeout", "500"],
    ...["--snapshot-count", "50", "--experimental-snapshot-catchup-entries", "10"],
  ]);
  const clients = new Clients();
  const conns: WatchConn[] = [];
  let paused: StoreMember | undefined;
  t.teardown(async () => {
    if (paused?.child?.pid !== undefined) paused.child.kill("SIGCONT");
    for (const c of conns) c.close();
    clients.close();
    await cluster.close();
  });
  const members = await cluster.init(["a", "b", "c"]);
  const metricsUrl = new Map<string, string>();
  for (const m of members) metricsUrl.set(m.name, `http://127.0.0.1:${await freePort()}`);
  await Promise.all(
    members.map((m) => cluster.startMember(m, ["--listen-metrics-urls", metricsUrl.get(m.name) as string])),
  );
  const byName = new Map(members.map((m) => [m.name, clients.of(m)]));
  const leader = await leaderOf(cluster, byName);
  const follower = members.find((m) => m.name !== leader) as StoreMember;
  const writeTo = byName.get(leader) as EtcdClients;

  await t.test("a watcher on a follower that installs a snapshot gets every revision once", async (t) => {
    const installed = () =>
      metric(metricsUrl.get(follower.name) as string, "skiff_raft_snapshots_installed_total");
    t.equal(await installed(), 0, `follower ${follower.name} has installed no snapshot yet`);

    const model = new WriteModel();
    const P = "snap/";
    const conn = new WatchConn(byName.get(follower.name) as EtcdClients);
    conns.push(conn);
    const live = await conn.watch(P); // live, with prev_kv
    const from = Number(live.created?.header.revision) + 1;
    const write = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const ops = [{ type: 0 as const, key: `${P}k${i % 13}`, value: uniqueValue(P) }];
        if (i % 5 === 0) ops.push({ type: 0, key: `${P}k${(i + 7) % 13}`, value: uniqueValue(P) });
        await writeTxn(writeTo, model, P, ops);
      }
    };
    await write(20);
    await waitLastRev([live], model.lastRev);

    // Paused, the follower applies nothing while 700 revisions (many snapshots) go by. The leader
    // sends a paused follower up to 512 appends (--max-inflight-msgs, buffered on the way): one
    // writer, one entry per append, so 700 are more than it can be sent without a snapshot.
    const pid = follower.child?.pid as number;
    process.kill(pid, "SIGSTOP");
    paused = follower;
    await write(700);
    process.kill(pid, "SIGCONT");
    paused = undefined;
    await waitFor("the follower to install a snapshot from the leader", async () => {
      const n = await installed();
      if (n < 1) throw new Error(`${n} installed`);
    }).catch(async (e) => {
      for (const m of members) {
        const text = await (await fetch(`${metricsUrl.get(m.name)}/metrics`)).text();
        t.comment(
          m.name,
          text
            .split("\n")
            .filter((l) => /snapshot|applied|committed_total|has_leader/.test(l) && !l.startsWith("#"))
            .join("; "),
        );
        t.comment(m.stderr.slice(-10).join("\n"));
      }
      throw e;
    });
    t.ok((await installed()) >= 1, "the follower installed a snapshot");
    await write(20);
    await waitLastRev([live], model.lastRev);

    t.equal(live.canceled, undefined, "the watcher was not canceled (nothing was compacted)");
    t.same(
      checkWatch(live.responses, model, from),
      [],
      "every revision exactly once, in order, with prev_kv",
    );
    t.comment(`${eventsOf(live).length} events from revision ${from} to ${model.lastRev}`);

    // The snapshot came from the leader's LevelDB: the follower holds the same data.
    const range = { key: Buffer.from(P), range_end: Buffer.from("snap0"), serializable: true };
    const mine = await unaryCall((byName.get(follower.name) as EtcdClients).KV, "Range", range, 10_000);
    const theirs = await unaryCall(writeTo.KV, "Range", range, 10_000);
    t.same(mine.kvs, theirs.kvs, "its keys, values and revisions equal the leader's");
  });

  await t.test("a client that never reads, many streams on one connection: bounded together", async (t) => {
    // 24 paused streams on one client connection to the follower, one watcher each: alone, each
    // stream may hold about 1 MiB unflushed; together they share the connection's budget.
    const member = metricsUrl.get(follower.name) as string;
    const model = new WriteModel();
    const P = "nr/";
    const client = clients.of(follower); // one client: one HTTP/2 connection for its streams
    const streams: WatchConn[] = [];
    const watchers: WatcherLog[] = [];
    for (let i = 0; i < 24; i++) {
      const s = new WatchConn(client);
      streams.push(s);
      conns.push(s);
      watchers.push(await s.watch(P, 0, false));
    }
    const from = Number(watchers[0]?.created?.header.revision) + 1;
    for (const s of streams) s.stream.pause();
    // Both from one scrape: the gauges are read together.
    const held = () => metric(member, "skiff_watch_queued_bytes", "skiff_watch_pending_bytes");
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await held());
        await sleep(20); // a sampling period, not a wait for a condition
      }
    })();
    try {
      // 300 revisions of 8 KiB: ~2.4 MB of events per stream, more than a stream holds alone,
      // and 24 of them many times the connection's budget.
      let next = 0;
      const writer = async () => {
        while (next < 300) {
          next++;
          const value = uniqueValue(P, 8 * 1024);
          await writeTxn(writeTo, model, P, [{ type: 0, key: `${P}k${next % 9}`, value }]);
        }
      };
      await Promise.all([writer(), writer(), writer(), writer()]);
      await waitFor("the follower to apply every revision", async () => {
        const r = await call(client, "KV", "Range", { key: Buffer.from(`${P}k0`), serializable: true });
        if (Number(r.header.revision) < model.lastRev) throw new Error(`at ${r.header.revision}`);
      });
    } finally {
      sampling = false;
      await sampler.catch(() => undefined);
    }
    peak = Math.max(peak, await held());
    t.comment(`peak held for the connection: ${(peak / 2 ** 20).toFixed(2)} MiB`);
    // The budget, then each stream its share and one response past it (whole revisions).
    const bound = connectionBudgetBytes + streams.length * (streamShareBytes + 32 * 1024);
    t.ok(
      peak <= bound,
      `what the member holds for the connection stays within ${(bound / 2 ** 20).toFixed(2)} MiB`,
    );
    for (const s of streams) s.stream.resume();
    await waitLastRev(watchers, model.lastRev);
    const problems = watchers.flatMap((w, i) =>
      checkWatch(w.responses, model, from, { prevKv: false, max: 2 }).map((p) => `s${i}: ${p}`),
    );
    t.same(problems.slice(0, 10), [], "once read, every stream got every revision in order");
    await waitFor("the member to hold nothing for it", async () => {
      const n = await held();
      if (n > 0) throw new Error(`${n} bytes`);
    });
  });
});
