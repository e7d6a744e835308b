import type { ClientDuplexStream } from "@grpc/grpc-js";
import type { EtcdClients, LeaseKeepAliveResponse } from "@skiff/etcd-client";
import t from "tap";
import {
  b,
  Clients,
  call,
  eventsOf,
  leaderOf,
  sleep,
  WatchConn,
  waitFor,
  waitLastRev,
} from "./store-watch-helpers.js";
import type { StoreMember } from "./storeprocs.js";
import { StoreCluster } from "./storeprocs.js";

// Leases on a real 3-member skiff store: expiry deletes the keys in one revision, keep-alive
// through a follower, a leader change does not expire a lease early, Leases/TimeToLive through a
// follower. --election-timeout 500 makes the minimum TTL 1 s (etcd: 1.5 election timeouts).
// A lease must not expire before its TTL: those are lower bounds, which a slower machine cannot
// break. How soon after its TTL it does expire is the machine's speed: a printed figure, with a
// generous deadline for the wait.

/** A LeaseKeepAlive stream; once() sends one keep-alive and resolves with its answer. */
class KeepAlive {
  readonly stream: ClientDuplexStream<object, LeaseKeepAliveResponse>;
  private readonly waiting: ((r: LeaseKeepAliveResponse) => void)[] = [];
  constructor(c: EtcdClients) {
    this.stream = (
      c.Lease as unknown as { LeaseKeepAlive(): ClientDuplexStream<object, LeaseKeepAliveResponse> }
    ).LeaseKeepAlive();
    this.stream.on("data", (r: LeaseKeepAliveResponse) => this.waiting.shift()?.(r));
    this.stream.on("error", () => {});
  }
  once(id: string): Promise<LeaseKeepAliveResponse> {
    return new Promise((resolve, reject) => {
      this.waiting.push(resolve);
      setTimeout(() => reject(new Error("no keep-alive answer in 30 s")), 30_000).unref();
      this.stream.write({ ID: id });
    });
  }
  close(): void {
    this.stream.cancel();
  }
}

t.test("leases on a 3-member skiff store", async (t) => {
  const cluster = new StoreCluster(["--heartbeat-interval", "50", "--election-timeout", "500"]);
  const clients = new Clients();
  const closers: { close(): void }[] = [];
  t.teardown(async () => {
    for (const c of closers) c.close();
    clients.close();
    await cluster.close();
  });
  await cluster.start();
  const byName = new Map(cluster.members.map((m) => [m.name, clients.of(m)]));
  const cl = (name: string) => byName.get(name) as EtcdClients;
  let leader = await leaderOf(cluster, byName);
  const followers = () => cluster.members.filter((m) => m.name !== leader && m.child?.signalCode === null);
  const exists = async (c: EtcdClients, key: string) =>
    (await call(c, "KV", "Range", { key: b(key) })).kvs.length > 0;

  await t.test("an expired lease deletes its keys in one revision", async (t) => {
    const [f1, f2] = followers() as [StoreMember, StoreMember];
    const watch = new WatchConn(cl(leader));
    closers.push(watch);
    const w = await watch.watch("le/");
    const sent = Date.now();
    const grant = await call(cl(f1.name), "Lease", "LeaseGrant", { TTL: "2", ID: "0" });
    t.equal(Number(grant.TTL), 2, "granted with TTL 2 through a follower");
    for (const k of ["le/1", "le/2", "le/3"])
      await call(cl(f2.name), "KV", "Put", { key: b(k), value: b("v"), lease: grant.ID });
    const ttl = await call(cl(f2.name), "Lease", "LeaseTimeToLive", { ID: grant.ID, keys: true });
    t.same(
      ttl.keys.map((k: Buffer) => k.toString()).sort(),
      ["le/1", "le/2", "le/3"],
      "TimeToLive with keys through a follower",
    );
    t.equal(Number(ttl.grantedTTL), 2);
    // Whole seconds left, truncated as etcd's: under 2 s, and no less than 2 s minus what passed.
    const least = Math.floor(2 - (Date.now() - sent) / 1000);
    t.ok(Number(ttl.TTL) >= least && Number(ttl.TTL) <= 1, `remaining TTL ${ttl.TTL} (at least ${least})`);
    await waitFor("the leased keys to vanish", async () => {
      if (await exists(cl(f2.name), "le/1")) throw new Error("still there");
    });
    const after = (Date.now() - sent) / 1000;
    t.ok(after >= 1.8, `the keys lived out the TTL of 2 s (gone ${after.toFixed(1)} s after the grant)`);
    for (const k of ["le/2", "le/3"]) t.notOk(await exists(cl(f1.name), k), `${k} is gone too`);
    const dels = await waitFor("3 DELETE events", () => {
      const evs = eventsOf(w).filter((e) => e.type === 1);
      if (evs.length < 3) throw new Error(`${evs.length} so far`);
      return evs;
    });
    t.same(dels.map((e) => e.kv?.key.toString()).sort(), ["le/1", "le/2", "le/3"]);
    t.equal(new Set(dels.map((e) => String(e.kv?.mod_revision))).size, 1, "all deleted at one revision");
    t.equal(
      w.responses.filter((r) => (r.events ?? []).some((e) => e.type === 1)).length,
      1,
      "in one watch response",
    );
    const gone = await call(cl(f1.name), "Lease", "LeaseTimeToLive", { ID: grant.ID, keys: false });
    t.equal(Number(gone.TTL), -1, "TimeToLive of the expired lease is -1");
    const leases = await call(cl(f2.name), "Lease", "LeaseLeases", {});
    t.notOk(
      leases.leases.some((l: { ID: string }) => l.ID === grant.ID),
      "LeaseLeases no longer lists it",
    );
  });

  await t.test("keep-alive through a follower keeps a lease past its TTL", async (t) => {
    const [f1, f2] = followers() as [StoreMember, StoreMember];
    const grant = await call(cl(leader), "Lease", "LeaseGrant", { TTL: "2", ID: "0" });
    await call(cl(f1.name), "KV", "Put", { key: b("ka/k"), value: b("v"), lease: grant.ID });
    const ka = new KeepAlive(cl(f1.name));
    closers.push(ka);
    // Keep-alives every 500 ms for 5 s (over twice the TTL); the checks below follow the last one.
    // The sleep is the client's keep-alive cadence, part of what is tested: a slower machine
    // only stretches the run, and the lease holds as long as a round trip takes under 1.5 s.
    const end = Date.now() + 5000;
    const ttls = new Set<number>();
    let lastKa = 0;
    for (;;) {
      lastKa = Date.now();
      const r = await ka.once(grant.ID);
      ttls.add(Number(r.TTL));
      if (Date.now() >= end) break;
      await sleep(500);
    }
    t.same([...ttls], [2], "every keep-alive answered TTL 2");
    t.ok(await exists(cl(f2.name), "ka/k"), "alive after 5 s with TTL 2: the keep-alives renewed it");
    const ttl = await call(cl(f2.name), "Lease", "LeaseTimeToLive", { ID: grant.ID, keys: true });
    t.same(
      ttl.keys.map((k: Buffer) => k.toString()),
      ["ka/k"],
    );
    const least = Math.floor(2 - (Date.now() - lastKa) / 1000);
    t.ok(Number(ttl.TTL) >= least, `remaining ${ttl.TTL} s right after a keep-alive (at least ${least})`);
    const leases = await call(cl(f2.name), "Lease", "LeaseLeases", {});
    t.ok(
      leases.leases.some((l: { ID: string }) => l.ID === grant.ID),
      "LeaseLeases through a follower lists it",
    );
    await waitFor("the lease to expire without keep-alives", async () => {
      if (await exists(cl(f2.name), "ka/k")) throw new Error("still there");
    });
    const after = (Date.now() - lastKa) / 1000;
    t.ok(
      after >= 1.8,
      `then it expired, not before its TTL: ${after.toFixed(1)} s after the last keep-alive`,
    );
  });

  await t.test("a leader change does not expire a lease early", async (t) => {
    const [f1, f2] = followers() as [StoreMember, StoreMember];
    const grant = await call(cl(f1.name), "Lease", "LeaseGrant", { TTL: "10", ID: "0" });
    await call(cl(f1.name), "KV", "Put", { key: b("lc/k"), value: b("v"), lease: grant.ID });
    const watch = new WatchConn(cl(f2.name));
    closers.push(watch);
    const w = await watch.watch("lc/");
    const ka = new KeepAlive(cl(f1.name));
    closers.push(ka);
    // Renewals 1 s apart, as a client does (the TTL is 10 s: a slow round trip cannot expire it).
    for (let i = 0; i < 3; i++) {
      await sleep(1000);
      t.equal(Number((await ka.once(grant.ID)).TTL), 10);
    }
    const old = cluster.members.find((m) => m.name === leader) as StoreMember;
    const exited = new Promise((r) => old.child?.once("exit", r));
    const killedAt = Date.now();
    old.child?.kill("SIGKILL");
    await exited;
    leader = await leaderOf(cluster, byName);
    const takeover = Date.now();
    t.comment(`leader ${old.name} killed; ${leader} leads after ${takeover - killedAt} ms`);
    const ttl = await call(cl(f2.name === leader ? f1.name : f2.name), "Lease", "LeaseTimeToLive", {
      ID: grant.ID,
      keys: true,
    });
    // The new leader took over after the kill and gave the lease its full 10 s from then: at least
    // what is left of 10 s from the kill (TTL is truncated to whole seconds, as etcd's).
    const fromKill = Math.floor((killedAt + 10_000 - Date.now()) / 1000);
    t.ok(
      Number(ttl.TTL) >= fromKill && Number(ttl.TTL) <= 10,
      `the new leader gave the lease a full TTL again (${ttl.TTL} s left, at least ${fromKill})`,
    );
    // Alive for at least its TTL from the takeover (which is after the kill): a check that has
    // completed within 10 s of the kill and finds the key gone proves an early expiry. A check
    // that ends later proves nothing, so a slow one cannot fail the test wrongly; checks go on
    // until one ends 9.5 s or more after the kill.
    let goneAt = 0;
    for (;;) {
      const gone = !(await exists(cl(f1.name), "lc/k"));
      const at = Date.now();
      if (gone) goneAt = at;
      if (gone || at >= killedAt + 9500) break;
      await sleep(250);
    }
    t.equal(
      goneAt === 0 || goneAt >= killedAt + 10_000
        ? "alive"
        : `gone ${((goneAt - killedAt) / 1000).toFixed(1)} s after the kill`,
      "alive",
      "the lease survived the failover for its TTL",
    );
    await waitFor("the lease to expire after its TTL on the new leader", async () => {
      if (await exists(cl(f1.name), "lc/k")) throw new Error("still there");
    });
    t.pass("then it expired");
    t.comment(`the lease expired ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill (TTL 10 s)`);
    await waitLastRev(
      [w],
      Number((await call(cl(f1.name), "KV", "Range", { key: b("lc/k") })).header.revision),
    );
    // The watch was created on another member right after the put was acknowledged; that member
    // may not have applied the put yet, so the PUT may be delivered too (etcd behaves the same).
    const types = eventsOf(w).map((e) => e.type);
    t.same(
      types.filter((x) => x === 1),
      [1],
      "the watcher on the surviving member saw the DELETE once",
    );
    t.equal(types[types.length - 1], 1, "and the DELETE is its last event");
  });
});
