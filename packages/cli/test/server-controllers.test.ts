/**
 * `skiff server` runs the controller manager by default (in its worker thread, on its Lease): a
 * Deployment made with kubectl rolls out on hollow nodes and `kubectl rollout status` ends; the
 * manager's work-queue metrics are on the API server's /metrics; a bad
 * --kube-controller-manager-arg stops the server before it starts.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { configFromKubeconfig, KubeClient } from "@skiff/client";
import { silentLogger } from "@skiff/component-base";
import { HollowNodes, hollowNodesOptions } from "@skiff/hollow-node";
import { waitFor } from "@skiff/testkit";
import t from "tap";

const run = promisify(execFile);
const fixture = fileURLToPath(new URL("./fixtures/skiff.ts", import.meta.url));

function spawnServer(dir: string, extra: string[]): ChildProcess {
  return spawn(
    process.execPath,
    [
      ...process.execArgv,
      fixture,
      "server",
      ...["--data-dir", join(dir, "data"), "--bind-address", "127.0.0.1", "--secure-port", "0"],
      ...["--write-kubeconfig", join(dir, "kubeconfig"), ...extra],
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const force = setTimeout(() => child.kill("SIGKILL"), 20_000);
  await exited;
  clearTimeout(force);
}

t.test("skiff server rolls out a Deployment made with kubectl", { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-server-cm-"));
  const kubeconfig = join(dir, "kubeconfig");
  const child = spawnServer(dir, []);
  child.stderr?.resume();
  let out = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes('"event":"ready"')) resolve();
    });
    child.once("exit", (code) => reject(new Error(`skiff server exited ${code}`)));
  });
  child.stdout?.resume();
  const client = new KubeClient(configFromKubeconfig(kubeconfig));
  const hollow = new HollowNodes(hollowNodesOptions({ kubeconfig, count: 2, namePrefix: "cm-" }), {
    log: silentLogger,
  });
  t.teardown(async () => {
    await hollow.stop();
    await client.close();
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  });
  t.match(out, /"controllerManager":true/, "the ready line says the controller manager runs");
  await hollow.start();
  await hollow.ready;
  const kubectl = (...args: string[]) =>
    run("kubectl", ["--kubeconfig", kubeconfig, ...args], { timeout: 120_000 });
  await waitFor(
    () =>
      client
        .resource("v1", "serviceaccounts", "default")
        .get("default")
        .then(
          () => true,
          () => false,
        ),
    { what: "the default ServiceAccount (from the controller manager)", timeoutMs: 60_000 },
  );
  await kubectl("create", "deployment", "web", "--image=busybox", "--replicas=3");
  const status = await kubectl("rollout", "status", "deployment/web", "--timeout=120s");
  t.match(status.stdout, /successfully rolled out/);
  const lease = await client
    .resource("coordination.k8s.io/v1", "leases", "kube-system")
    .get("kube-controller-manager");
  t.match(
    (lease.spec as { holderIdentity?: string }).holderIdentity,
    /_[0-9a-f]{12}$/,
    "the manager holds its Lease",
  );
  const metrics = String((await client.raw("GET", "/metrics")).body);
  t.match(metrics, /workqueue_adds_total\{name="deployment"\} [1-9]/, "the deployment queue's metrics");
});

t.test("a bad --kube-controller-manager-arg is refused before the server starts", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-server-cm-bad-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawnServer(dir, ["--kube-controller-manager-arg", "node-monitor-grace-period=soon"]);
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  child.stdout?.resume();
  const code = await new Promise((r) => child.once("exit", r));
  t.equal(code, 1);
  t.match(err, /skiff server: invalid value "soon" for flag --node-monitor-grace-period/);
});
