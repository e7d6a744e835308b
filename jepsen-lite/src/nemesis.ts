/**
 * The nemesis: faults on a schedule drawn from the seeded PRNG, one at a time, each healed before
 * the next, so a majority can always make progress once a fault ends.
 *
 * - `kill`: SIGKILL a random member or the leader, restart it 1-3 s later (same data, same flags).
 * - `pause`: SIGSTOP a random member or the leader, SIGCONT 1-3 s later.
 * - `partition` (network namespaces only): for 2-4 s, one of: a random majority/minority split,
 *   the leader isolated, a one-way cut (packets from one member to another dropped), or a bridge
 *   (two halves that only talk through one member).
 * - `membership`: remove a random member, wipe it, add a fresh member in its place (new name, new
 *   peer URL, so a new member id) and wait until it has joined.
 * With several kinds, each fault's kind is drawn from the PRNG (`all` = every kind).
 */
import { performance } from "node:perf_hooks";
import type { Cluster, Member } from "./cluster.js";
import type { Prng } from "./prng.js";

export const nemesisKinds = ["kill", "pause", "partition", "membership"] as const;
export type NemesisKind = (typeof nemesisKinds)[number];

/** `--nemesis`: a comma list of kinds, `all`, or `none`. */
export function parseNemesis(v: string): NemesisKind[] {
  if (v === "none") return [];
  if (v === "all") return [...nemesisKinds];
  const kinds = v.split(",").map((s) => s.trim());
  for (const k of kinds)
    if (!(nemesisKinds as readonly string[]).includes(k)) throw new Error(`unknown nemesis "${k}"`);
  return [...new Set(kinds)] as NemesisKind[];
}

export interface FaultInterval {
  kind: NemesisKind;
  /** What was done, e.g. "kill n2 (leader)" or "partition [n1] | [n2 n3]". */
  detail: string;
  members: string[];
  /** ms since the run started (performance.now() based), as op times. */
  start: number;
  end: number | undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface NemesisContext {
  cluster: Cluster;
  prng: Prng;
  t0: number;
  stopped: () => boolean;
  log: (line: string) => void;
  /** Called as each fault ends (healed, or failed after it started). */
  onFault?: (fault: FaultInterval) => void;
}

/** Runs faults until `stopped()` turns true, healing each one; returns the fault intervals. */
export async function runNemesis(
  kinds: readonly NemesisKind[],
  ctx: NemesisContext,
): Promise<FaultInterval[]> {
  const faults: FaultInterval[] = [];
  if (kinds.length === 0) return faults;
  const { prng, stopped } = ctx;
  /** Sleeps in small steps so the nemesis notices the end of the run promptly. */
  const nap = async (ms: number) => {
    const end = performance.now() + ms;
    while (!stopped() && performance.now() < end) await sleep(Math.min(100, end - performance.now()));
  };
  await nap(prng.between(1000, 2000));
  while (!stopped()) {
    const kind = kinds[prng.int(0, kinds.length - 1)] as NemesisKind;
    // Every random choice is drawn before any await on the cluster, so the schedule (kinds,
    // targets, durations) depends on the seed only, not on timing.
    const plan = {
      useLeader: prng.next() < 0.5,
      pick: prng.next(),
      variant: prng.int(0, 3),
      split: prng.next(),
      hold: kind === "partition" ? prng.between(2000, 4000) : prng.between(1000, 3000),
      gap: prng.between(2000, 4000),
    };
    const fault: FaultInterval = { kind, detail: "", members: [], start: 0, end: undefined };
    try {
      await FAULTS[kind](ctx, plan, fault, () => nap(plan.hold));
    } catch (e) {
      ctx.log(`nemesis: ${kind} failed: ${e instanceof Error ? e.message : String(e)}`);
      fault.detail = `${fault.detail} (failed: ${e instanceof Error ? e.message : String(e)})`;
    }
    if (fault.start > 0) {
      fault.end ??= now(ctx);
      faults.push(fault);
      ctx.log(`nemesis: ${fault.detail} ${sec(fault.start)}-${sec(fault.end)}`);
      ctx.onFault?.(fault);
    }
    await nap(plan.gap);
  }
  return faults;
}

interface Plan {
  useLeader: boolean;
  pick: number;
  variant: number;
  split: number;
  hold: number;
}

type Fault = (ctx: NemesisContext, plan: Plan, f: FaultInterval, hold: () => Promise<void>) => Promise<void>;

const now = (ctx: NemesisContext) => performance.now() - ctx.t0;
const sec = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

function nth<T>(items: readonly T[], u: number): T {
  return items[Math.min(items.length - 1, Math.floor(u * items.length))] as T;
}

async function victim(ctx: NemesisContext, plan: Plan): Promise<{ m: Member; leader: boolean }> {
  const ms = ctx.cluster.members;
  if (plan.useLeader) {
    const l = await ctx.cluster.leader();
    if (l !== undefined) return { m: l, leader: true };
  }
  return { m: nth(ms, plan.pick), leader: false };
}

const FAULTS: Record<NemesisKind, Fault> = {
  async kill(ctx, plan, f, hold) {
    const { m, leader } = await victim(ctx, plan);
    f.start = now(ctx);
    f.members = [m.name];
    f.detail = `kill ${m.name}${leader ? " (leader)" : ""} pid ${m.child?.pid}`;
    await ctx.cluster.kill(m);
    await hold();
    ctx.cluster.start(m);
  },

  async pause(ctx, plan, f, hold) {
    const { m, leader } = await victim(ctx, plan);
    f.start = now(ctx);
    f.members = [m.name];
    f.detail = `pause ${m.name}${leader ? " (leader)" : ""} pid ${m.child?.pid}`;
    ctx.cluster.pause(m);
    await hold();
    ctx.cluster.resume(m);
  },

  async partition(ctx, plan, f, hold) {
    const net = ctx.cluster.network;
    if (net === undefined) throw new Error("partitions need network namespaces (--net netns)");
    const n = ctx.cluster.members.length;
    const names = (ix: number[]) => ix.map((i) => ctx.cluster.members[i]?.name).join(" ");
    let cuts: [number, number][];
    let detail: string;
    const all = [...Array(n).keys()];
    if (plan.variant === 0 || plan.variant === 1) {
      // Majority/minority: a random minority (shuffled by `split`), or the leader alone.
      let minority: number[];
      if (plan.variant === 1) {
        const l = await ctx.cluster.leader();
        minority = [l?.slot ?? Math.floor(plan.split * n)];
        detail = `isolate leader ${names(minority)}`;
      } else {
        const size = 1 + Math.floor(plan.split * Math.floor((n - 1) / 2));
        const start = Math.floor(plan.pick * n);
        minority = Array.from({ length: size }, (_, k) => (start + k) % n);
        detail = `partition [${names(minority)}] | [${names(all.filter((i) => !minority.includes(i)))}]`;
      }
      const majority = all.filter((i) => !minority.includes(i));
      cuts = minority.flatMap((a) =>
        majority.flatMap((b): [number, number][] => [
          [a, b],
          [b, a],
        ]),
      );
    } else if (plan.variant === 2) {
      const from = Math.floor(plan.pick * n);
      const to = (from + 1 + Math.floor(plan.split * (n - 1))) % n;
      cuts = [[from, to]];
      detail = `one-way ${names([from])} -/-> ${names([to])}`;
    } else {
      // Bridge: two halves that only reach each other through the middle member.
      const bridge = Math.floor(plan.pick * n);
      const rest = all.filter((i) => i !== bridge);
      const left = rest.slice(0, Math.floor(rest.length / 2));
      const right = rest.slice(left.length);
      cuts = left.flatMap((a) =>
        right.flatMap((b): [number, number][] => [
          [a, b],
          [b, a],
        ]),
      );
      detail = `bridge [${names(left)}] - ${names([bridge])} - [${names(right)}]`;
    }
    f.start = now(ctx);
    f.detail = detail;
    f.members = [...new Set(cuts.flat())].map((i) => ctx.cluster.members[i]?.name ?? "");
    net.setCuts(cuts);
    try {
      await hold();
    } finally {
      net.setCuts([]);
    }
  },

  async membership(ctx, plan, f) {
    // Only from a healthy cluster: a change while a member is down could cost the quorum.
    await ctx.cluster.waitHealthy(10_000);
    const m = nth(ctx.cluster.members, plan.pick);
    f.start = now(ctx);
    f.members = [m.name];
    f.detail = `membership: replace ${m.name}`;
    f.detail = `membership: ${await ctx.cluster.replace(m, Date.now() + 15_000)}`;
    await ctx.cluster.waitHealthy(30_000);
  },
};
