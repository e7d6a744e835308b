#!/usr/bin/env -S node --max-semi-space-size=8 --interrupt-budget=16896
// The skiff command runs from the compiled output; `pnpm build` (or `npm start`) makes it.
// node's flags on the first line (docs/benchmarks.md, store): a young generation of 2 x 8 MiB
// instead of 2 x 16 (a store member peaked about 20 MiB lower at 256 put clients, no throughput
// change beyond noise), and tier-up checks every 16,896 bytes of bytecode run instead of 67,584
// (a member's hot path is many small functions; at 16-256 put clients this cut the members' CPU
// per put by about a fifth in a 5 s phase). `node bin/skiff.js ...` runs without them.
import { existsSync } from "node:fs";

const entry = new URL("../dist/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("skiff: not built yet; run `pnpm build` (or `npm start`) in the repository first\n");
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
