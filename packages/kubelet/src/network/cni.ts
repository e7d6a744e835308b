/**
 * Calling the CNI plugins directly, as libcni does for the kubelet's container runtime: the
 * configuration on stdin, the CNI_* variables in the environment, the result (CNI spec 1.0.0)
 * on stdout. The pod network is the bridge plugin (bridge cni0 with the gateway address, so the
 * node namespace routes for its pods) with host-local IPAM on the node's pod CIDR, plus the
 * loopback plugin for `lo`, as containerd's CRI plugin adds its loopback network.
 */
import { join } from "node:path";
import { runCommand } from "./command.js";

export const CNI_VERSION = "1.0.0";
/** The network name: host-local keeps its reservations in <dataDir>/<name>/. */
export const NETWORK_NAME = "podnet";
export const BRIDGE_NAME = "cni0";

export interface Ipv4Cidr {
  /** The network address as a 32-bit unsigned number. */
  network: number;
  prefix: number;
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
}

export function parseIpv4(s: string): number | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

/** Parses an IPv4 CIDR such as the Node's spec.podCIDR; throws on anything else. */
export function parseIpv4Cidr(cidr: string): Ipv4Cidr {
  const [addr, len, extra] = cidr.split("/");
  const ip = addr === undefined ? undefined : parseIpv4(addr);
  const prefix = Number(len);
  if (ip === undefined || extra !== undefined || !/^[0-9]{1,2}$/.test(len ?? "") || prefix > 30)
    throw new Error(`invalid IPv4 pod CIDR ${JSON.stringify(cidr)}`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { network: (ip & mask) >>> 0, prefix };
}

/** The gateway (the bridge's address): the first address of the pod CIDR, as kubenet chose it. */
export function gatewayOf(cidr: string): string {
  return formatIpv4(parseIpv4Cidr(cidr).network + 1);
}

export function containsIpv4(cidr: string, ip: string): boolean {
  const c = parseIpv4Cidr(cidr);
  const n = parseIpv4(ip);
  if (n === undefined) return false;
  const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
  return (n & mask) >>> 0 === c.network;
}

/** The bridge network's configuration (what a conflist's first plugin would hold). */
export function bridgeConfig(podCIDR: string, ipamDataDir: string): Record<string, unknown> {
  const c = parseIpv4Cidr(podCIDR);
  const subnet = `${formatIpv4(c.network)}/${c.prefix}`;
  return {
    cniVersion: CNI_VERSION,
    name: NETWORK_NAME,
    type: "bridge",
    bridge: BRIDGE_NAME,
    isGateway: true,
    ipMasq: false,
    hairpinMode: true,
    ipam: {
      type: "host-local",
      dataDir: ipamDataDir,
      ranges: [[{ subnet, gateway: gatewayOf(podCIDR) }]],
      routes: [{ dst: "0.0.0.0/0" }],
    },
  };
}

export function loopbackConfig(): Record<string, unknown> {
  return { cniVersion: CNI_VERSION, name: "cni-loopback", type: "loopback" };
}

export type CniCommand = "ADD" | "DEL" | "CHECK";

export interface CniInvocation {
  command: CniCommand;
  containerId: string;
  /** The pod's namespace path; empty on a DEL whose namespace is gone. */
  netns: string;
  ifName: string;
  config: Record<string, unknown>;
  cniBinDir: string;
  /** `ip netns exec <name>` prefix, so the plugin runs inside the node's namespace; none in host mode. */
  inNetns?: string;
  /** CNI_ARGS (`K=V;K=V`). */
  args?: string;
}

/** The error a plugin reports (CNI spec: a JSON object with code and msg on stdout). */
export class CniError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = "CniError";
  }
}

/** Runs one plugin; resolves with its parsed stdout (the result on ADD). */
export async function invokePlugin(inv: CniInvocation): Promise<Record<string, unknown> | undefined> {
  const type = String(inv.config.type);
  const plugin = join(inv.cniBinDir, type);
  const cniEnv = [
    `CNI_COMMAND=${inv.command}`,
    `CNI_CONTAINERID=${inv.containerId}`,
    `CNI_NETNS=${inv.netns}`,
    `CNI_IFNAME=${inv.ifName}`,
    `CNI_PATH=${inv.cniBinDir}`,
    ...(inv.args === undefined ? [] : [`CNI_ARGS=${inv.args}`]),
  ];
  const [file, args] =
    inv.inNetns === undefined
      ? ["env", [...cniEnv, plugin]]
      : ["ip", ["netns", "exec", inv.inNetns, "env", ...cniEnv, plugin]];
  const r = await runCommand(file, args, { input: JSON.stringify(inv.config) });
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = r.stdout.trim() === "" ? undefined : (JSON.parse(r.stdout) as Record<string, unknown>);
  } catch {
    parsed = undefined;
  }
  if (r.code !== 0) {
    const msg = parsed?.msg ?? (r.stderr.trim() || r.stdout.trim());
    const details = parsed?.details === undefined ? "" : `: ${String(parsed.details)}`;
    throw new CniError(
      `CNI ${inv.command} ${type} for ${inv.containerId}: ${String(msg)}${details}`,
      typeof parsed?.code === "number" ? parsed.code : undefined,
    );
  }
  return parsed;
}

/** The pod's IPv4 address from an ADD result (the first entry of `ips`, without its prefix). */
export function resultIPv4(result: Record<string, unknown> | undefined): string {
  const ips = Array.isArray(result?.ips) ? (result.ips as Array<{ address?: unknown }>) : [];
  for (const entry of ips) {
    const addr = typeof entry.address === "string" ? entry.address.split("/")[0] : undefined;
    if (addr !== undefined && parseIpv4(addr) !== undefined) return addr;
  }
  throw new CniError(`CNI result has no IPv4 address: ${JSON.stringify(result)}`);
}
