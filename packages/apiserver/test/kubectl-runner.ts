/**
 * Runs the real kubectl (/usr/bin/kubectl 1.32) against a test's server: its own KUBECONFIG, HOME
 * and --cache-dir, so no discovery cache or config leaks between tests. Shared by every test file
 * that drives kubectl.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import type { Test } from "tap";

export const KUBECTL = "/usr/bin/kubectl";

/**
 * Why kubectl tests skip here, or undefined when they run: off CI a missing kubectl skips them
 * with this printed reason; under CI=true they run (and fail), since CI must run every test.
 */
export function kubectlSkip(): string | undefined {
  const inCI = process.env.CI === "true" || process.env.CI === "1";
  return existsSync(KUBECTL) || inCI
    ? undefined
    : `${KUBECTL} is not installed (these tests drive the real kubectl; node scripts/setup.mjs)`;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Kubectl {
  /** Runs kubectl with `args`; never throws (a failure is a non-zero code). */
  (args: readonly string[]): Promise<Run>;
  /** Runs kubectl and asserts it succeeded; returns stdout. */
  ok(t: Test, args: readonly string[]): Promise<string>;
}

export function kubectlRunner(o: { kubeconfig: string; home: string; cacheDir: string }): Kubectl {
  const env = { ...process.env, KUBECONFIG: o.kubeconfig, HOME: o.home };
  const run = (args: readonly string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        KUBECTL,
        ["--cache-dir", o.cacheDir, ...args],
        { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024, encoding: "utf8" },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
          resolve({ code, stdout, stderr });
        },
      );
    });
  return Object.assign(run, {
    async ok(t: Test, args: readonly string[]): Promise<string> {
      const r = await run(args);
      t.equal(r.code, 0, `kubectl ${args.join(" ")}`, { stderr: r.stderr });
      return r.stdout;
    },
  });
}
