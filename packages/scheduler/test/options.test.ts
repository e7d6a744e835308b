/**
 * `skiff scheduler` flags and configuration: kube's defaults, and a clear start-up error for an
 * unknown plugin, a bad profile or bad leader election durations.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { Framework } from "../src/framework/runtime.js";
import { inTreeRegistry, parseSchedulerConfig, parseSchedulerFlags } from "../src/index.js";
import { fakeHandle } from "./fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "skiff-sched-opts-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const kubeconfig = join(dir, "kubeconfig");
writeFileSync(
  kubeconfig,
  "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\nclusters:\n- name: k\n  cluster: {server: https://127.0.0.1:6443}\nusers:\n- name: u\n  user: {token: t}\n",
);

t.test("defaults: leader election on kube-system/kube-scheduler with 15s/10s/2s", async (t) => {
  const o = parseSchedulerFlags(["--kubeconfig", kubeconfig]);
  t.same(o.leaderElection, {
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    namespace: "kube-system",
    name: "kube-scheduler",
  });
  t.equal(o.config.profiles[0]?.schedulerName, "default-scheduler");
  t.equal(
    parseSchedulerFlags(["--kubeconfig", kubeconfig, "--leader-elect=false"]).leaderElection,
    undefined,
  );
});

t.test("every default plugin exists and builds a framework", async (t) => {
  const fwk = new Framework(
    parseSchedulerConfig(undefined).profiles[0] as never,
    inTreeRegistry(),
    fakeHandle([]),
  );
  t.same(
    fwk.filter.map((p) => p.name),
    [
      "NodeUnschedulable",
      "NodeName",
      "TaintToleration",
      "NodeAffinity",
      "NodePorts",
      "NodeResourcesFit",
      "VolumeBinding",
      "PodTopologySpread",
      "InterPodAffinity",
    ],
  );
  t.same(
    fwk.score.map((s) => `${s.plugin.name}:${s.weight}`),
    [
      "TaintToleration:3",
      "NodeAffinity:2",
      "NodeResourcesFit:1",
      "PodTopologySpread:2",
      "InterPodAffinity:2",
      "NodeResourcesBalancedAllocation:1",
      "ImageLocality:1",
    ],
  );
  t.same(
    fwk.postFilter.map((p) => p.name),
    ["DefaultPreemption"],
  );
  t.same(
    fwk.bind.map((p) => p.name),
    ["DefaultBinder"],
  );
});

t.test("bad configuration and flags are clear start-up errors", async (t) => {
  const cfg = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  t.throws(() => parseSchedulerFlags([]), /--kubeconfig is required/);
  t.throws(
    () =>
      parseSchedulerFlags([
        "--kubeconfig",
        kubeconfig,
        "--config",
        cfg(
          "a.yaml",
          "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\npercentageOfNodesToScore: 150\n",
        ),
      ]),
    /invalid configuration: percentageOfNodesToScore: Invalid value: 150/,
  );
  t.throws(
    () => parseSchedulerFlags(["--kubeconfig", kubeconfig, "--config", join(dir, "missing.yaml")]),
    /failed to read config file/,
  );
  t.throws(
    () =>
      parseSchedulerFlags([
        "--kubeconfig",
        kubeconfig,
        "--leader-elect-lease-duration",
        "5s",
        "--leader-elect-renew-deadline",
        "10s",
      ]),
    /leaseDuration|renewDeadline/,
  );
  const unknown = parseSchedulerConfig({
    profiles: [{ plugins: { filter: { enabled: [{ name: "NoSuchPlugin" }] } } }],
  });
  t.throws(
    () => new Framework(unknown.profiles[0] as never, inTreeRegistry(), fakeHandle([])),
    /plugin "NoSuchPlugin" does not exist/,
  );
  const badArgs = parseSchedulerConfig({
    profiles: [{ pluginConfig: [{ name: "NodeResourcesFit", args: { scoringStrategy: { type: "Nope" } } }] }],
  });
  t.throws(
    () => new Framework(badArgs.profiles[0] as never, inTreeRegistry(), fakeHandle([])),
    /initializing plugin "NodeResourcesFit": .*Unsupported value: "Nope"/,
  );
});
