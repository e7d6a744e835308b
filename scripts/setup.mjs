#!/usr/bin/env node
// Skiff's one set-up step: installs what is missing and skips what is there.
// Plain Node with no dependencies, so it runs before anything is installed or built.
// Idempotent: a second run finds everything present and changes nothing.
//
//   node scripts/setup.mjs            install what is missing (pnpm; apt packages as root on Debian)
//   node scripts/setup.mjs --check    only report what is missing; exit 1 if anything is
//
// Off Debian or without root it cannot install system packages: it names what is missing and
// goes on (tests that need a component then skip with a printed reason). Under CI=true a
// missing component is an error, because CI must run every test.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const PNPM_VERSION = "12.4.2";
const MIN_NODE = [20, 19];
// Debian package -> a file it installs (a cheap presence check that also works without dpkg).
const APT_PACKAGES = {
  containerd: "/usr/bin/containerd",
  runc: "/usr/sbin/runc",
  "containernetworking-plugins": "/usr/lib/cni/bridge",
  nftables: "/usr/sbin/nft",
  iptables: "/usr/sbin/iptables",
  "busybox-static": "/bin/busybox",
  // The agent's helpers: `ip netns`, and Perl with Time::HiRes for the container logger.
  iproute2: "/usr/bin/ip",
  perl: "/usr/bin/perl",
  // kube-proxy flushes stale UDP conntrack entries with it, as upstream does.
  conntrack: "/usr/sbin/conntrack",
  // The in-cluster TLS client of the Services e2e (copied into a test image with its libraries).
  curl: "/usr/bin/curl",
  "etcd-server": "/usr/bin/etcd",
  "etcd-client": "/usr/bin/etcdctl",
  // A Kubernetes client the project did not write, for the API server's compatibility suite.
  "python3-kubernetes": "/usr/lib/python3/dist-packages/kubernetes/__init__.py",
};

const checkOnly = process.argv.includes("--check");
const inCI = process.env.CI === "true" || process.env.CI === "1";
const log = (msg) => process.stdout.write(`setup: ${msg}\n`);
const problems = [];

function nodeVersionOk() {
  const [major, minor] = process.versions.node.split(".").map(Number);
  return major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
}

function commandOutput(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

function ensurePnpm() {
  const have = commandOutput("pnpm", ["--version"]);
  if (have === PNPM_VERSION) {
    log(`pnpm ${have}: present`);
    return;
  }
  if (checkOnly) {
    problems.push(`pnpm ${PNPM_VERSION} (found: ${have ?? "none"})`);
    return;
  }
  log(`pnpm ${PNPM_VERSION}: installing with npm (found: ${have ?? "none"})`);
  // Not `npm i -E pnpm` inside the repo: that writes an npm lockfile (docs/development.md, toolchain pitfalls).
  const r = spawnSync("npm", ["install", "--global", `pnpm@${PNPM_VERSION}`], { stdio: "inherit" });
  if (r.status !== 0) {
    problems.push(
      `pnpm ${PNPM_VERSION}: 'npm install --global pnpm@${PNPM_VERSION}' failed (exit ${r.status}); run it by hand, with the rights to write npm's global prefix`,
    );
  }
}

function packageInstalled(name) {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query format, not a JS template
  const status = commandOutput("dpkg-query", ["-W", "-f=${Status}", name]);
  if (status !== null) return status.includes("install ok installed");
  return existsSync(APT_PACKAGES[name]);
}

function ensureAptPackages() {
  const missing = Object.keys(APT_PACKAGES).filter((p) => !packageInstalled(p));
  for (const p of Object.keys(APT_PACKAGES)) if (!missing.includes(p)) log(`${p}: present`);
  if (missing.length === 0) return;
  const isDebian = existsSync("/etc/debian_version") && commandOutput("apt-get", ["--version"]) !== null;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (checkOnly || !isDebian || !isRoot) {
    const why = checkOnly
      ? "--check given"
      : !isDebian
        ? "this is not a Debian system with apt-get"
        : "not running as root";
    problems.push(
      `system packages missing (${why}): ${missing.join(", ")}. On Debian 12, as root: apt-get update && apt-get install -y ${missing.join(" ")}`,
    );
    return;
  }
  log(`installing with apt-get: ${missing.join(", ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-q"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], {
    stdio: "inherit",
    env,
  });
  const still = missing.filter((p) => !packageInstalled(p));
  if (still.length > 0) problems.push(`apt-get could not install: ${still.join(", ")}`);
}

if (!nodeVersionOk()) {
  process.stderr.write(
    `setup: Node.js >= ${MIN_NODE.join(".")} is required; this is ${process.versions.node}\n`,
  );
  process.exit(1);
}
ensurePnpm();
ensureAptPackages();
if (problems.length > 0) {
  for (const p of problems) process.stderr.write(`setup: MISSING ${p}\n`);
  if (checkOnly || inCI) process.exit(1);
  process.stderr.write("setup: continuing; tests that need a missing component will skip and say why\n");
} else {
  log("everything is present");
}
