import { EventEmitter } from "node:events";
import { request } from "node:http";
import { Gauge, Registry } from "prom-client";
import t from "tap";
import {
  type Component,
  ComponentGroup,
  durationFlag,
  FlagSet,
  formatDuration,
  Health,
  intFlag,
  leaderElectionConfiguration,
  leaderElectionFlags,
  listFlag,
  once,
  parseDuration,
  Readiness,
  runComponent,
  serveOps,
} from "../src/index.js";

t.test("flags: values, defaults, Go-style errors in the upstream binary's words", async (t) => {
  const defs = {
    name: { type: "string", default: "default", usage: "member name" },
    "data-dir": { type: "string", usage: "where data lives" },
    debug: { type: "boolean", default: false, usage: "more logs" },
  } as const;
  const kube = new FlagSet(defs);
  const { values } = kube.parse(["--name=a", "--debug"]);
  t.equal(values.name, "a");
  t.equal(values.debug, true);
  t.equal(values["data-dir"], undefined);
  t.equal(kube.parse([]).values.name, "default");
  t.throws(() => kube.parse(["--bogus"]), { name: "FlagError", message: "unknown flag: --bogus" });
  t.throws(() => new FlagSet(defs, "etcd").parse(["--bogus"]), {
    message: "flag provided but not defined: --bogus",
  });
  t.throws(() => kube.parse(["--name"]), { message: "flag needs an argument: --name" });
  t.throws(() => kube.parse(["x"]), { message: 'unexpected argument "x"' });
  t.same(kube.parse(["x"], true).positionals, ["x"]);
  t.match(kube.usage(), /--name string\s+member name \(default "default"\)/);
  t.match(kube.usage(), /--debug\s+more logs$/);
  t.same(kube.names, ["name", "data-dir", "debug"]);
});

t.test("flags: integers, lists and Go durations", async (t) => {
  t.equal(intFlag("port", "6443", 0, 65535), 6443);
  t.throws(() => intFlag("port", "65536", 0, 65535), { message: /invalid value "65536" for flag --port/ });
  t.throws(() => intFlag("port", "", 0, 65535), { message: /invalid value "" for flag --port/ });
  t.throws(() => intFlag("port", "1.5", 0, 65535));
  t.same(listFlag(" a, b,,c "), ["a", "b", "c"]);
  t.equal(parseDuration("15s"), 15_000);
  t.equal(parseDuration("1h30m"), 5_400_000);
  t.equal(parseDuration("1.5s"), 1500);
  t.equal(parseDuration("100ms"), 100);
  t.equal(parseDuration("0"), 0);
  t.equal(parseDuration("250us"), 0.25);
  for (const bad of ["", "5", "1x", "s", "1h 2m", "-1s"])
    t.throws(() => parseDuration(bad), { message: /invalid duration/ }, bad);
  t.throws(() => durationFlag("event-ttl", "1d"), {
    message: 'invalid value "1d" for flag --event-ttl: time: invalid duration "1d"',
  });
});

t.test("health: livez, readyz, one check, verbose, exclude, 500 on failure", async (t) => {
  let synced = false;
  const h = new Health()
    .addLivez("etcd", () => undefined)
    .addReadyz("informer-sync", () => (synced ? undefined : "not synced"));
  const q = (s = "") => new URLSearchParams(s);
  t.same(await h.serve("livez", undefined, q()), { code: 200, body: "ok" });
  const notReady = await h.serve("readyz", undefined, q());
  t.equal(notReady.code, 500);
  t.equal(
    notReady.body,
    "[+]ping ok\n[+]etcd ok\n[-]informer-sync failed: reason withheld\nreadyz check failed\n",
  );
  t.equal((await h.serve("readyz", undefined, q("exclude=informer-sync"))).code, 200);
  t.equal((await h.serve("readyz", "informer-sync", q())).code, 500);
  t.equal((await h.serve("readyz", "nope", q())).code, 404);
  t.same(await h.failing("healthz"), ["informer-sync"]);
  synced = true;
  t.same(await h.serve("readyz", undefined, q("verbose")), {
    code: 200,
    body: "[+]ping ok\n[+]etcd ok\n[+]informer-sync ok\nreadyz check passed\n",
  });
  const throwing = new Health().addLivez("boom", () => {
    throw new Error("x");
  });
  t.equal((await throwing.serve("livez", undefined, q())).code, 500);
});

function get(addr: string, path: string): Promise<{ status: number; body: string; type: string }> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), addr.slice(addr.lastIndexOf(":") + 1)];
  return new Promise((resolve, reject) => {
    request({ host, port, path }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        body += d.toString();
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body, type: String(res.headers["content-type"]) }),
      );
    })
      .on("error", reject)
      .end();
  });
}

t.test("ops server: metrics, health and extra routes on a listener it picks", async (t) => {
  const metrics = new Registry();
  metrics.setDefaultLabels({});
  const ops = await serveOps([{ host: "127.0.0.1", port: 0 }], {
    health: new Health(),
    metrics,
    routes: new Map([
      [
        "/health",
        (_req, res) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end('{"health":"true"}');
        },
      ],
    ]),
  });
  t.teardown(() => ops.close());
  const addr = ops.addresses[0] as string;
  t.match((await get(addr, "/metrics")).type, /text\/plain/);
  t.same(await get(addr, "/livez"), { status: 200, body: "ok", type: "text/plain; charset=utf-8" });
  t.equal((await get(addr, "/health")).body, '{"health":"true"}');
  t.equal((await get(addr, "/nope")).status, 404);
});

/** A component whose steps a test drives, recording what happened. */
function fakeComponent(startFails = false) {
  const events: string[] = [];
  const readiness = new Readiness();
  const c: Component & { events: string[]; readiness: Readiness } = {
    name: "fake",
    health: new Health(),
    metrics: new Registry(),
    events,
    readiness,
    async start() {
      events.push("start");
      if (startFails) throw new Error("cannot bind");
    },
    get ready() {
      return readiness.promise;
    },
    describe: () => ({ url: "x://y" }),
    stop: once(async () => {
      events.push("stop");
    }),
  };
  return c;
}

t.test("runComponent: ready line after ready, stop on the first signal, force on the second", async (t) => {
  const signals = new EventEmitter();
  const lines: string[] = [];
  const c = fakeComponent();
  const code = runComponent(c, { signals, out: (l) => lines.push(l) });
  await new Promise((r) => setImmediate(r));
  t.same(lines, [], "no ready line before ready");
  c.readiness.resolve();
  while (lines.length === 0) await new Promise((r) => setImmediate(r));
  t.same(JSON.parse(lines[0] as string), { event: "ready", component: "fake", url: "x://y" });
  signals.emit("SIGTERM");
  t.equal(await code, 0);
  t.same(c.events, ["start", "stop"]);
  t.equal(signals.listenerCount("SIGTERM"), 0, "signal handlers removed");

  // A component that never finishes draining: the second signal gives up with exit code 1.
  const slow = fakeComponent();
  slow.stop = () => new Promise<void>(() => {});
  slow.readiness.resolve();
  const slowCode = runComponent(slow, { signals, out: () => undefined });
  await new Promise((r) => setImmediate(r));
  signals.emit("SIGINT");
  signals.emit("SIGINT");
  t.equal(await slowCode, 1);
});

t.test("runComponent: a failed start stops what started and throws", async (t) => {
  const c = fakeComponent(true);
  await t.rejects(runComponent(c, { signals: new EventEmitter(), out: () => undefined }), {
    message: "cannot bind",
  });
  t.same(c.events, ["start", "stop"]);
  const never = fakeComponent();
  never.readiness.reject(new Error("no leader"));
  await t.rejects(runComponent(never, { signals: new EventEmitter(), out: () => undefined }), {
    message: "no leader",
  });
  t.same(never.events, ["start", "stop"]);
});

t.test("runComponent: a signal before ready stops without a ready line", async (t) => {
  const signals = new EventEmitter();
  const lines: string[] = [];
  const c = fakeComponent();
  const code = runComponent(c, { signals, out: (l) => lines.push(l) });
  await new Promise((r) => setImmediate(r));
  signals.emit("SIGTERM");
  t.equal(await code, 0);
  t.same(lines, []);
  t.same(c.events, ["start", "stop"]);
});

t.test("flags: a boolean takes =true or =false, as pflag", async (t) => {
  const set = new FlagSet({ debug: { type: "boolean", default: true, usage: "more logs" } });
  t.equal(set.parse(["--debug=false"]).values.debug, false);
  t.equal(set.parse(["--debug=false", "--debug"]).values.debug, true, "the last one wins");
  t.equal(set.parse(["--debug", "--debug=0"]).values.debug, false);
  t.equal(set.parse(["--debug=True"]).values.debug, true);
  t.throws(() => set.parse(["--debug=yes"]), {
    message: 'invalid argument "yes" for "--debug" flag: strconv.ParseBool: parsing "yes": invalid syntax',
  });
});

t.test("leader election flags: kube's names, defaults from the caller, kube's checks", async (t) => {
  const set = new FlagSet({
    ...leaderElectionFlags({ resourceNamespace: "kube-system", resourceName: "kube-scheduler" }),
  });
  const defaults = leaderElectionConfiguration(set.parse([]).values);
  t.same(defaults, {
    leaderElect: true,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    resourceLock: "leases",
    resourceName: "kube-scheduler",
    resourceNamespace: "kube-system",
  });
  t.match(
    set.usage(),
    /--leader-elect-lease-duration string\s+The duration that non-leader candidates .* \(default "15s"\)/,
  );
  const custom = set.parse([
    "--leader-elect-lease-duration=1m30s",
    "--leader-elect-renew-deadline",
    "1m",
    "--leader-elect-retry-period=500ms",
    "--leader-elect-resource-namespace=ns",
    "--leader-elect-resource-name=kcm",
  ]).values;
  t.match(leaderElectionConfiguration(custom), {
    leaseDurationMs: 90_000,
    renewDeadlineMs: 60_000,
    retryPeriodMs: 500,
    resourceNamespace: "ns",
    resourceName: "kcm",
  });
  const bad = (args: string[]) => () => leaderElectionConfiguration(set.parse(args).values);
  t.throws(bad(["--leader-elect-renew-deadline=15s"]), {
    name: "FlagError",
    message: "leaderElection.leaseDuration: Invalid value: 15s: must be greater than `RenewDeadline`",
  });
  t.throws(bad(["--leader-elect-retry-period=0", "--leader-elect-resource-name="]), {
    message:
      "[leaderElection.retryPeriod: Invalid value: 0s: must be greater than zero, leaderElection.resourceName: Required value]",
  });
  t.throws(bad(["--leader-elect-lease-duration=soon"]), {
    message: 'invalid value "soon" for flag --leader-elect-lease-duration: time: invalid duration "soon"',
  });
  t.throws(bad(["--leader-elect-resource-lock=endpoints"]), { message: "Invalid lock-type endpoints" });
  const off = leaderElectionConfiguration(
    set.parse(["--leader-elect=false", "--leader-elect-renew-deadline=1h"]).values,
  );
  t.equal(off.leaderElect, false, "nothing is checked when leader election is off");
  t.same(
    [0, 0.0005, 1.5, 100, 1500, 15_000, 90_000, 120_000, 3_600_000, 5_400_500].map(formatDuration),
    ["0s", "500ns", "1.5ms", "100ms", "1.5s", "15s", "1m30s", "2m0s", "1h0m0s", "1h30m0.5s"],
    "Go's Duration.String",
  );
});

t.test(
  "component group: starts in order, serves members' health and metrics, stops in reverse",
  async (t) => {
    const order: string[] = [];
    const member = (name: string, failStart = false) => {
      const metrics = new Registry();
      metrics.registerMetric(new Gauge({ name: `${name}_up`, help: "up", registers: [] }));
      const health = new Health();
      let healthy = true;
      health.addReadyz("synced", () => (healthy ? undefined : "not synced"));
      return {
        name,
        health,
        metrics,
        ready: Promise.resolve(),
        setHealthy: (v: boolean) => {
          healthy = v;
        },
        describe: () => ({ [name]: true }),
        start: async () => {
          order.push(`start ${name}`);
          if (failStart) throw new Error(`${name} failed`);
        },
        stop: async () => {
          order.push(`stop ${name}`);
        },
      };
    };
    const a = member("kubelet");
    const b = member("kube_proxy");
    const g = new ComponentGroup("agent", [a, b], async () => {
      order.push("after stop");
    });
    await g.start();
    await g.ready;
    t.same(order, ["start kubelet", "start kube_proxy"]);
    t.same(g.describe(), { kubelet: true, kube_proxy: true });
    const text = await g.metrics.metrics();
    t.match(text, /kubelet_up/);
    t.match(text, /kube_proxy_up/);
    t.equal((await g.health.serve("readyz", undefined, new URLSearchParams())).code, 200);
    b.setHealthy(false);
    t.same(await g.health.failing("readyz"), ["kube_proxy"]);
    t.same(await g.health.failing("livez"), []);
    await g.stop();
    t.same(order.slice(2), ["stop kube_proxy", "stop kubelet", "after stop"]);
    await g.stop();
    t.equal(order.filter((o) => o === "after stop").length, 1, "after stop runs once");

    order.length = 0;
    const bad = new ComponentGroup("agent", [member("one"), member("two", true), member("three")]);
    await t.rejects(bad.start(), /two failed/);
    t.same(order, ["start one", "start two", "stop two", "stop one"]);
  },
);
