/**
 * The agent's fabric flags: the kubelet's own `--node-ip` (the node's InternalIP) and Skiff's
 * `--fabric NAME` (the node namespace joins the shared fabric namespace skiff-fabric-<NAME>;
 * network/fabric.ts). Kept apart from options.ts so that the two grow independently.
 */
import { FlagError, invalidFlag } from "@skiff/component-base";
import { parseIpv4 } from "./cni.js";
import { validateFabricName } from "./names.js";

export const fabricFlags = {
  "node-ip": {
    type: "string",
    usage:
      "IPv4 address of the node (its InternalIP). In the node namespace it is set on eth0, the link to --fabric, which it requires; the fabric's subnet is its /24.",
  },
  fabric: {
    type: "string",
    usage:
      "Join the node's namespace to the fabric namespace skiff-fabric-<name> shared by the nodes on this machine (requires --node-ip; not with --host-network).",
  },
} as const;

export interface FabricFlags {
  nodeIP?: string;
  fabric?: string;
}

/**
 * Checks --node-ip and --fabric. In the node namespace an address needs a link to live on, and
 * eth0 exists only on a fabric; so --node-ip there requires --fabric, and --fabric needs
 * --node-ip (the address the other nodes route through).
 */
export function parseFabricFlags(
  v: { "node-ip"?: string; fabric?: string },
  hostNetwork: boolean,
): FabricFlags {
  const nodeIP = v["node-ip"];
  const fabric = v.fabric;
  if (nodeIP !== undefined) {
    const n = parseIpv4(nodeIP);
    if (n === undefined) throw invalidFlag("node-ip", nodeIP, "must be an IPv4 address");
    const host = n & 0xff;
    if (fabric !== undefined && (host === 0 || host === 255))
      throw invalidFlag("node-ip", nodeIP, "is the network or broadcast address of the fabric's /24");
  }
  if (fabric !== undefined) {
    try {
      validateFabricName(fabric);
    } catch (e) {
      throw invalidFlag("fabric", fabric, (e as Error).message);
    }
    if (hostNetwork) throw new FlagError("--fabric joins the node's own namespace: not with --host-network");
    if (nodeIP === undefined)
      throw new FlagError("--fabric requires --node-ip (the node's address on the fabric)");
  } else if (nodeIP !== undefined && !hostNetwork)
    throw new FlagError(
      "--node-ip in the node's own namespace requires --fabric (its address lives on the fabric link)",
    );
  return {
    ...(nodeIP === undefined ? {} : { nodeIP }),
    ...(fabric === undefined ? {} : { fabric }),
  };
}
