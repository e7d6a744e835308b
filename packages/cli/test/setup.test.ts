import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import t from "tap";

const setup = fileURLToPath(new URL("../../../scripts/setup.mjs", import.meta.url));
const run = promisify(execFile);

// The set-up step has run before the tests (npm test runs it first), so a check finds everything.
t.test("setup --check finds every component present after set-up, and changes nothing", async (t) => {
  const result = await run(process.execPath, [setup, "--check"]).catch(
    (e: { stdout: string; stderr: string }) => e,
  );
  if ("code" in result && process.env.CI !== "true") {
    t.skip(
      `set-up is incomplete on this machine (run node scripts/setup.mjs as root): ${result.stderr.trim()}`,
    );
    return;
  }
  const { stdout } = result;
  for (const pkg of [
    "containerd",
    "runc",
    "containernetworking-plugins",
    "nftables",
    "iptables",
    "busybox-static",
    "conntrack",
    "curl",
    "etcd-server",
    "etcd-client",
  ]) {
    t.match(stdout, new RegExp(`^setup: ${pkg}: present$`, "m"), `${pkg} present`);
  }
  t.match(stdout, /^setup: pnpm 12\.4\.2: present$/m);
  t.match(stdout, /everything is present/);
});

t.test("setup refuses an old Node.js with a clear message", async (t) => {
  // Pretend to be Node 18 by overriding process.versions before the script reads it.
  const err = await run(process.execPath, [
    "--import",
    "data:text/javascript,Object.defineProperty(process.versions,'node',{value:'18.0.0'})",
    setup,
    "--check",
  ]).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  t.equal(err?.code, 1);
  t.match(err?.stderr ?? "", /Node\.js >= 20\.19 is required; this is 18\.0\.0/);
});
