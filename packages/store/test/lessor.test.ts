import t from "tap";
import { Lessor, type LessorState, NotPrimaryError } from "../src/server/lessor.js";

/**
 * The lessor alone, on an injected clock and a fake Raft node: the revoke it proposes is a
 * promise the test applies (or fails) when it chooses, as Raft would some time later.
 */
function setup() {
  let now = 1000;
  let leader = true;
  const sm: LessorState = { leases: new Map(), onLeaseGranted: undefined, onLeaseRevoked: undefined };
  const proposed: bigint[] = [];
  const lessor = new Lessor(
    { isLeader: () => leader, leader: () => (leader ? 1 : 2) },
    sm,
    async (id) => {
      proposed.push(id);
    },
    () => now,
  );
  const grant = (id: bigint, ttl: number) => {
    sm.leases.set(id, { ttl });
    sm.onLeaseGranted?.(id, ttl);
  };
  /** What applying the revoke does on every member. */
  const applyRevoke = (id: bigint) => {
    sm.leases.delete(id);
    sm.onLeaseRevoked?.(id);
  };
  return {
    lessor,
    proposed,
    grant,
    applyRevoke,
    advance: (ms: number) => {
      now += ms;
    },
    setLeader: (l: boolean) => {
      leader = l;
    },
  };
}

/** Settles with what a promise did, or "pending" if it has not yet (after queued callbacks ran). */
async function state<T>(p: Promise<T>): Promise<T | "pending" | { rejected: unknown }> {
  const pending = Symbol("pending");
  const r = await Promise.race([
    p.then(
      (v) => v,
      (e: unknown) => ({ rejected: e }),
    ),
    new Promise<typeof pending>((resolve) => setImmediate(() => resolve(pending))),
  ]);
  return r === pending ? "pending" : (r as T | { rejected: unknown });
}

t.test("a keep-alive before expiry renews to a full TTL", async (t) => {
  const s = setup();
  s.lessor.revokeExpiredLeases(); // becomes leader (Promote)
  s.grant(1n, 5);
  s.advance(4900);
  t.equal(await s.lessor.renew(1n), 5);
  s.advance(4900);
  s.lessor.revokeExpiredLeases();
  t.same(s.proposed, [], "renewed: not expired 9.8 s after the grant");
  t.equal(await s.lessor.renew(9n), 0, "an unknown lease answers TTL 0");
});

t.test("a keep-alive just after expiry, before the expiry loop ran, does not revive the lease", async (t) => {
  const s = setup();
  s.lessor.revokeExpiredLeases();
  s.grant(1n, 5);
  s.advance(5000); // exactly at expiry: etcd's Remaining() <= 0 is expired
  const renewal = s.lessor.renew(1n);
  t.equal(await state(renewal), "pending", "the renewal waits for the revoke");
  s.lessor.revokeExpiredLeases();
  t.same(s.proposed, [1n], "the expiry loop still proposes the revoke");
  t.equal(await state(renewal), "pending", "still waiting while the revoke is in flight");
  const second = s.lessor.renew(1n);
  s.applyRevoke(1n);
  t.equal(await renewal, 0, "answers not found (TTL 0) once the revoke is applied");
  t.equal(await second, 0, "every waiting renewal does");
  t.equal(s.lessor.remaining(1n), -1);
});

t.test("a keep-alive during an in-flight revoke that fails keeps waiting for the retry", async (t) => {
  let fail = true;
  const proposed: bigint[] = [];
  const sm: LessorState = {
    leases: new Map([[1n, { ttl: 2 }]]),
    onLeaseGranted: undefined,
    onLeaseRevoked: undefined,
  };
  let now = 0;
  const lessor = new Lessor(
    { isLeader: () => true, leader: () => 1 },
    sm,
    async (id) => {
      proposed.push(id);
      if (fail) throw new Error("proposal dropped");
    },
    () => now,
  );
  lessor.revokeExpiredLeases(); // Promote: lease 1 expires at 2000
  now = 2100;
  lessor.revokeExpiredLeases();
  const renewal = lessor.renew(1n);
  t.equal(await state(renewal), "pending");
  fail = false;
  lessor.revokeExpiredLeases();
  t.same(proposed, [1n, 1n], "the failed revoke is proposed again");
  sm.leases.delete(1n);
  sm.onLeaseRevoked?.(1n);
  t.equal(await renewal, 0);
});

t.test("a waiting renewal fails with NotPrimaryError when this member stops leading", async (t) => {
  const s = setup();
  s.lessor.revokeExpiredLeases();
  s.grant(1n, 3);
  s.advance(3500);
  const renewal = s.lessor.renew(1n);
  s.setLeader(false);
  s.lessor.revokeExpiredLeases();
  const r = await state(renewal);
  t.ok(typeof r === "object" && r.rejected instanceof NotPrimaryError, "asks the caller to go to the leader");
  await t.rejects(s.lessor.renew(1n), NotPrimaryError, "a follower does not renew");
  s.setLeader(true);
  t.equal(await s.lessor.renew(1n), 3, "a new leader has extended it to a full TTL (Promote)");
});

t.test("stop fails the waiting renewals", async (t) => {
  const s = setup();
  s.lessor.revokeExpiredLeases();
  s.grant(1n, 3);
  s.advance(3000);
  const renewal = s.lessor.renew(1n);
  s.lessor.stop();
  await t.rejects(renewal, NotPrimaryError);
});

t.test("TimeToLive truncates to whole seconds as etcd's int64(Remaining().Seconds())", async (t) => {
  const s = setup();
  s.lessor.revokeExpiredLeases();
  s.grant(1n, 10);
  t.equal(s.lessor.remaining(1n), 10, "no time passed");
  s.advance(1);
  t.equal(s.lessor.remaining(1n), 9, "1 ms later: 9 (the old rounding up said 10)");
  s.advance(8999);
  t.equal(s.lessor.remaining(1n), 1, "a second left");
  s.advance(1000);
  t.equal(s.lessor.remaining(1n), 0, "at expiry");
  s.advance(500);
  t.equal(Object.is(s.lessor.remaining(1n), -0), false, "0, not -0, half a second overdue");
  t.equal(s.lessor.remaining(1n), 0);
  s.advance(600);
  t.equal(s.lessor.remaining(1n), -1, "over a second overdue, awaiting its revoke: -1 as etcd");
  t.equal(s.lessor.remaining(2n), -1, "an unknown lease");
});
