/**
 * The node fabric: several Skiff nodes on one machine reach each other's pods, as kind's nodes
 * do on their docker network. Each node is its own network namespace (`skiff-<node>`); a fabric
 * is one more namespace, `skiff-fabric-<name>`, holding a bridge `br0`. Joining puts a veth pair
 * between them: `vf-<8 hex>` (from a hash of the node name, within IFNAMSIZ) on the bridge, and
 * `eth0` in the node namespace carrying the node's InternalIP (--node-ip) on the fabric's subnet,
 * the /24 of that address.
 *
 * Pod traffic between nodes is routed, not encapsulated, as flannel's host-gw backend and
 * kube-router do: each node keeps one route per other node, `<its podCIDR> via <its InternalIP>
 * dev eth0`. Those routes carry Skiff's own protocol number (as Calico marks its routes with
 * protocol 80), so that a sync removes only routes it made and never the kernel's or another
 * component's.
 *
 * Every command runs in the node or the fabric namespace (`ip -n`); the host's is never changed.
 * Several agents may join and leave one fabric at once: creating the namespace and the bridge
 * tolerates "File exists", and the last node out (no veth left in the fabric) deletes it.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { containsIpv4, formatIpv4, parseIpv4, parseIpv4Cidr } from "./cni.js";
import { mustRun, runCommand } from "./command.js";
import type { NetworkLogger } from "./logger.js";
import { fabricNetnsName, netnsPath, nodeNetnsName, validateFabricName, validateNodeName } from "./names.js";

/** The bridge in the fabric namespace. */
export const FABRIC_BRIDGE = "br0";
/** The node namespace's link to the fabric. */
export const FABRIC_LINK = "eth0";
/** The fabric's prefix length: its subnet is the /24 of the node's address. */
export const FABRIC_PREFIX = 24;
/** The routing protocol number on the routes syncRoutes makes (0x53, 'S'; unassigned in rt_protos). */
export const RTPROT_SKIFF = 83;

/** What syncRoutes needs of a Node: its name, spec.podCIDR and InternalIP. */
export interface FabricNode {
  name: string;
  podCIDR?: string;
  internalIP?: string;
}

export interface NodeFabricOptions {
  /** The fabric's name (--fabric): nodes naming the same fabric share its bridge. */
  fabric: string;
  nodeName: string;
  /** The node's InternalIP (--node-ip), set on eth0 as <nodeIP>/24. */
  nodeIP: string;
  /** The node's namespace; default skiff-<nodeName>. */
  nodeNetns?: string;
  logger: NetworkLogger;
}

/** A route in the node namespace's main table, as `ip -j route show` reports it. */
interface RouteEntry {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
}

export class NodeFabric {
  /** The fabric's namespace, skiff-fabric-<name>. */
  readonly fabricNetns: string;
  readonly nodeNetns: string;
  /** The veth end on the fabric's bridge. */
  readonly veth: string;
  /** The fabric's subnet, <network>/24 of the node's address. */
  readonly subnet: string;
  private readonly node: string;
  private readonly nodeIP: string;
  private readonly logger: NetworkLogger;

  constructor(opts: NodeFabricOptions) {
    this.node = validateNodeName(opts.nodeName);
    this.fabricNetns = fabricNetnsName(validateFabricName(opts.fabric));
    this.nodeNetns = opts.nodeNetns ?? nodeNetnsName(this.node);
    const ip = parseIpv4(opts.nodeIP);
    if (ip === undefined) throw new Error(`invalid node IP ${JSON.stringify(opts.nodeIP)}`);
    this.nodeIP = opts.nodeIP;
    this.subnet = `${formatIpv4((ip & 0xffffff00) >>> 0)}/${FABRIC_PREFIX}`;
    this.veth = fabricVethName(this.node);
    this.logger = opts.logger;
  }

  /**
   * Puts the node namespace on the fabric; idempotent (an agent restart finds its veth in place).
   * A join racing the last other node's leave may see the fabric namespace vanish under it: it
   * starts over, a few times.
   */
  async join(): Promise<void> {
    if (!existsSync(netnsPath(this.nodeNetns)))
      throw new Error(`fabric ${this.fabricNetns}: node namespace ${this.nodeNetns} does not exist`);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.joinOnce();
        break;
      } catch (e) {
        if (attempt >= 5) throw e;
        this.logger.debug({ fabric: this.fabricNetns, attempt, err: String(e) }, "fabric join retried");
        await new Promise((r) => setTimeout(r, 20 * attempt));
      }
    }
    this.logger.info(
      { node: this.node, fabric: this.fabricNetns, nodeIP: this.nodeIP, veth: this.veth },
      "node joined the fabric",
    );
  }

  private async joinOnce(): Promise<void> {
    await this.ensureFabricNamespace();
    const fabricEnd = await linkExists(this.fabricNetns, this.veth);
    const nodeEnd = await linkExists(this.nodeNetns, FABRIC_LINK);
    // Both ends present: the pair from an earlier run. One alone (eth0 left paired with another
    // fabric's bridge): remove it and make a fresh pair.
    if (!(fabricEnd && nodeEnd)) {
      if (fabricEnd) await deleteLink(this.fabricNetns, this.veth);
      if (nodeEnd) await deleteLink(this.nodeNetns, FABRIC_LINK);
      // Both ends are created in their namespaces directly: nothing appears in the host's.
      await mustRun("ip", [
        "link",
        "add",
        this.veth,
        "netns",
        this.fabricNetns,
        "type",
        "veth",
        "peer",
        "name",
        FABRIC_LINK,
        "netns",
        this.nodeNetns,
      ]);
    }
    await mustRun("ip", ["-n", this.fabricNetns, "link", "set", this.veth, "master", FABRIC_BRIDGE, "up"]);
    await mustRun("ip", ["-n", this.nodeNetns, "link", "set", FABRIC_LINK, "up"]);
    await this.ensureAddress();
    // The last other node leaving may have deleted the fabric (and our veth with it) meanwhile.
    if (!(await linkExists(this.fabricNetns, this.veth)))
      throw new Error(`fabric ${this.fabricNetns} went away while joining`);
  }

  /** The fabric namespace, `lo` up and the bridge up; another agent may be making them too. */
  private async ensureFabricNamespace(): Promise<void> {
    const ns = this.fabricNetns;
    await tolerate(["ip", "netns", "add", ns], /File exists/);
    await mustRun("ip", ["-n", ns, "link", "set", "lo", "up"]);
    await tolerate(["ip", "-n", ns, "link", "add", FABRIC_BRIDGE, "type", "bridge"], /File exists/);
    await mustRun("ip", ["-n", ns, "link", "set", FABRIC_BRIDGE, "up"]);
  }

  /** eth0 holds exactly <nodeIP>/24 (an address from an earlier --node-ip is removed). */
  private async ensureAddress(): Promise<void> {
    const want = `${this.nodeIP}/${FABRIC_PREFIX}`;
    const out = await mustRun("ip", ["-n", this.nodeNetns, "-j", "-4", "addr", "show", "dev", FABRIC_LINK]);
    const links = JSON.parse(out.trim() || "[]") as Array<{
      addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }>;
    }>;
    const have = links.flatMap((l) => l.addr_info ?? []).filter((a) => a.family === "inet");
    for (const a of have)
      if (`${a.local}/${a.prefixlen}` !== want)
        await mustRun("ip", [
          "-n",
          this.nodeNetns,
          "addr",
          "del",
          `${a.local}/${a.prefixlen}`,
          "dev",
          FABRIC_LINK,
        ]);
    if (!have.some((a) => `${a.local}/${a.prefixlen}` === want))
      await mustRun("ip", ["-n", this.nodeNetns, "addr", "replace", want, "dev", FABRIC_LINK]);
  }

  /**
   * Takes the node off the fabric: its veth goes (and with it eth0 and the routes through it);
   * the last node out deletes the fabric namespace. Safe to call when never joined.
   */
  async leave(): Promise<void> {
    const ns = this.fabricNetns;
    if (existsSync(netnsPath(this.nodeNetns)) && (await linkExists(this.nodeNetns, FABRIC_LINK)))
      await deleteLink(this.nodeNetns, FABRIC_LINK);
    if (!existsSync(netnsPath(ns))) return;
    if (await linkExists(ns, this.veth)) await deleteLink(ns, this.veth);
    // Count veths, not bridge ports: a node joining right now has its veth there before it is
    // attached. (A join that loses the race against this delete starts over.)
    const out = await runCommand("ip", ["-n", ns, "-j", "link", "show", "type", "veth"]);
    if (out.code !== 0) return;
    const left = JSON.parse(out.stdout.trim() || "[]") as unknown[];
    if (left.length === 0) {
      await tolerate(["ip", "netns", "delete", ns], /No such file|Invalid argument/);
      this.logger.info({ fabric: ns }, "last node left: fabric removed");
    }
    this.logger.info({ node: this.node, fabric: ns }, "node left the fabric");
  }

  /**
   * Level-triggered, as flannel's host-gw route check: one route per other node whose podCIDR
   * and InternalIP are known and whose InternalIP is on this fabric's subnet; every other route
   * with Skiff's protocol number is removed. A node whose pod CIDR would replace a route that is
   * not Skiff's (the node's own cni0 route, a default route) is skipped with a warning. Joins
   * first if the node's veth is missing from the fabric.
   */
  async syncRoutes(nodes: readonly FabricNode[]): Promise<void> {
    // Level-triggered membership too: a veth gone (deleted by hand, or the fabric removed by a
    // last node leaving in the instant this one joined) is made again.
    if (!(existsSync(netnsPath(this.fabricNetns)) && (await linkExists(this.fabricNetns, this.veth)))) {
      this.logger.warn({ fabric: this.fabricNetns, veth: this.veth }, "fabric link missing: joining again");
      await this.join();
    }
    const routes = await this.routes();
    const ours = new Map<string, RouteEntry>();
    const others = new Set<string>();
    for (const r of routes) {
      const dst = normalizeDst(r.dst);
      if (dst === undefined) continue;
      if (r.protocol === String(RTPROT_SKIFF)) ours.set(dst, r);
      else others.add(dst);
    }
    const desired = this.desiredRoutes(nodes, others);
    for (const [dst, via] of desired) {
      const have = ours.get(dst);
      if (have?.gateway === via && have.dev === FABRIC_LINK) continue;
      await mustRun("ip", [
        "-n",
        this.nodeNetns,
        "route",
        "replace",
        dst,
        "via",
        via,
        "dev",
        FABRIC_LINK,
        "proto",
        String(RTPROT_SKIFF),
      ]);
      this.logger.info({ podCIDR: dst, via }, "fabric route set");
    }
    for (const dst of ours.keys()) {
      if (desired.has(dst)) continue;
      await tolerate(
        ["ip", "-n", this.nodeNetns, "route", "del", dst, "proto", String(RTPROT_SKIFF)],
        /No such process/,
      );
      this.logger.info({ podCIDR: dst }, "fabric route removed");
    }
  }

  /** podCIDR -> the InternalIP to route it through. */
  private desiredRoutes(nodes: readonly FabricNode[], others: ReadonlySet<string>): Map<string, string> {
    const desired = new Map<string, string>();
    const owner = new Map<string, string>();
    // Sorted by name, so that two nodes claiming one pod CIDR resolve the same way on every node.
    for (const n of [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (n.name === this.node || n.podCIDR === undefined || n.internalIP === undefined) continue;
      const dst = normalizeCidr(n.podCIDR);
      if (dst === undefined || !containsIpv4(this.subnet, n.internalIP) || n.internalIP === this.nodeIP)
        continue;
      const first = owner.get(dst);
      if (first !== undefined || others.has(dst) || dst === this.subnet) {
        this.logger.warn(
          { node: n.name, podCIDR: dst, claimedBy: first ?? "a route that is not the fabric's" },
          "fabric route skipped: pod CIDR already routed",
        );
        continue;
      }
      owner.set(dst, n.name);
      desired.set(dst, n.internalIP);
    }
    return desired;
  }

  private async routes(): Promise<RouteEntry[]> {
    const out = await mustRun("ip", ["-n", this.nodeNetns, "-j", "-4", "route", "show", "table", "main"]);
    return JSON.parse(out.trim() || "[]") as RouteEntry[];
  }
}

/** The fabric-side veth's name: `vf-` and 8 hex digits of the node name's SHA-256 (IFNAMSIZ is 16). */
export function fabricVethName(nodeName: string): string {
  return `vf-${createHash("sha256").update(nodeName).digest("hex").slice(0, 8)}`;
}

/** A CIDR in the form `ip route` prints it (network address, prefix), or undefined if invalid. */
function normalizeCidr(cidr: string): string | undefined {
  try {
    const c = parseIpv4Cidr(cidr);
    return `${formatIpv4(c.network)}/${c.prefix}`;
  } catch {
    return undefined;
  }
}

/** `ip -j route` prints a /32 without its prefix and the default route as "default". */
function normalizeDst(dst: string): string | undefined {
  if (dst === "default") return "0.0.0.0/0";
  if (!dst.includes("/")) return parseIpv4(dst) === undefined ? undefined : `${dst}/32`;
  const [addr, len] = dst.split("/");
  const ip = parseIpv4(addr ?? "");
  const prefix = Number(len);
  if (ip === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return `${formatIpv4((ip & mask) >>> 0)}/${prefix}`;
}

async function linkExists(ns: string, name: string): Promise<boolean> {
  const r = await runCommand("ip", ["-n", ns, "link", "show", "dev", name]);
  return r.code === 0;
}

async function deleteLink(ns: string, name: string): Promise<void> {
  await tolerate(["ip", "-n", ns, "link", "del", name], /Cannot find device/);
}

/** Runs a command; an error whose output matches `ok` (the state is already as wanted) is fine. */
async function tolerate(cmd: [string, ...string[]], ok: RegExp): Promise<void> {
  const [file, ...args] = cmd;
  const r = await runCommand(file, args);
  if (r.code !== 0 && !ok.test(r.stderr))
    throw new Error(`${cmd.join(" ")}: exit ${r.code}: ${(r.stderr || r.stdout).trim()}`);
}
