/**
 * Lease expiry cases of the etcd v3 contract (etcd v3.4 lease/lessor.go Renew, Remaining;
 * etcdserver/v3_server.go LeaseRenew): an expired lease is never renewed, and TimeToLive reports
 * whole seconds left, truncated. Their timing is bounded from one side only: a lease granted
 * with TTL n has expired n seconds after the grant's response arrived (its expiry was set when
 * the grant was applied, before the response), on any machine; how much later a step runs does
 * not change the answer.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { b, type CaseContext, type ContractCase } from "./store-contract.js";

/** Offsets (ms) past the certain expiry at which keep-alives arrive, racing the revoke. */
const offsets = [20, 100, 200, 300];

async function keepAliveAfterExpiry(ctx: CaseContext, i: number, offsetMs: number): Promise<object> {
  const id = String(2200 + i);
  const key = ctx.key(`expiring-${i}`);
  await ctx.call("Lease", "LeaseGrant", { ID: id, TTL: 3 }, null);
  const expiredBy = performance.now() + 3000;
  await ctx.call("KV", "Put", { key, value: b("v"), lease: id }, null);
  // A lower bound, not a guess: by then the lease has expired on any machine.
  await sleep(Math.max(0, expiredBy + offsetMs - performance.now()));
  const ka = await ctx.keepAlive(id, null);
  const ttl = await ctx.call("Lease", "LeaseTimeToLive", { ID: id, keys: true }, null);
  const get = await ctx.call("KV", "Range", { key, count_only: true }, null);
  // Revisions are left out: the revokes of the parallel trials land in either order.
  return {
    keepAlive: { ID: ka.ID, TTL: ka.TTL, error: ka.error },
    timeToLive: { TTL: ttl.TTL, keys: ttl.keys },
    keysLeft: get.count,
  };
}

export const contractLeaseExpiryCases: readonly ContractCase[] = [
  {
    name: "lease: a keep-alive just after expiry finds the lease gone (never revives it)",
    async run(ctx) {
      const results = await Promise.all(offsets.map((o, i) => keepAliveAfterExpiry(ctx, i, o)));
      results.forEach((r, i) => {
        ctx.record(`keep-alive ${offsets[i]} ms after the lease certainly expired`, r);
      });
    },
  },
  {
    name: "lease: TimeToLive reports whole seconds left, truncated",
    async run(ctx) {
      const start = performance.now();
      await ctx.call("Lease", "LeaseGrant", { ID: "2210", TTL: 10 }, "grant lease 2210, TTL 10");
      await ctx.call(
        "KV",
        "Put",
        { key: ctx.key("k"), value: b("v"), lease: "2210" },
        "put k with the lease",
      );
      const ttl = await ctx.call("Lease", "LeaseTimeToLive", { ID: "2210", keys: true }, null);
      const elapsed = (performance.now() - start) / 1000;
      // Some time has passed since the grant, less than `elapsed`: 9 s and some left, so 9, or
      // fewer on a slow machine, never 10.
      const n = Number(ttl.TTL);
      ctx.record("TimeToLive right after the grant", {
        grantedTTL: ttl.grantedTTL,
        keys: ttl.keys,
        TTL: n <= 9 && n >= Math.floor(10 - elapsed) ? "seconds left, truncated" : n,
      });
      await ctx.keepAlive("2210", "keep-alive");
      await ctx.call("Lease", "LeaseRevoke", { ID: "2210" }, "revoke");
      await ctx.keepAlive("2210", "keep-alive after the revoke");
      await ctx.call("Lease", "LeaseTimeToLive", { ID: "2210" }, "TimeToLive after the revoke");
    },
  },
];
