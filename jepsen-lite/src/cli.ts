/**
 * `pnpm jepsen --target skiff|etcd --nodes 3|5 --time SECONDS --nemesis kill,pause,partition,membership|all|none
 *  --seed N [--min-faults N] [--net netns|loopback] [--out DIR] [--unsafe-no-fsync] [--unsafe-stale-reads]`
 * (docs/jepsen-lite.md). Writes results.json and report.html to --out (default: a new temp dir),
 * prints a summary whose last line is `valid` or `invalid`, and exits 0 only if valid.
 * SIGINT/SIGTERM stop every member, relay and namespace it started.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Cluster, NetMode, Target } from "./cluster.js";
import { type NemesisKind, parseNemesis } from "./nemesis.js";
import { missingNetns } from "./netns.js";
import { renderReport } from "./report.js";
import { buildReport } from "./report-input.js";
import { type RunOptions, type RunResult, run } from "./run.js";

const USAGE =
  "usage: pnpm jepsen --target skiff|etcd --nodes 3|5 --time SECONDS --nemesis kill,pause,partition,membership|all|none --seed N [--min-faults N] [--net netns|loopback] [--out DIR] [--unsafe-no-fsync] [--unsafe-stale-reads]";

function usage(msg: string): never {
  process.stderr.write(`jepsen-lite: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parse(): { options: RunOptions; out: string | undefined } {
  const { values } = parseArgs({
    options: {
      target: { type: "string", default: "skiff" },
      nodes: { type: "string", default: "3" },
      time: { type: "string", default: "30" },
      nemesis: { type: "string", default: "all" },
      seed: { type: "string", default: "1" },
      "min-faults": { type: "string", default: "0" },
      net: { type: "string" },
      out: { type: "string" },
      "unsafe-no-fsync": { type: "boolean", default: false },
      "unsafe-stale-reads": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const target = values.target as Target;
  if (target !== "skiff" && target !== "etcd") usage(`unknown --target ${values.target}`);
  let nemesis: NemesisKind[];
  try {
    nemesis = parseNemesis(values.nemesis);
  } catch (e) {
    usage((e as Error).message);
  }
  const nodes = Number(values.nodes);
  if (nodes !== 3 && nodes !== 5) usage("--nodes must be 3 or 5");
  const timeSec = Number(values.time);
  if (!(timeSec > 0 && timeSec <= 3600)) usage("--time must be in (0, 3600] seconds");
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) usage("--seed must be an integer");
  const minFaults = Number(values["min-faults"]);
  if (!(Number.isInteger(minFaults) && minFaults >= 0)) usage("--min-faults must be an integer >= 0");
  if (minFaults > 0 && nemesis.length === 0) usage("--min-faults needs a nemesis");
  const noNetns = missingNetns();
  const net = (values.net ?? (noNetns === undefined ? "netns" : "loopback")) as NetMode;
  if (net !== "netns" && net !== "loopback") usage(`unknown --net ${values.net}`);
  if (net === "netns" && noNetns !== undefined) usage(`--net netns: ${noNetns}`);
  if (nemesis.includes("partition") && net !== "netns")
    usage(`the partition nemesis needs --net netns${noNetns ? ` (${noNetns})` : ""}`);
  for (const flag of ["unsafe-no-fsync", "unsafe-stale-reads"] as const)
    if (values[flag] && target !== "skiff") usage(`--${flag} applies to --target skiff only`);
  return {
    options: {
      target,
      nodes,
      timeSec,
      minFaults,
      nemesis,
      seed,
      net,
      unsafeNoFsync: values["unsafe-no-fsync"] === true,
      unsafeStaleReads: values["unsafe-stale-reads"] === true,
      workers: 6,
      keys: 5,
      rate: 50,
      watchers: 2,
    },
    out: values.out,
  };
}

function summary(r: RunResult, log: (line: string) => void): void {
  const ops = Object.entries(r.counts)
    .filter(([k]) => k !== "total")
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  log(`ops: ${r.counts.total} (${ops})`);
  log(`faults: ${r.faults.map((f) => `${f.detail} @${(f.start / 1000).toFixed(1)}s`).join("; ") || "none"}`);
  const lin = (name: string, l: RunResult["linearizable"]) =>
    log(`${name}: ${l.valid}${l.valid === true ? "" : ` (key ${l.key}, op ${JSON.stringify(l.failedOp)})`}`);
  lin("linearizable (registers)", r.linearizable);
  lin("linearizable (multi-key txns)", r.txnLinearizable);
  log(
    `durability: ${r.durability.valid}${r.durability.valid ? "" : ` ${JSON.stringify(r.durability.violations)}`}`,
  );
  const la = r.listAppend;
  log(`list-append: ${la.valid}${la.valid ? "" : ` (${la.anomalies.map((a) => a.type).join(", ")})`}`);
  log(
    `append durability: ${r.appendDurability.valid}${r.appendDurability.valid ? "" : ` lost ${JSON.stringify(r.appendDurability.lost)}`}`,
  );
  const w = r.watch;
  log(
    `watch: ${w.valid} (${w.events} events, ${w.reconnects} reconnects${
      w.valid
        ? ""
        : `; ${w.violations
            .slice(0, 3)
            .map((v) => `${v.type} ${v.watcher} rev ${v.revision}: ${v.detail}`)
            .join("; ")}`
    })`,
  );
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
  const unsafe = [
    options.unsafeNoFsync && "unsafe-no-fsync",
    options.unsafeStaleReads && "unsafe-stale-reads",
  ];
  log(
    `jepsen-lite: target=${options.target} nodes=${options.nodes} time=${options.timeSec}s nemesis=${options.nemesis.join(",") || "none"} seed=${options.seed} net=${options.net}${unsafe
      .filter(Boolean)
      .map((u) => ` ${u}`)
      .join("")}`,
  );
  const result = await run(options, log, (c) => {
    cluster = c;
  });
  const dir = out ?? mkdtempSync(join(tmpdir(), "jepsen-lite-out-"));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "results.json"), `${JSON.stringify(result)}\n`);
  writeFileSync(join(dir, "report.html"), renderReport(buildReport(result)));
  summary(result, log);
  log(`results: ${join(dir, "results.json")}, report: ${join(dir, "report.html")}`);
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
