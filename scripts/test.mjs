#!/usr/bin/env node
// The whole test suite, as README's test command runs it (after set-up and install):
//   1. typecheck and build every package (tsc -b)
//   2. lint and format check (biome)
//   3. every tap test file, from source
// It streams everything it runs and ends with one plain line: `N passed, M failed[, K skipped]`,
// counting the two checks above plus each top-level test of each tap file (a test file that
// crashes outside any test counts as one failure). Exits non-zero on any failure.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

const counts = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

function run(cmd, args, onLine) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
    const rl = createInterface({ input: child.stdout });
    rl.on("line", (line) => {
      process.stdout.write(`${line}\n`);
      onLine?.(line);
    });
    child.on("close", (code, signal) => {
      rl.close();
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

async function check(name, cmd, args) {
  process.stdout.write(`\n== ${name}: ${cmd} ${args.join(" ")}\n`);
  const code = await run(cmd, args);
  if (code === 0) counts.passed++;
  else {
    counts.failed++;
    failures.push(`${name} (exit ${code})`);
  }
}

// TAP lines from `tap --reporter=tap`: files at indent 0, their top-level tests at indent 4.
const RESULT = /^( *)(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO)\b.*| # time=.*)?$/;
async function tapSuite(extraArgs) {
  process.stdout.write(`\n== tests: tap ${extraArgs.join(" ")}\n`);
  let innerFailedInFile = 0;
  let innerInFile = 0;
  const code = await run("tap", ["--reporter=tap", ...extraArgs], (line) => {
    const m = RESULT.exec(line);
    if (!m) return;
    const [, indent, status, title, directive] = m;
    if (indent.length === 4) {
      innerInFile++;
      if (directive === "SKIP") counts.skipped++;
      else if (status === "ok") counts.passed++;
      else {
        counts.failed++;
        innerFailedInFile++;
        failures.push(title);
      }
    } else if (indent.length === 0) {
      if (status === "not ok" && innerFailedInFile === 0) {
        counts.failed++;
        failures.push(`${title} (the file failed outside its tests)`);
      } else if (status === "ok" && innerInFile === 0 && directive !== "SKIP") {
        counts.passed++;
      }
      innerFailedInFile = 0;
      innerInFile = 0;
    }
  });
  if (code !== 0 && counts.failed === 0) {
    counts.failed++;
    failures.push(`tap exited ${code}`);
  }
}

await check("typecheck", "tsc", ["-b"]);
await check("lint", "biome", ["check", "--error-on-warnings", "."]);
await tapSuite(process.argv.slice(2));

if (failures.length > 0) {
  process.stdout.write("\nFailed:\n");
  for (const f of failures) process.stdout.write(`  - ${f}\n`);
}
const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped` : "";
process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed${skipped}\n`);
process.exit(counts.failed > 0 ? 1 : 0);
