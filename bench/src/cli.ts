/**
 * `pnpm bench <name> [flags]`: runs one benchmark. Each benchmark measures Skiff side by side with
 * its reference in the same run and reports ratios (never timed assertions in tests).
 */
import { benchmarks } from "./registry.js";

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const bench = name === undefined ? undefined : benchmarks.get(name);
  if (bench === undefined) {
    const list = [...benchmarks.values()].map((b) => `  ${b.name.padEnd(12)} ${b.summary}`);
    const head = name === undefined || name === "--help" ? "" : `bench: unknown benchmark "${name}"\n`;
    process.stderr.write(
      `${head}Usage: pnpm bench <benchmark> [flags]\n\nBenchmarks:\n${list.length > 0 ? list.join("\n") : "  (none yet)"}\n`,
    );
    return name === "--help" ? 0 : 2;
  }
  return bench.run(rest);
}

process.exitCode = await main(process.argv.slice(2));
