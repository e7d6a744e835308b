/**
 * The shared body of the end-to-end runs: a 10-second jepsen-lite run with the kill nemesis
 * against a 3-member cluster must print `valid` last and exit 0, with both checkers passing.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";

const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url));

/** The flags that make a child node run TypeScript from source, as this test process does. */
function childExecArgv(): string[] {
  return process.execArgv.filter(
    (a) => a.includes("@tapjs/typescript") || a.startsWith("--conditions") || a === "--enable-source-maps",
  );
}

/** Runs the test for `target`; `missing` names a missing component (a skip off CI, a failure in CI). */
export function killRunTest(target: "skiff" | "etcd", name: string, missing: string | undefined): void {
  if (missing !== undefined && process.env.CI === undefined) t.comment(`skipping: ${missing}`);

  t.test(name, { skip: process.env.CI === undefined ? missing : undefined, timeout: 60_000 }, async (t) => {
    const out = mkdtempSync(join(tmpdir(), "jepsen-lite-test-"));
    t.teardown(() => rmSync(out, { recursive: true, force: true }));
    const args = [
      ...childExecArgv(),
      cli,
      ...["--target", target, "--nodes", "3", "--time", "10", "--nemesis", "kill", "--seed", "42"],
      ...["--out", out],
    ];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    // If the test times out, stop the runner; it stops its members on SIGTERM.
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
    const lines = stdout.trimEnd().split("\n");
    t.equal(lines.at(-1), "valid", `last line is valid\n${stdout}\n${stderr}`);
    t.equal(code, 0, "exit code 0");
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as {
      valid: boolean;
      faults: unknown[];
      history: unknown[];
      linearizable: { valid: unknown };
      durability: { valid: boolean };
    };
    t.equal(results.valid, true);
    t.equal(results.linearizable.valid, true);
    t.equal(results.durability.valid, true);
    t.ok(results.faults.length >= 1, "the nemesis killed at least one member");
    t.ok(results.history.length > 200, "the workload ran");
  });
}
