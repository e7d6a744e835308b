#!/usr/bin/env -S node --max-semi-space-size=8 --interrupt-budget=16896
// The skiff command runs from the compiled output; `pnpm build` (or `npm start`) makes it.
// node's flags on the first line: a smaller young generation (lower peak RSS for a store member)
// and earlier tier-up checks (a member's hot path is many small functions); docs/benchmarks.md
// has what each measured. `node bin/skiff.js ...` runs without them.
import { existsSync } from "node:fs";

const entry = new URL("../dist/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("skiff: not built yet; run `pnpm build` (or `npm start`) in the repository first\n");
  process.exit(1);
}
const { main } = await import(entry.href);
// Exit as soon as the command is done: a component that gave up draining (a second SIGTERM) may
// still hold sockets or timers, and must not keep the process alive.
process.exit(await main(process.argv.slice(2)));
