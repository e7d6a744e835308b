import { apiserverBenchmark } from "./apiserver.js";
import { densityBenchmark } from "./density.js";
import { podsBenchmark } from "./pods.js";
import { proxyBenchmark } from "./proxy.js";
import { raftBenchmark } from "./raft.js";
import { raftNodeBenchmark } from "./raft-node.js";
import { schedulerBenchmark } from "./scheduler.js";
import { storeBenchmark } from "./store.js";

/** One benchmark, runnable as `pnpm bench <name>`. */
export interface Benchmark {
  readonly name: string;
  readonly summary: string;
  run(args: readonly string[]): Promise<number>;
}

/** Every benchmark, by name. */
export const benchmarks: ReadonlyMap<string, Benchmark> = new Map<string, Benchmark>(
  [
    apiserverBenchmark,
    densityBenchmark,
    podsBenchmark,
    proxyBenchmark,
    raftBenchmark,
    raftNodeBenchmark,
    schedulerBenchmark,
    storeBenchmark,
  ].map((b) => [b.name, b] as const),
);
