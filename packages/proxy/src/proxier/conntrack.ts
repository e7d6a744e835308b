/**
 * Stale UDP conntrack entries, as kube-proxy's conntrack.CleanStaleEntries: UDP has no
 * connection close, so a flow the kernel NATed to an endpoint keeps going there after the
 * endpoint is gone, and a flow that met a REJECT (no endpoints) keeps meeting it after endpoints
 * appear, until its conntrack entry is deleted. TCP and SCTP need no clean-up (RST / ABORT end
 * them). What to delete is a pure function of the Service ports before and after a sync;
 * deleting runs `conntrack -D` (Debian's conntrack package), in the node's network namespace.
 */
import type { Logger } from "@skiff/component-base";
import type { ServicePortInfo } from "../rules/types.js";
import { execCommand, inNetns } from "./exec.js";

/**
 * One `conntrack -D -p udp` filter. Exactly the fields given are matched: the original
 * destination address (--orig-dst), the original destination port (--dport) and the address the
 * flow was DNATed to (--dst-nat).
 */
export interface ConntrackFlow {
  origDst?: string;
  dport?: number;
  dstNat?: string;
}

/** The arguments of `conntrack` that delete the UDP entries a flow filter matches. */
export function conntrackArgs(f: ConntrackFlow): string[] {
  const args = ["-D", "-p", "udp"];
  if (f.origDst !== undefined) args.push("--orig-dst", f.origDst);
  if (f.dport !== undefined) args.push("--dport", String(f.dport));
  if (f.dstNat !== undefined) args.push("--dst-nat", f.dstNat);
  return args;
}

/** "10.244.0.5:53" -> "10.244.0.5" ("[fd00::5]:53" -> "fd00::5"). */
function hostOf(endpoint: string): string {
  const i = endpoint.lastIndexOf(":");
  const host = i < 0 ? endpoint : endpoint.slice(0, i);
  return host.replace(/^\[|\]$/g, "");
}

/**
 * The UDP flows to delete after the rules went from `prev` to `next`, as kube-proxy's
 * CleanStaleEntries with the EndpointsMap's DeletedUDPEndpoints and NewlyActiveUDPServices:
 * - an endpoint a UDP Service port no longer sends to (the endpoint or the whole Service went
 *   away): the flows to the ClusterIP NATed to that endpoint, and those to the NodePort;
 * - a UDP Service port that had no endpoints and now has some (also a new Service with
 *   endpoints, as kube): the flows to ClusterIP:port and to the NodePort, which met the REJECT.
 * The result has no duplicates.
 */
export function staleConntrackFlows(
  prev: readonly ServicePortInfo[],
  next: readonly ServicePortInfo[],
): ConntrackFlow[] {
  const nextByName = new Map(next.map((p) => [p.name, p]));
  const prevByName = new Map(prev.map((p) => [p.name, p]));
  const flows = new Map<string, ConntrackFlow>();
  const add = (f: ConntrackFlow) => flows.set(conntrackArgs(f).join(" "), f);
  for (const p of prev) {
    if (p.protocol !== "UDP") continue;
    const now = nextByName.get(p.name);
    const still = new Set(now?.protocol === "UDP" ? now.endpoints : []);
    for (const ep of p.endpoints) {
      if (still.has(ep)) continue;
      const ip = hostOf(ep);
      add({ origDst: p.clusterIP, dstNat: ip });
      if (p.nodePort !== undefined && p.nodePort > 0) add({ dport: p.nodePort, dstNat: ip });
    }
  }
  for (const p of next) {
    if (p.protocol !== "UDP" || p.endpoints.length === 0) continue;
    const before = prevByName.get(p.name);
    if (before !== undefined && before.protocol === "UDP" && before.endpoints.length > 0) continue;
    add({ origDst: p.clusterIP, dport: p.port });
    if (p.nodePort !== undefined && p.nodePort > 0) add({ dport: p.nodePort });
  }
  return [...flows.values()];
}

/** Deletes conntrack entries (a fake records the flows in tests). */
export interface ConntrackInterface {
  /** Deletes every flow's entries; resolves to the number of flows that failed (logged). */
  clearFlows(flows: readonly ConntrackFlow[]): Promise<number>;
}

export interface ConntrackOptions {
  netns?: string;
  logger: Logger;
  /** The conntrack binary (default "conntrack", found on PATH). */
  conntrackPath?: string;
}

/** conntrack's answer when the filter matched nothing (exit status 1): not a failure. */
const NOTHING_DELETED = /0 flow entries have been deleted/;

export class Conntrack implements ConntrackInterface {
  constructor(private readonly opts: ConntrackOptions) {}

  /** Deletes one flow's entries; throws with conntrack's stderr on a real failure. */
  async clearFlow(flow: ConntrackFlow): Promise<void> {
    const [file, args] = inNetns(
      this.opts.netns,
      this.opts.conntrackPath ?? "conntrack",
      conntrackArgs(flow),
    );
    const r = await execCommand(file, args);
    if (r.code === 0 || (r.code === 1 && NOTHING_DELETED.test(r.stderr))) return;
    throw new Error(`conntrack ${args.join(" ")} failed (exit ${r.code ?? "signal"}): ${r.stderr.trim()}`);
  }

  /**
   * One `conntrack -D` per flow, one at a time (they are few: only UDP changes make them). A
   * failure is logged and counted, never thrown: as kube-proxy, a missed clean-up must not fail
   * the sync whose rules are already live.
   */
  async clearFlows(flows: readonly ConntrackFlow[]): Promise<number> {
    let failed = 0;
    for (const f of flows) {
      try {
        await this.clearFlow(f);
      } catch (e) {
        failed++;
        this.opts.logger.warn({ flow: f, err: String(e) }, "failed to clear stale conntrack entries");
      }
    }
    return failed;
  }
}
