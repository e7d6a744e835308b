/**
 * The clients: proposals (sometimes in bursts) and ReadIndex reads at random members, at random
 * intervals drawn from the seed's client stream. They keep going through faults and the heal.
 */

import type { SeededRand } from "../index.js";
import { propose, read } from "./clients.js";
import type { SimCluster } from "./cluster.js";
import type { WorkloadOptions } from "./options.js";

export function startWorkload(c: SimCluster, rand: SeededRand, o: WorkloadOptions): void {
  const pickNode = () => {
    const live = c.liveNodes();
    return live.length === 0 ? undefined : live[rand.intn(live.length)];
  };
  const proposeLoop = () => {
    const node = pickNode();
    if (node !== undefined) {
      const burst = rand.float() < o.burstChance;
      propose(c, node, burst ? 2 + rand.intn(Math.max(1, o.burstMax - 1)) : 1);
    }
    c.sched.after(1 + rand.intn(2 * o.proposeEveryMs), proposeLoop);
  };
  const readLoop = () => {
    const node = pickNode();
    if (node !== undefined) read(c, node);
    c.sched.after(1 + rand.intn(2 * o.readEveryMs), readLoop);
  };
  if (o.proposeEveryMs > 0) c.sched.after(1 + rand.intn(o.proposeEveryMs), proposeLoop);
  if (o.readEveryMs > 0) c.sched.after(1 + rand.intn(o.readEveryMs), readLoop);
}
