/**
 * The node fabric: the agent's --node-ip/--fabric flags, the routes controller against a fake
 * client, and NodeFabric against the real system (root: two node namespaces joined to one fabric,
 * routes to a fake pod CIDR, the last node out removing the fabric). Every namespace and veth it
 * creates is removed in teardown. Nothing is sent from the host's namespace: every command runs
 * in a namespace of the test's own (`ip -n`, `ip netns exec`).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import type { Node } from "@skiff/api";
import { FakeClient } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import t from "tap";
import { type FabricNode, fabricVethName, NodeFabric, RTPROT_SKIFF } from "../src/network/fabric.js";
import { fabricNodeOf, RouteController } from "../src/node/routes.js";
import { parseAgentFlags } from "../src/options.js";

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
  if (process.getuid?.() !== 0) return "needs root (ip netns, veth)";
  if (!existsSync("/usr/bin/busybox")) return "/usr/bin/busybox is missing (its ping)";
  if (spawnSync("ip", ["-V"], { stdio: "ignore" }).status !== 0) return "iproute2's ip is missing";
  return undefined;
}
const missing = missingPart();
if (missing !== undefined && process.env.CI === undefined) t.comment(`skipping the real fabric: ${missing}`);
const skip = process.env.CI === undefined ? missing : undefined;

t.test("--node-ip and --fabric", async (t) => {
  const parse = (...args: string[]) => parseAgentFlags(["--node-name", "n1", ...args], { embedded: true });
  const o = parse("--fabric", "f1", "--node-ip", "10.0.0.2");
  t.equal(o.fabric, "f1");
  t.equal(o.nodeIP, "10.0.0.2");
  t.equal(parse().fabric, undefined, "no fabric by default");
  t.equal(
    parse("--host-network", "--node-ip", "192.168.1.9").nodeIP,
    "192.168.1.9",
    "host mode: kubelet's --node-ip",
  );
  t.throws(() => parse("--fabric", "f1"), /--fabric requires --node-ip/);
  t.throws(() => parse("--node-ip", "10.0.0.2"), /--node-ip .*requires --fabric/);
  t.throws(() => parse("--fabric", "f1", "--node-ip", "10.0.0"), /--node-ip.*IPv4/);
  t.throws(() => parse("--fabric", "f1", "--node-ip", "10.0.0.255"), /--node-ip.*broadcast/);
  t.throws(() => parse("--fabric", "F_1", "--node-ip", "10.0.0.2"), /--fabric/);
  t.throws(() => parse("--fabric", "f1", "--node-ip", "10.0.0.2", "--host-network"), /--host-network/);
});

t.test("NodeFabric names and the Node view", async (t) => {
  t.match(fabricVethName("a-very-long-node-name-indeed"), /^vf-[0-9a-f]{8}$/);
  t.ok(fabricVethName("n").length <= 15, "within IFNAMSIZ");
  const f = new NodeFabric({ fabric: "f1", nodeName: "n1", nodeIP: "10.0.3.7", logger });
  t.equal(f.subnet, "10.0.3.0/24", "the fabric's subnet is the /24 of --node-ip");
  t.equal(f.fabricNetns, "skiff-fabric-f1");
  t.equal(f.nodeNetns, "skiff-n1");
  t.throws(() => new NodeFabric({ fabric: "f1", nodeName: "n1", nodeIP: "nope", logger }), /invalid node IP/);
  t.same(
    fabricNodeOf(node("a", { podCIDRs: ["fd00::/64", "10.244.1.0/24"], ip: "10.0.0.1", ipv6: "fd00::1" })),
    { name: "a", podCIDR: "10.244.1.0/24", internalIP: "10.0.0.1" },
  );
  t.same(fabricNodeOf(node("b", {})), { name: "b", podCIDR: undefined, internalIP: undefined });
});

t.test("RouteController syncs every Node on changes and retries failures", async (t) => {
  const client = new FakeClient({ objects: [node("a", { podCIDR: "10.244.1.0/24", ip: "10.0.0.1" })] });
  const calls: FabricNode[][] = [];
  let failNext = false;
  const fabric = {
    async syncRoutes(nodes: readonly FabricNode[]) {
      if (failNext) {
        failNext = false;
        throw new Error("injected");
      }
      calls.push([...nodes].sort((x, y) => x.name.localeCompare(y.name)));
    },
  };
  const rc = new RouteController({ client, fabric, logger, debounceMs: 5, backoff: { initialMs: 5 } });
  t.teardown(() => rc.stop());
  rc.start();
  await waitFor(() => calls.length === 1, { what: "the first sync after the initial list" });
  t.same(calls[0], [{ name: "a", podCIDR: "10.244.1.0/24", internalIP: "10.0.0.1" }]);

  await client.resource<Node>("v1", "nodes").create(node("b", { podCIDR: "10.244.2.0/24", ip: "10.0.0.2" }));
  await waitFor(() => calls.at(-1)?.length === 2, { what: "a sync with node b" });

  failNext = true;
  await client.resource<Node>("v1", "nodes").delete("a");
  await waitFor(() => calls.at(-1)?.length === 1 && calls.at(-1)?.[0]?.name === "b", {
    what: "a retried sync without node a",
  });
  t.ok(warnings.includes("fabric routes sync failed"), "the failure was logged");
  t.equal(rc.syncs, calls.length);
});

t.test("two node namespaces on one fabric", { skip }, async (t) => {
  const r = randomBytes(3).toString("hex");
  const [nameA, nameB, fabricName] = [`ft${r}-a`, `ft${r}-b`, `ft${r}`];
  const [nsA, nsB, nsF] = [`skiff-${nameA}`, `skiff-${nameB}`, `skiff-fabric-${fabricName}`];
  t.teardown(() => {
    for (const ns of [nsA, nsB, nsF]) spawnSync("ip", ["netns", "delete", ns], { stdio: "ignore" });
  });
  for (const ns of [nsA, nsB]) {
    ip("netns", "add", ns);
    ip("-n", ns, "link", "set", "lo", "up");
  }
  // Each node's "pods": an address of its pod CIDR on a bridge, as cni0 holds the gateway.
  const fakePods = (ns: string, gw: string) => {
    ip("-n", ns, "link", "add", "pod0", "type", "bridge");
    ip("-n", ns, "addr", "add", gw, "dev", "pod0");
    ip("-n", ns, "link", "set", "pod0", "up");
  };
  fakePods(nsA, "10.244.7.1/24");
  fakePods(nsB, "10.244.8.1/24");
  const fa = new NodeFabric({ fabric: fabricName, nodeName: nameA, nodeIP: "10.0.0.1", logger });
  const fb = new NodeFabric({ fabric: fabricName, nodeName: nameB, nodeIP: "10.0.0.2", logger });

  // Both agents at once: the fabric namespace and bridge are made by whichever comes first.
  await Promise.all([fa.join(), fb.join()]);
  t.same(bridgePorts(nsF).sort(), [fa.veth, fb.veth].sort(), "both veths on br0");
  t.equal(addresses(nsA, "eth0").join(), "10.0.0.1/24");
  await fa.join();
  t.equal(addresses(nsA, "eth0").join(), "10.0.0.1/24", "a second join changes nothing");
  t.ok(ping(nsB, "10.0.0.1"), "b reaches a's node address over the fabric");
  t.notOk(routeGet(nsB, "10.244.7.1"), "no route to a's pods before a sync");

  const nodes: FabricNode[] = [
    { name: nameA, podCIDR: "10.244.7.0/24", internalIP: "10.0.0.1" },
    { name: nameB, podCIDR: "10.244.8.0/24", internalIP: "10.0.0.2" },
    { name: "off-fabric", podCIDR: "10.244.9.0/24", internalIP: "192.168.5.5" },
    { name: "no-cidr", internalIP: "10.0.0.4" },
    { name: "zz-claims-b-cidr", podCIDR: "10.244.8.0/24", internalIP: "10.0.0.3" },
  ];
  await fb.syncRoutes(nodes);
  t.same(ourRoutes(nsB), ["10.244.7.0/24 via 10.0.0.1 dev eth0"], "one route per other node on the fabric");
  t.ok(routeGet(nsB, "10.244.7.1")?.includes("via 10.0.0.1"));
  t.match(
    ip("-n", nsB, "route", "show", "10.244.8.0/24"),
    /dev pod0 proto kernel/,
    "b's own pod route is left alone",
  );
  t.ok(warnings.includes("fabric route skipped: pod CIDR already routed"));
  await fa.syncRoutes(nodes);
  t.ok(ping(nsB, "10.244.7.1"), "b reaches a pod address of a");
  t.ok(ping(nsA, "10.244.8.1"), "a reaches a pod address of b");

  // A route of another origin to the same place a removed node had is not the fabric's to delete.
  ip("-n", nsB, "route", "add", "10.244.50.0/24", "via", "10.0.0.9", "dev", "eth0");
  await fb.syncRoutes(nodes.filter((n) => n.name !== nameA));
  t.same(ourRoutes(nsB), [], "node a gone: its route removed");
  t.notOk(routeGet(nsB, "10.244.7.1"));
  t.ok(routeGet(nsB, "10.244.50.1")?.includes("via 10.0.0.9"), "a foreign route stays");

  // A veth deleted behind the agent's back is made again by the next sync.
  ip("-n", nsF, "link", "del", fa.veth);
  t.notOk(linkExists(nsA, "eth0"), "a's eth0 went with its peer");
  await fa.syncRoutes(nodes);
  t.equal(addresses(nsA, "eth0").join(), "10.0.0.1/24", "the sync joined a again");
  t.ok(ping(nsA, "10.244.8.1"), "a reaches b's pods again");

  await fa.leave();
  t.ok(existsSync(`/var/run/netns/${nsF}`), "the fabric stays while b is on it");
  t.notOk(linkExists(nsA, "eth0"), "a's eth0 is gone");
  await fb.leave();
  t.notOk(existsSync(`/var/run/netns/${nsF}`), "the last node out removed the fabric");
  await fb.leave();
  t.pass("leave is idempotent");
});

function node(name: string, o: { podCIDR?: string; podCIDRs?: string[]; ip?: string; ipv6?: string }): Node {
  const addresses = [
    ...(o.ipv6 === undefined ? [] : [{ type: "InternalIP", address: o.ipv6 }]),
    ...(o.ip === undefined ? [] : [{ type: "InternalIP", address: o.ip }]),
    { type: "Hostname", address: name },
  ];
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name },
    spec: {
      ...(o.podCIDR === undefined ? {} : { podCIDR: o.podCIDR }),
      ...(o.podCIDRs === undefined ? {} : { podCIDRs: o.podCIDRs }),
    },
    status: { addresses },
  };
}

function ip(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8" });
}

function linkExists(ns: string, name: string): boolean {
  return spawnSync("ip", ["-n", ns, "link", "show", "dev", name], { stdio: "ignore" }).status === 0;
}

function bridgePorts(ns: string): string[] {
  return (
    JSON.parse(ip("-n", ns, "-j", "link", "show", "master", "br0") || "[]") as Array<{ ifname: string }>
  ).map((l) => l.ifname);
}

function addresses(ns: string, dev: string): string[] {
  const links = JSON.parse(ip("-n", ns, "-j", "-4", "addr", "show", "dev", dev) || "[]") as Array<{
    addr_info: Array<{ local: string; prefixlen: number }>;
  }>;
  return links.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
}

function ourRoutes(ns: string): string[] {
  const routes = JSON.parse(
    ip("-n", ns, "-j", "-4", "route", "show", "proto", String(RTPROT_SKIFF)) || "[]",
  ) as Array<{ dst: string; gateway: string; dev: string }>;
  return routes.map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}`);
}

/** `ip route get` inside the namespace: the route it would take, or undefined when unreachable. */
function routeGet(ns: string, addr: string): string | undefined {
  const r = spawnSync("ip", ["-n", ns, "route", "get", addr], { encoding: "utf8" });
  return r.status === 0 ? r.stdout : undefined;
}

/** One echo request from inside `ns` (busybox's ping), with a 2 s wait for the reply. */
function ping(ns: string, addr: string): boolean {
  const r = spawnSync("ip", ["netns", "exec", ns, "/usr/bin/busybox", "ping", "-c", "1", "-W", "2", addr], {
    stdio: "ignore",
  });
  return r.status === 0;
}
