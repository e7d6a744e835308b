/**
 * `skiff server` runs the controller manager by default (in its worker thread, on its Lease): a
 * Deployment made with kubectl rolls out on hollow nodes and `kubectl rollout status` ends; the
 * manager's work-queue metrics are on the API server's /metrics; a bad
 * --kube-controller-manager-arg or --kube-proxy-arg stops the server before it starts; the node
 * agent's k3s-style flags are split from the rest.
 */

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { configFromKubeconfig, KubeClient } from "@skiff/client";
import { silentLogger } from "@skiff/component-base";
import { HollowNodes, hollowNodesOptions } from "@skiff/hollow-node";
import t from "tap";
import { splitNodeAgentArgs } from "../src/node-agent.js";
import { defaultServiceAccount, serverReady, spawnServer, stopServer } from "./fixtures/server.js";

const run = promisify(execFile);

t.test("skiff server rolls out a Deployment made with kubectl", { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "skiff-server-cm-"));
  const kubeconfig = join(dir, "kubeconfig");
  const child = spawnServer(dir, []);
  const out = await serverReady(child);
  const client = new KubeClient(configFromKubeconfig(kubeconfig));
  const hollow = new HollowNodes(hollowNodesOptions({ kubeconfig, count: 2, namePrefix: "cm-" }), {
    log: silentLogger,
  });
  t.teardown(async () => {
    await hollow.stop();
    await client.close();
    await stopServer(child);
    rmSync(dir, { recursive: true, force: true });
  });
  t.match(out, /"controllerManager":true/, "the ready line says the controller manager runs");
  await hollow.start();
  await hollow.ready;
  const kubectl = (...args: string[]) =>
    run("kubectl", ["--kubeconfig", kubeconfig, ...args], { timeout: 120_000 });
  await defaultServiceAccount(client);
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

/** Runs `skiff server` with a bad flag: its exit code and what it printed on stderr. */
async function refusedStart(args: string[], agent: boolean): Promise<{ code: unknown; err: string }> {
  const dir = mkdtempSync(join(tmpdir(), "skiff-server-bad-flag-"));
  try {
    const child = spawnServer(dir, args, { agent });
    let err = "";
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.resume();
    const code = await new Promise((r) => child.once("exit", r));
    return { code, err };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test("a bad --kube-controller-manager-arg is refused before the server starts", async (t) => {
  const { code, err } = await refusedStart(
    ["--kube-controller-manager-arg", "node-monitor-grace-period=soon"],
    false,
  );
  t.equal(code, 1);
  t.match(err, /skiff server: invalid value "soon" for flag --node-monitor-grace-period/);
});

t.test("a bad --kube-proxy-arg is refused before the server starts", async (t) => {
  const { code, err } = await refusedStart(["--kube-proxy-arg", "proxy-mode=iptables"], true);
  t.equal(code, 1);
  t.match(err, /skiff server: invalid value "iptables" for flag --proxy-mode: supported values: "nftables"/);
});

t.test("the node agent's own flags are taken out of argv as k3s's", async (t) => {
  const s = splitNodeAgentArgs([
    "--kube-proxy-arg",
    "min-sync-period=0s",
    "--kube-proxy-arg=--cluster-cidr=10.244.0.0/16",
    "--disable-cluster-dns",
    "--node-name",
    "n1",
  ]);
  t.same(s, {
    rest: ["--node-name", "n1"],
    kubeProxyArgs: ["--min-sync-period=0s", "--cluster-cidr=10.244.0.0/16"],
    kubeProxy: true,
    clusterDns: false,
  });
  t.equal(splitNodeAgentArgs(["--disable-kube-proxy"]).kubeProxy, false);
  t.throws(() => splitNodeAgentArgs(["--kube-proxy-arg"]), /flag needs an argument: --kube-proxy-arg/);
});
