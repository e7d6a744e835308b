#!/usr/bin/env node
// The skiff command runs from the compiled output; `pnpm build` (or `npm start`) makes it.
import { existsSync } from "node:fs";

const entry = new URL("../dist/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("skiff: not built yet; run `pnpm build` (or `npm start`) in the repository first\n");
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
