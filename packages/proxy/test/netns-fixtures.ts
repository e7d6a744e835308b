/**
 * What the proxy's real-system tests share: whether this machine has the parts (root, ip, nft),
 * and a fresh network namespace per test (skiff-pt-<random>), removed when the test ends (also
 * on failure), so that nothing is ever loaded into the host's own namespace.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import t, { type Test } from "tap";

/** Whether `cmd args` runs and exits 0. */
export function has(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function missingPart(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (ip netns, nft)";
  if (!has("ip", ["-V"])) return "iproute2's ip is missing";
  if (!has("nft", ["--version"])) return "nft is missing";
  return undefined;
}

/**
 * The reason to skip (printed once), or undefined. Under CI nothing is skipped: CI installs the
 * parts, so a missing one fails the tests instead.
 */
export function netnsSkipReason(): string | undefined {
  const missing = missingPart();
  if (missing !== undefined && process.env.CI === undefined) t.comment(`skipping: ${missing}`);
  return process.env.CI === undefined ? missing : undefined;
}

/** A fresh namespace, removed when the test ends (also on failure). */
export function netns(tt: Test): string {
  const name = `skiff-pt-${randomBytes(4).toString("hex")}`;
  execFileSync("ip", ["netns", "add", name]);
  tt.teardown(() => execFileSync("ip", ["netns", "del", name]));
  return name;
}
