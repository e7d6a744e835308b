#!/usr/bin/env -S node --max-semi-space-size=8
// The skiff command runs from the compiled output; `pnpm build` (or `npm start`) makes it.
// node's flags on the first line: a young generation of 2 x 8 MiB instead of 2 x 16 MiB. A member
// of `skiff store` at 256 put clients ran as fast either way and peaked about 20 MiB lower
// (docs/benchmarks.md). `node bin/skiff.js ...` runs without them.
import { existsSync } from "node:fs";

const entry = new URL("../dist/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("skiff: not built yet; run `pnpm build` (or `npm start`) in the repository first\n");
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
