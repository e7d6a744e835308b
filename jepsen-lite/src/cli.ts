/**
 * `pnpm jepsen --target skiff|etcd --nodes 3 --time SECONDS --nemesis kill|none --seed N
 *  [--out DIR] [--unsafe-no-fsync]`: one register run with the kill nemesis (docs/jepsen-lite.md).
 * Writes results.json to --out (default: a new temp dir), prints a summary whose last line is
 * `valid` or `invalid`, and exits 0 only if valid. SIGINT/SIGTERM stop every member it started.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Cluster, Target } from "./cluster.js";
import type { NemesisKind } from "./nemesis.js";
import { type RunOptions, run } from "./run.js";

function usage(msg: string): never {
  process.stderr.write(
    `jepsen-lite: ${msg}\nusage: pnpm jepsen --target skiff|etcd --nodes 3 --time SECONDS --nemesis kill|none --seed N [--out DIR] [--unsafe-no-fsync]\n`,
  );
  process.exit(2);
}

function parse(): { options: RunOptions; out: string | undefined } {
  const { values } = parseArgs({
    options: {
      target: { type: "string", default: "skiff" },
      nodes: { type: "string", default: "3" },
      time: { type: "string", default: "30" },
      nemesis: { type: "string", default: "kill" },
      seed: { type: "string", default: "1" },
      out: { type: "string" },
      "unsafe-no-fsync": { type: "boolean", default: false },
    },
    strict: true,
  });
  const target = values.target as Target;
  if (target !== "skiff" && target !== "etcd") usage(`unknown --target ${values.target}`);
  const nemesis = values.nemesis as NemesisKind;
  if (nemesis !== "kill" && nemesis !== "none") usage(`unknown --nemesis ${values.nemesis}`);
  const nodes = Number(values.nodes);
  if (nodes !== 3) usage("only --nodes 3 is supported for now");
  const timeSec = Number(values.time);
  if (!(timeSec > 0 && timeSec <= 3600)) usage("--time must be in (0, 3600] seconds");
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) usage("--seed must be an integer");
  if (values["unsafe-no-fsync"] && target !== "skiff")
    usage("--unsafe-no-fsync applies to --target skiff only");
  return {
    options: {
      target,
      nodes,
      timeSec,
      nemesis,
      seed,
      unsafeNoFsync: values["unsafe-no-fsync"] === true,
      workers: 6,
      keys: 5,
      rate: 50,
    },
    out: values.out,
  };
}

async function main(): Promise<number> {
  const { options, out } = parse();
  let cluster: Cluster | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`jepsen-lite: ${signal}, stopping the cluster\n`);
    void (cluster?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.once("exit", () => cluster?.stopSync());
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(
    `jepsen-lite: target=${options.target} nodes=${options.nodes} time=${options.timeSec}s nemesis=${options.nemesis} seed=${options.seed}${options.unsafeNoFsync ? " unsafe-no-fsync" : ""}`,
  );
  const result = await run(options, log, (c) => {
    cluster = c;
  });
  const dir = out ?? mkdtempSync(join(tmpdir(), "jepsen-lite-out-"));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "results.json");
  writeFileSync(file, `${JSON.stringify(result, null, 1)}\n`);
  const c = result.counts;
  const n = (k: string) => c[k] ?? 0;
  log(
    `ops: ${c.total} (read ok ${n("read:ok")} fail ${n("read:fail")}; write ok ${n("write:ok")} info ${n("write:info")}; cas ok ${n("cas:ok")} fail ${n("cas:fail")} info ${n("cas:info")})`,
  );
  log(
    `faults: ${result.faults.map((f) => `${f.member}@${(f.start / 1000).toFixed(1)}s`).join(", ") || "none"}`,
  );
  const lin = result.linearizable;
  log(
    `linearizable: ${lin.valid}${lin.valid === true ? "" : ` (key ${lin.key}, op ${JSON.stringify(lin.failedOp)})`}`,
  );
  log(
    `durability: ${result.durability.valid}${result.durability.valid ? "" : ` ${JSON.stringify(result.durability.violations)}`}`,
  );
  log(`final: ${JSON.stringify(result.finalState)}`);
  log(`results: ${file}`);
  log(result.valid ? "valid" : "invalid");
  return result.valid ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`jepsen-lite: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.stdout.write("invalid\n");
    process.exitCode = 1;
  },
);
