/** `skiff controller-manager` flags: kube's names and defaults, and errors that name the flag. */
import t from "tap";
import type { ControllerDescriptor } from "../src/index.js";
import { enabledControllers, parseControllerManagerArgs, unknownControllers } from "../src/index.js";

t.test("defaults are kube-controller-manager's", async (t) => {
  const o = parseControllerManagerArgs([]);
  t.same(o.controllers, ["*"]);
  t.equal(o.config.nodeMonitorGracePeriodMs, 40_000);
  t.equal(o.config.nodeMonitorPeriodMs, 5_000);
  t.equal(o.config.nodeEvictionRate, 0.1);
  t.equal(o.config.terminatedPodGcThreshold, 12_500);
  t.equal(o.config.concurrency.deployment, 5);
  t.equal(o.config.concurrency["garbage-collector"], 20);
  t.equal(o.config.clusterCidr, "10.244.0.0/16");
  t.same(o.leaderElection, {
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    namespace: "kube-system",
    name: "kube-controller-manager",
  });
  t.same(o.metricsBindAddress, { host: "127.0.0.1", port: 10257 });
});

t.test("flags set the configuration", async (t) => {
  const o = parseControllerManagerArgs([
    "--node-monitor-grace-period=20s",
    "--concurrent-deployment-syncs",
    "9",
    "--node-eviction-rate=0.5",
    "--leader-elect=false",
    "--controllers=*,-deployment-controller",
    "--enable-garbage-collector=false",
    "--feature-gates=MaxUnavailableStatefulSet=true",
  ]);
  t.equal(o.config.enableGarbageCollector, false);
  t.equal(o.config.maxUnavailableStatefulSet, true);
  t.equal(o.config.nodeMonitorGracePeriodMs, 20_000);
  t.equal(o.config.concurrency.deployment, 9);
  t.equal(o.config.nodeEvictionRate, 0.5);
  t.equal(o.leaderElection, undefined);
  t.same(o.controllers, ["*", "-deployment-controller"]);
});

t.test("bad values name the flag", async (t) => {
  t.throws(
    () => parseControllerManagerArgs(["--node-monitor-grace-period=soon"]),
    /--node-monitor-grace-period/,
  );
  t.throws(() => parseControllerManagerArgs(["--concurrent-job-syncs=0"]), /--concurrent-job-syncs/);
  t.throws(() => parseControllerManagerArgs(["--unhealthy-zone-threshold=2"]), /--unhealthy-zone-threshold/);
  t.throws(() => parseControllerManagerArgs(["--no-such-flag"]), /unknown flag/);
  t.throws(
    () => parseControllerManagerArgs(["--controllers=nope"]),
    /"nope" is not in the list of known controllers/,
  );
  t.throws(
    () => parseControllerManagerArgs(["--root-ca-file=/nonexistent/ca.crt"]),
    /error reading root-ca-file/,
  );
});

t.test("--controllers: '*', names, aliases and '-name' as kube", async (t) => {
  const d = (name: string, alias: string, off = false): ControllerDescriptor => ({
    name,
    aliases: [alias],
    ...(off ? { disabledByDefault: true } : {}),
    init: () => undefined,
  });
  const all = [d("a-controller", "a"), d("b-controller", "b"), d("c-controller", "c", true)];
  const names = (spec: string[]) => enabledControllers(spec, all).map((x) => x.name);
  t.same(names(["*"]), ["a-controller", "b-controller"]);
  t.same(names(["*", "-a"]), ["b-controller"]);
  t.same(names(["*", "c-controller"]), ["a-controller", "b-controller", "c-controller"]);
  t.same(names(["b"]), ["b-controller"]);
  t.same(unknownControllers(["*", "-a", "zz"], all), ["zz"]);
});
