/**
 * PodNetwork on real network namespaces and the real CNI plugins, as the kubelet's runtime
 * (containerd's CRI plugin through libcni) wires pods: one namespace per pod, the bridge plugin
 * with host-local IPAM on the node's pod CIDR, the loopback plugin for `lo`.
 *
 * mode "netns": the node is its own network namespace `skiff-<node>` (ip_forward on inside it
 * only; the host's namespace is never changed). The plugins run inside it, so cni0 and the
 * pods' veth ends live there, and the agent, staying in the host namespace, reaches pods only
 * through the dialer (a helper process inside the node namespace). This is a single-node
 * fabric: the node's address is the bridge gateway, the first address of its pod CIDR; a
 * fabric joining several node namespaces comes later.
 * mode "host": the plugins run in the host namespace and dial is net.connect; the node's
 * address is the host's primary IPv4.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { bridgeConfig, gatewayOf, invokePlugin, loopbackConfig, NETWORK_NAME, resultIPv4 } from "./cni.js";
import { mustRun, runCommand } from "./command.js";
import { DialError, NetnsDialer } from "./dialer.js";
import type { NetworkLogger } from "./logger.js";
import {
  isPodUID,
  netnsPath,
  nodeNetnsName,
  podNetnsName,
  podNetnsPrefix,
  validateNodeName,
  validatePodUID,
} from "./names.js";
import type { PodNetwork, PodNetworkStatus } from "./network.js";

export interface NetnsPodNetworkOptions {
  nodeName: string;
  /** The agent's data dir; CNI state goes to <dataDir>/cni. */
  dataDir: string;
  mode: "netns" | "host";
  cniBinDir?: string;
  /** --node-ip: the node's address when given (on the fabric's eth0, network/fabric.ts). */
  nodeIP?: string;
  logger: NetworkLogger;
}

/** The state kept in <dataDir>/cni/podnet.json so that DEL works after an agent restart. */
interface SavedNetwork {
  podCIDR: string;
  config: Record<string, unknown>;
}

export class NetnsPodNetwork implements PodNetwork {
  /** Pods this agent set up, by uid (podStatus answers from here while the namespace exists). */
  private readonly pods = new Map<string, PodNetworkStatus>();
  private readonly node: string;
  private readonly mode: "netns" | "host";
  private readonly cniBinDir: string;
  private readonly cniDir: string;
  private readonly logger: NetworkLogger;
  private network: SavedNetwork | undefined;
  private dialer: NetnsDialer | undefined;
  private readonly socketPath: string;
  private readonly fixedNodeIP: string | undefined;

  constructor(opts: NetnsPodNetworkOptions) {
    this.fixedNodeIP = opts.nodeIP;
    this.node = validateNodeName(opts.nodeName);
    this.mode = opts.mode;
    this.cniBinDir = opts.cniBinDir ?? "/usr/lib/cni";
    this.cniDir = join(opts.dataDir, "cni");
    this.logger = opts.logger;
    // A unix socket path is limited to 108 bytes; a deep data dir falls back to the temp dir.
    const inDataDir = join(opts.dataDir, "dialer.sock");
    this.socketPath =
      Buffer.byteLength(inDataDir) < 100 ? inDataDir : join(tmpdir(), `skiff-dialer-${this.node}.sock`);
    this.network = this.loadNetwork();
  }

  private get configFile(): string {
    return join(this.cniDir, `${NETWORK_NAME}.json`);
  }

  /** host-local's dataDir: reservations are files <ipamDir>/<network name>/<ip>. */
  get ipamDir(): string {
    return join(this.cniDir, "networks");
  }

  private loadNetwork(): SavedNetwork | undefined {
    try {
      return JSON.parse(readFileSync(this.configFile, "utf8")) as SavedNetwork;
    } catch {
      return undefined;
    }
  }

  /** The node namespace's name, or undefined in host mode. */
  get nodeNetns(): string | undefined {
    return this.mode === "netns" ? nodeNetnsName(this.node) : undefined;
  }

  async setUpNode(podCIDR: string): Promise<void> {
    const config = bridgeConfig(podCIDR, this.ipamDir);
    mkdirSync(this.ipamDir, { recursive: true });
    const saved: SavedNetwork = { podCIDR, config };
    writeFileSync(this.configFile, `${JSON.stringify(saved, null, 2)}\n`);
    this.network = saved;
    const ns = this.nodeNetns;
    if (ns === undefined) return;
    if (!(await netnsExists(ns))) await mustRun("ip", ["netns", "add", ns]);
    await mustRun("ip", ["-n", ns, "link", "set", "lo", "up"]);
    // Forwarding between the bridge and the node's other links, in the node namespace only.
    await mustRun("ip", ["netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
    await ensureDiscardRoute(ns);
    this.logger.info({ node: this.node, netns: ns, podCIDR }, "node network set up");
  }

  nodeIP(): string {
    if (this.fixedNodeIP !== undefined) return this.fixedNodeIP;
    if (this.mode === "netns") return this.network === undefined ? "" : gatewayOf(this.network.podCIDR);
    for (const addrs of Object.values(networkInterfaces()))
      for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
    return "127.0.0.1";
  }

  async setUpPod(podUID: string, podName: string, namespace: string): Promise<PodNetworkStatus> {
    const uid = validatePodUID(podUID);
    const network = this.network;
    if (network === undefined) throw new Error(`node ${this.node}: pod network not set up (no pod CIDR yet)`);
    const existing = await this.podStatus(uid);
    if (existing !== undefined) return existing;
    const ns = podNetnsName(this.node, uid);
    // A namespace without an address is what a failed or interrupted set-up leaves: start over.
    if (await netnsExists(ns)) await this.tearDownPod(uid);
    await mustRun("ip", ["netns", "add", ns]);
    const path = netnsPath(ns);
    try {
      await invokePlugin({ ...this.invocation(uid, path, "lo", loopbackConfig()), command: "ADD" });
      const result = await invokePlugin({
        ...this.invocation(uid, path, "eth0", network.config),
        command: "ADD",
        args: cniArgs(podName, namespace, uid),
      });
      const ip = resultIPv4(result);
      this.logger.info({ pod: `${namespace}/${podName}`, podUID: uid, ip, netns: ns }, "pod network set up");
      const status = { netnsPath: path, ip };
      this.pods.set(uid, status);
      return status;
    } catch (e) {
      await this.tearDownPod(uid).catch((err: unknown) =>
        this.logger.warn({ podUID: uid, err: String(err) }, "clean-up after a failed pod network set-up"),
      );
      throw e;
    }
  }

  async podStatus(podUID: string): Promise<PodNetworkStatus | undefined> {
    const uid = validatePodUID(podUID);
    // Set up by this agent and still there: every pod sync asks, and each look costs two `ip` runs.
    const known = this.pods.get(uid);
    if (known !== undefined && existsSync(known.netnsPath)) return { ...known };
    const ns = podNetnsName(this.node, uid);
    if (!(await netnsExists(ns))) return undefined;
    const r = await runCommand("ip", ["-n", ns, "-j", "-4", "addr", "show", "dev", "eth0"]);
    if (r.code !== 0) return undefined;
    const links = JSON.parse(r.stdout || "[]") as Array<{
      addr_info?: Array<{ family?: string; local?: string }>;
    }>;
    const ip = links.flatMap((l) => l.addr_info ?? []).find((a) => a.family === "inet")?.local;
    return ip === undefined ? undefined : { netnsPath: netnsPath(ns), ip };
  }

  async tearDownPod(podUID: string): Promise<void> {
    const uid = validatePodUID(podUID);
    this.pods.delete(uid);
    const ns = podNetnsName(this.node, uid);
    const exists = await netnsExists(ns);
    const network = this.network;
    if (network !== undefined) {
      // CNI spec: DEL must release the IPAM entry even when the namespace is already gone.
      await invokePlugin({
        ...this.invocation(uid, exists ? netnsPath(ns) : "", "eth0", network.config),
        command: "DEL",
      });
      if (exists)
        await invokePlugin({
          ...this.invocation(uid, netnsPath(ns), "lo", loopbackConfig()),
          command: "DEL",
        }).catch((e: unknown) => this.logger.debug({ podUID: uid, err: String(e) }, "loopback DEL"));
    }
    if (exists) {
      const r = await runCommand("ip", ["netns", "delete", ns]);
      if (r.code !== 0 && (await netnsExists(ns)))
        throw new Error(`ip netns delete ${ns}: ${r.stderr.trim()}`);
    }
    this.releaseLeftoverReservations(uid);
    this.logger.debug({ podUID: uid, netns: ns }, "pod network torn down");
  }

  /**
   * host-local's reservation files (`<ip>` holding the container id and interface) for this
   * pod. DEL removes them; one left behind (a plugin killed half-way) is removed here, with a
   * warning, so that the address is not lost for good.
   */
  ipamReservations(podUID: string): string[] {
    const dir = join(this.ipamDir, NETWORK_NAME);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    return names.filter((n) => {
      if (n.startsWith("last_reserved_ip") || n === "lock") return false;
      try {
        return readFileSync(join(dir, n), "utf8").split(/\r?\n/)[0]?.trim() === podUID;
      } catch {
        return false;
      }
    });
  }

  private releaseLeftoverReservations(uid: string): void {
    for (const ip of this.ipamReservations(uid)) {
      this.logger.warn({ podUID: uid, ip }, "removing an IPAM reservation CNI DEL left behind");
      unlinkSync(join(this.ipamDir, NETWORK_NAME, ip));
    }
  }

  async listPods(): Promise<string[]> {
    const prefix = podNetnsPrefix(this.node);
    return (await listNetns())
      .filter((n) => n.startsWith(prefix))
      .map((n) => n.slice(prefix.length))
      .filter(isPodUID);
  }

  async dial(host: string, port: number, timeoutMs: number): Promise<Duplex> {
    const ns = this.nodeNetns;
    if (ns === undefined) return dialHost(host, port, timeoutMs);
    this.dialer ??= new NetnsDialer({ netns: ns, socketPath: this.socketPath, logger: this.logger });
    return this.dialer.dial(host, port, timeoutMs);
  }

  /** The dialer helper's PID while it runs (netns mode). */
  get dialerPid(): number | undefined {
    return this.dialer?.helperPid;
  }

  async tearDownNode(): Promise<void> {
    for (const uid of await this.listPods()) await this.tearDownPod(uid);
    await this.close();
    const ns = this.nodeNetns;
    if (ns !== undefined && (await netnsExists(ns))) await mustRun("ip", ["netns", "delete", ns]);
    rmSync(this.cniDir, { recursive: true, force: true });
    this.network = undefined;
    this.logger.info({ node: this.node }, "node network torn down");
  }

  async close(): Promise<void> {
    const d = this.dialer;
    this.dialer = undefined;
    await d?.close();
  }

  private invocation(containerId: string, netns: string, ifName: string, config: Record<string, unknown>) {
    return { containerId, netns, ifName, config, cniBinDir: this.cniBinDir, inNetns: this.nodeNetns };
  }
}

/** CNI_ARGS as containerd's CRI plugin passes them; names with other characters are left out. */
function cniArgs(podName: string, namespace: string, uid: string): string {
  const args = ["IgnoreUnknown=1"];
  if (/^[a-z0-9.-]+$/.test(namespace)) args.push(`K8S_POD_NAMESPACE=${namespace}`);
  if (/^[a-z0-9.-]+$/.test(podName)) args.push(`K8S_POD_NAME=${podName}`);
  args.push(`K8S_POD_UID=${uid}`);
  return args.join(";");
}

/**
 * A default route in the node namespace to a link where traffic ends: connect() to a Service
 * IP looks up a route before the nat output hook can DNAT it (NETWORKING.md), so node-originated
 * Service traffic needs one; nothing that is not DNAT'd to a real address leaves. The link is
 * one end of a veth pair whose other end stays down (a dummy link would do, but the dummy
 * driver is not in every kernel, as on the project's machines): a packet sent there is dropped.
 */
export const DISCARD_LINK = "skiff0";
const DISCARD_PEER = "skiff0-peer";

async function ensureDiscardRoute(ns: string): Promise<void> {
  const link = await runCommand("ip", ["-n", ns, "link", "show", DISCARD_LINK]);
  if (link.code !== 0)
    await mustRun("ip", [
      "-n",
      ns,
      "link",
      "add",
      DISCARD_LINK,
      "type",
      "veth",
      "peer",
      "name",
      DISCARD_PEER,
    ]);
  await mustRun("ip", ["-n", ns, "link", "set", DISCARD_LINK, "up"]);
  await mustRun("ip", ["-n", ns, "route", "replace", "default", "dev", DISCARD_LINK]);
}

async function listNetns(): Promise<string[]> {
  const out = await mustRun("ip", ["-j", "netns", "list"]);
  return (JSON.parse(out.trim() || "[]") as Array<{ name: string }>).map((n) => n.name);
}

async function netnsExists(name: string): Promise<boolean> {
  return existsSync(netnsPath(name)) && (await listNetns()).includes(name);
}

/** Host mode: a plain TCP connection, with the dialer's error codes. */
function dialHost(host: string, port: number, timeoutMs: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    const timer = setTimeout(
      () => {
        sock.destroy();
        reject(new DialError(`connect ETIMEDOUT ${host}:${port}`, "ETIMEDOUT"));
      },
      Math.max(1, timeoutMs),
    );
    sock.once("connect", () => {
      clearTimeout(timer);
      sock.off("error", onError);
      resolve(sock);
    });
    const onError = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    sock.once("error", onError);
  });
}
