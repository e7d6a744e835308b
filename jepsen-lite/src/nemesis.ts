/**
 * The "kill" nemesis: on a schedule drawn from the seeded PRNG, every few seconds SIGKILL one
 * member and restart it 1-3 s later with the same data directory and flags. One member is down at
 * a time, so a majority always remains. Each fault is recorded as an interval.
 */
import { performance } from "node:perf_hooks";
import type { Cluster } from "./cluster.js";
import type { Prng } from "./prng.js";

export type NemesisKind = "kill" | "none";

export interface FaultInterval {
  kind: "kill";
  member: string;
  pid: number | undefined;
  /** ms since the run started (performance.now() based), as op times. */
  start: number;
  end: number | undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs until `stopped()` turns true, then heals (every member started) and returns the faults. */
export async function runKillNemesis(
  cluster: Cluster,
  prng: Prng,
  t0: number,
  stopped: () => boolean,
  log: (line: string) => void,
): Promise<FaultInterval[]> {
  const faults: FaultInterval[] = [];
  /** Sleeps in small steps so the nemesis notices the end of the run promptly. */
  const nap = async (ms: number) => {
    const end = performance.now() + ms;
    while (!stopped() && performance.now() < end) await sleep(Math.min(100, end - performance.now()));
  };
  await nap(prng.between(1000, 2000));
  while (!stopped()) {
    const m = cluster.members[prng.int(0, cluster.members.length - 1)];
    if (m === undefined) break;
    const fault: FaultInterval = {
      kind: "kill",
      member: m.name,
      pid: m.child?.pid,
      start: performance.now() - t0,
      end: undefined,
    };
    faults.push(fault);
    await cluster.kill(m);
    log(`nemesis: killed ${m.name} (pid ${fault.pid}) at ${(fault.start / 1000).toFixed(1)} s`);
    // The downtime is drawn even if the run ends first, so the schedule depends only on the seed.
    const down = prng.between(1000, 3000);
    await nap(down);
    cluster.start(m);
    fault.end = performance.now() - t0;
    log(`nemesis: restarted ${m.name} (pid ${m.child?.pid}) at ${(fault.end / 1000).toFixed(1)} s`);
    await nap(prng.between(2000, 4000));
  }
  return faults;
}
