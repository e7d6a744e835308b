/**
 * `skiff server` on a port another process holds (EADDRINUSE) exits non-zero at once with a
 * message naming the address, as kube-apiserver does ("failed to listen on ...: bind: address
 * already in use"), instead of running on without serving.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";

const fixture = fileURLToPath(new URL("./fixtures/skiff.ts", import.meta.url));

t.test(
  "skiff server exits 1 with a clear message when its port is taken",
  { timeout: 120_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "skiff-port-"));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));
    const port = (holder.address() as { port: number }).port;

    const child = spawn(
      process.execPath,
      [
        ...process.execArgv,
        fixture,
        "server",
        "--disable-agent",
        ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", String(port)],
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b) => {
      stdout += b;
    });
    child.stderr.on("data", (b) => {
      stderr += b;
    });
    // A hung server would keep the child alive: the deadline kills it and the test fails.
    const deadline = setTimeout(() => child.kill("SIGKILL"), 90_000);
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    clearTimeout(deadline);
    t.equal(code, 1, "exit code 1");
    t.match(
      stderr,
      new RegExp(`skiff server: failed to listen on 127\\.0\\.0\\.1:${port}: address already in use`),
    );
    t.notMatch(stdout, /"event":"ready"/, "never reported ready");
  },
);
