/**
 * The shared body of the end-to-end runs: a short jepsen-lite run (`pnpm jepsen` from source)
 * against a 3-member cluster, with every nemesis this machine supports (partitions need root for
 * network namespaces; CI runs as root), must print `valid` last, exit 0, pass every checker and
 * write the report. A deliberately broken build must be caught as `invalid`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { missingNetns } from "../src/netns.js";

const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url));

/** The flags that make a child node run TypeScript from source, as this test process does. */
function childExecArgv(): string[] {
  return process.execArgv.filter(
    (a) => a.includes("@tapjs/typescript") || a.startsWith("--conditions") || a === "--enable-source-maps",
  );
}

const noNetns = missingNetns();
/** Every fault when network namespaces work here; otherwise all but partitions. */
export const nemesisHere = noNetns === undefined ? "all" : "kill,pause,membership";

export interface CliRun {
  child: ChildProcess;
  out: string;
  stdout: () => string;
  stderr: () => string;
  done: Promise<number | null>;
}

/** Starts `pnpm jepsen` from source with `args` and a fresh --out directory. */
export function startCli(t: Tap.Test, args: string[]): CliRun {
  const out = mkdtempSync(join(tmpdir(), "jepsen-lite-test-"));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const child = spawn(process.execPath, [...childExecArgv(), cli, ...args, "--out", out], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  // If the test times out, stop the runner; it stops its members on SIGTERM.
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
  return { child, out, stdout: () => stdout, stderr: () => stderr, done };
}

/** Skips with a printed reason off CI; in CI a missing component fails the test. */
export function skipReason(missing: string | undefined): string | undefined {
  if (missing !== undefined && process.env.CI === undefined) t.comment(`skipping: ${missing}`);
  return process.env.CI === undefined ? missing : undefined;
}

interface Results {
  valid: boolean;
  faults: { kind: string }[];
  histories: { register: unknown[]; txn: unknown[]; append: unknown[] };
  linearizable: { valid: unknown };
  txnLinearizable: { valid: unknown };
  durability: { valid: boolean };
  listAppend: { valid: boolean };
  appendDurability: { valid: boolean };
  watch: { valid: boolean; events: number };
}

export function readResults(out: string): Results {
  return JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Results;
}

/** Namespaces of a jepsen-lite runner with this PID still present. */
export function namespacesOf(pid: number | undefined): string[] {
  if (!existsSync("/run/netns")) return [];
  return readdirSync("/run/netns").filter((n) => n.startsWith(`jl-${pid}-`));
}

/** Runs the valid-run test for `target`; `missing` names a missing component. */
export function validRunTest(target: "skiff" | "etcd", missing: string | undefined): void {
  const name = `nemesis ${nemesisHere} against ${target}: valid`;
  t.test(name, { skip: skipReason(missing), timeout: 180_000 }, async (t) => {
    // --min-faults 2: the run goes on past its 20 s until two faults have ended, however slow the
    // machine (a replacement took up to 16 s on a loaded CI machine).
    const run = startCli(t, [
      ...["--target", target, "--nodes", "3", "--time", "20", "--nemesis", nemesisHere, "--seed", "66"],
      ...["--min-faults", "2"],
    ]);
    const code = await run.done;
    const lines = run.stdout().trimEnd().split("\n");
    t.equal(lines.at(-1), "valid", `last line is valid\n${run.stdout()}\n${run.stderr()}`);
    t.equal(code, 0, "exit code 0");
    const r = readResults(run.out);
    t.equal(r.valid, true);
    t.equal(r.linearizable.valid, true, "registers linearizable");
    t.equal(r.txnLinearizable.valid, true, "multi-key txns linearizable");
    t.equal(r.durability.valid, true, "register durability");
    t.equal(r.listAppend.valid, true, "no list-append anomaly");
    t.equal(r.appendDurability.valid, true, "append durability");
    t.equal(r.watch.valid, true, "watch guarantees");
    // Seed 66 draws kill, partition, then membership (with partitions; kill, pause, membership
    // without): the first two faults, which the run waits for, are of two kinds.
    const kinds = new Set(r.faults.map((f) => f.kind));
    t.ok(kinds.size >= 2, `several kinds of fault: ${r.faults.map((f) => f.kind).join(", ")}`);
    t.ok(r.histories.register.length > 200, "the register workload ran");
    t.ok(r.histories.txn.length > 50 && r.histories.append.length > 50, "the txn and append workloads ran");
    t.ok(r.watch.events > 100, "the watchers saw events");
    const html = readFileSync(join(run.out, "report.html"), "utf8");
    t.ok(html.startsWith("<!DOCTYPE html>") && html.includes("<svg"), "report.html with inline SVG");
    t.same(namespacesOf(run.child.pid), [], "no network namespace left behind");
  });
}
