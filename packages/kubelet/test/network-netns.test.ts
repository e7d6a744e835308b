/**
 * NetnsPodNetwork against the real system: ip netns, the CNI bridge, host-local and loopback
 * plugins, and the dialer helper. Needs root; skips off CI when a part is missing. Every
 * namespace, veth, process and directory it creates is removed in teardown. No traffic is sent
 * from the host's namespace to a pod address: only through the dialer.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { waitFor } from "@skiff/testkit";
import t, { type Test } from "tap";
import { containsIpv4 } from "../src/network/cni.js";
import { NetnsPodNetwork } from "../src/network/netns.js";

const warnings: string[] = [];
const logger = {
  info() {},
  warn(_obj: object, msg: string) {
    warnings.push(msg);
  },
  error() {},
  debug() {},
};

function missingPart(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (ip netns, CNI plugins)";
  for (const f of [
    "/usr/lib/cni/bridge",
    "/usr/lib/cni/host-local",
    "/usr/lib/cni/loopback",
    "/usr/bin/perl",
    "/usr/bin/busybox",
  ])
    if (!existsSync(f)) return `${f} is missing`;
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
  } catch {
    return "iproute2's ip is missing";
  }
  return undefined;
}
const missing = missingPart();
if (missing !== undefined && process.env.CI === undefined) t.comment(`skipping: ${missing}`);
const skip = process.env.CI === undefined ? missing : undefined;

function ip(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8" });
}
function netnsNames(): string[] {
  return (JSON.parse(ip("-j", "netns", "list").trim() || "[]") as Array<{ name: string }>).map((n) => n.name);
}
/** The pods' veths in a node namespace (the discard link skiff0 and its peer left out). */
function veths(ns: string): string[] {
  return (JSON.parse(ip("-n", ns, "-j", "link", "show", "type", "veth") || "[]") as Array<{ ifname: string }>)
    .map((l) => l.ifname)
    .filter((n) => !n.startsWith("skiff0"));
}

/** A node on a fresh name, data dir and /24, torn down (and double-checked) at the end. */
function newNode(tt: Test) {
  const node = `kt${randomBytes(3).toString("hex")}`;
  const dataDir = mkdtempSync(join(tmpdir(), "skiff-net-"));
  const podCIDR = `10.244.${1 + Math.floor(Math.random() * 250)}.0/24`;
  const net = new NetnsPodNetwork({ nodeName: node, dataDir, mode: "netns", logger });
  const procs: ChildProcess[] = [];
  tt.teardown(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    await net.tearDownNode().catch(() => {});
    for (const n of netnsNames())
      if (n === `skiff-${node}` || n.startsWith(`skiff-${node}-`)) ip("netns", "delete", n);
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { node, dataDir, podCIDR, net, procs };
}

/** Starts `cmd` inside a pod namespace and resolves once it printed `ready` on stdout. */
async function runInNetns(
  procs: ChildProcess[],
  ns: string,
  cmd: string[],
  ready: string,
): Promise<ChildProcess> {
  const child = spawn("ip", ["netns", "exec", ns, ...cmd], { stdio: ["ignore", "pipe", "inherit"] });
  procs.push(child);
  let out = "";
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  await waitFor(
    () => out.includes(ready) || (child.exitCode !== null ? Promise.reject(new Error("exited")) : false),
    {
      what: `${cmd.join(" ")} to be ready`,
    },
  );
  return child;
}

function readAll(s: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    s.on("data", (b: Buffer) => {
      data += b.toString();
    });
    s.on("end", () => resolve(data));
    s.on("error", reject);
  });
}

// A TCP server in the pod: reads until the client half-closes, then answers with what it got.
const HALF_CLOSE_SERVER = [
  "/usr/bin/perl",
  "-MIO::Socket::INET",
  "-e",
  '$|=1; my $s=IO::Socket::INET->new(LocalPort=>8081,Listen=>1,ReuseAddr=>1) or die "$!"; print "LISTENING\\n";' +
    ' my $c=$s->accept; local $/; my $d=<$c>; print $c "got:$d"; close $c;',
];

t.test(
  "node set-up: its own namespace with lo up and forwarding on, the host's untouched",
  { skip },
  async (t) => {
    const { node, podCIDR, net } = newNode(t);
    const hostForward = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
    await net.setUpNode(podCIDR);
    await net.setUpNode(podCIDR);
    const ns = `skiff-${node}`;
    t.ok(netnsNames().includes(ns), "the node namespace exists");
    t.equal(
      execFileSync("ip", ["netns", "exec", ns, "cat", "/proc/sys/net/ipv4/ip_forward"], {
        encoding: "utf8",
      }).trim(),
      "1",
    );
    t.equal(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8"), hostForward, "host ip_forward unchanged");
    t.match(ip("-n", ns, "link", "show", "lo"), /UP/, "lo is up");
    // Node-originated Service traffic needs a route for connect() to reach the nat output hook.
    t.match(ip("-n", ns, "route", "show", "default"), /^default dev skiff0 /, "a default route to skiff0");
    t.match(ip("-n", ns, "route", "get", "10.96.0.10"), /dev skiff0/, "Service IPs find that route");
    t.match(ip("-n", ns, "link", "show", "skiff0-peer"), /state DOWN/, "its peer stays down: nothing leaves");
    t.equal(net.nodeIP(), podCIDR.replace(/0\/24$/, "1"), "the node address is the bridge gateway");
    t.same(await net.listPods(), []);
  },
);

t.test(
  "pods get distinct addresses in the pod CIDR; dial reaches them from the node namespace",
  { skip },
  async (t) => {
    const { node, dataDir, podCIDR, net, procs } = newNode(t);
    await net.setUpNode(podCIDR);
    const [a, b] = [randomUUID(), randomUUID()];
    const sa = await net.setUpPod(a, "web-a", "default");
    const sb = await net.setUpPod(b, "web-b", "default");
    t.not(sa.ip, sb.ip, "distinct addresses");
    t.ok(
      containsIpv4(podCIDR, sa.ip) && containsIpv4(podCIDR, sb.ip),
      `${sa.ip} and ${sb.ip} are in ${podCIDR}`,
    );
    t.equal(sa.netnsPath, `/var/run/netns/skiff-${node}-${a}`);
    t.same(await net.setUpPod(a, "web-a", "default"), sa, "a second set-up returns the same status");
    t.same(await net.podStatus(b), sb);
    t.same((await net.listPods()).sort(), [a, b].sort());
    t.match(
      ip("-n", `skiff-${node}`, "-4", "addr", "show", "cni0"),
      net.nodeIP(),
      "cni0 holds the gateway address",
    );
    t.match(ip("-n", `skiff-${node}-${a}`, "link", "show", "lo"), /UP/, "the loopback plugin brought lo up");
    // The host's namespace has no cni0 and so no route to the pods through it.
    t.notMatch(
      ip("route", "get", sa.ip),
      /cni0/,
      "the host does not route pod addresses to a bridge of ours",
    );

    // An HTTP round trip into pod A through the dialer.
    const www = join(dataDir, "www");
    execFileSync("mkdir", ["-p", www]);
    writeFileSync(join(www, "index.html"), "hello from the pod\n");
    const httpd = spawn(
      "ip",
      ["netns", "exec", `skiff-${node}-${a}`, "busybox", "httpd", "-f", "-p", "8080", "-h", www],
      {
        stdio: "ignore",
      },
    );
    procs.push(httpd);
    const started = performance.now();
    const body = await waitFor(
      async () => {
        const s = await net.dial(sa.ip, 8080, 1000);
        s.end("GET /index.html HTTP/1.0\r\n\r\n");
        return readAll(s);
      },
      { what: "busybox httpd in the pod to answer through the dialer" },
    );
    t.comment(`first HTTP answer after ${Math.round(performance.now() - started)} ms`);
    t.match(body, /^HTTP\/1\.[01] 200/);
    t.match(body, /hello from the pod/);

    // Half-close both ways: the server sees EOF after our end(), and its answer still arrives.
    await runInNetns(procs, `skiff-${node}-${b}`, HALF_CLOSE_SERVER, "LISTENING");
    const s = await net.dial(sb.ip, 8081, 2000);
    s.end("ping");
    t.equal(await readAll(s), "got:ping", "half-close passes through the dialer");

    // A closed port is refused with the errno name, as net.connect reports it.
    await t.rejects(net.dial(sb.ip, 9, 2000), { code: "ECONNREFUSED" });

    // The helper is restarted after it dies.
    const pid = net.dialerPid;
    t.ok(pid, "the dialer helper runs");
    process.kill(pid as number, "SIGKILL");
    await waitFor(() => net.dialerPid === undefined, { what: "the killed dialer to be noticed" });
    const again = await net.dial(sa.ip, 8080, 2000);
    again.end("GET /index.html HTTP/1.0\r\n\r\n");
    t.match(await readAll(again), /hello from the pod/, "dial works after the helper died");
    t.not(net.dialerPid, pid, "a new helper");
  },
);

t.test(
  "teardown releases the namespace, the veth and the IPAM entry; tearDownNode leaves nothing",
  { skip },
  async (t) => {
    const { node, dataDir, podCIDR, net } = newNode(t);
    await net.setUpNode(podCIDR);
    const [a, b] = [randomUUID(), randomUUID()];
    const sa = await net.setUpPod(a, "a", "default");
    await net.setUpPod(b, "b", "default");
    const nodeNs = `skiff-${node}`;
    t.equal(veths(nodeNs).length, 2, "one veth per pod in the node namespace");
    t.same(net.ipamReservations(a), [sa.ip], "host-local reserved the address for the pod");

    await net.tearDownPod(a);
    t.notOk(netnsNames().includes(`skiff-${node}-${a}`), "pod namespace deleted");
    t.equal(veths(nodeNs).length, 1, "its veth is gone");
    t.same(net.ipamReservations(a), [], "its IPAM entry is released");
    await net.tearDownPod(a);
    t.pass("a second teardown is a no-op");

    // DEL still releases the address when the namespace is already gone (CNI spec).
    ip("netns", "delete", `skiff-${node}-${b}`);
    t.equal(net.ipamReservations(b).length, 1);
    await net.tearDownPod(b);
    t.same(net.ipamReservations(b), [], "released without a namespace");
    t.notOk(
      warnings.some((w) => w.includes("IPAM reservation")),
      "CNI DEL released them (not the leftover clean-up)",
    );

    // A third pod reuses nothing stale; then the node goes entirely.
    const c = randomUUID();
    await net.setUpPod(c, "c", "default");
    await net.dial(net.nodeIP(), 9, 2000).catch(() => {}); // starts the helper, to check it is ended
    const helper = net.dialerPid;
    await net.tearDownNode();
    t.same(
      netnsNames().filter((n) => n === nodeNs || n.startsWith(`${nodeNs}-`)),
      [],
      "no namespace of the node remains",
    );
    t.notOk(existsSync(join(dataDir, "cni")), "the CNI state dir is removed");
    if (helper !== undefined) {
      let alive = true;
      try {
        process.kill(helper, 0);
      } catch {
        alive = false;
      }
      t.notOk(alive, "the dialer helper has exited");
    }
  },
);

t.test("host mode: the host's address and plain TCP", { skip }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "skiff-net-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const net = new NetnsPodNetwork({ nodeName: "host-node", dataDir, mode: "host", logger });
  t.match(net.nodeIP(), /^\d+\.\d+\.\d+\.\d+$/);
  const { createServer } = await import("node:net");
  const server = createServer((c) => c.end("hi"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const s = await net.dial("127.0.0.1", port, 1000);
  t.equal(await readAll(s), "hi");
  server.close();
  await t.rejects(net.dial("127.0.0.1", port, 1000), { code: "ECONNREFUSED" });
  await net.close();
});

t.test("names are validated before any command sees them", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "skiff-net-"));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  t.throws(() => new NetnsPodNetwork({ nodeName: "a b", dataDir, mode: "netns", logger }));
  t.throws(() => new NetnsPodNetwork({ nodeName: "../x", dataDir, mode: "netns", logger }));
  const net = new NetnsPodNetwork({ nodeName: "n1", dataDir, mode: "netns", logger });
  await t.rejects(net.setUpPod("../../etc", "p", "default"), /invalid pod UID/);
  await t.rejects(net.tearDownPod("x;y"), /invalid pod UID/);
  await t.rejects(net.setUpPod(randomUUID(), "p", "default"), /not set up/);
});
