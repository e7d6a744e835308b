/**
 * The fixed part of the table (kube-proxy's setupNFTables: base chains, service dispatch, the
 * "no endpoints" checks, masquerading) and the builder the per-Service rules are added through.
 */

import type { RuleSink, ServiceFragment } from "./cache.js";
import { cmp, isIPv4 } from "./endpoints.js";
import {
  FILTER_INPUT,
  FILTER_OUTPUT,
  FILTER_PREROUTING,
  MARK_MASQ_CHAIN,
  MASQUERADING_CHAIN,
  NAT_OUTPUT,
  NAT_POSTROUTING,
  NAT_PREROUTING,
  NO_ENDPOINT_NODEPORTS_MAP,
  NO_ENDPOINT_SERVICES_MAP,
  NODEPORT_ENDPOINTS_CHECK_CHAIN,
  REJECT_CHAIN,
  SERVICE_ENDPOINTS_CHECK_CHAIN,
  SERVICE_IPS_MAP,
  SERVICE_NODEPORTS_MAP,
  SERVICES_CHAIN,
} from "./names.js";
import type { NftSetDef, ProxyRulesOptions, Ruleset, ServicePortInfo } from "./types.js";

/** Accumulates chains, sets and elements; finish() sorts everything so the output is deterministic. */
export class RulesetBuilder implements RuleSink {
  private readonly chains = new Map<string, string[]>();
  private readonly sets = new Map<string, NftSetDef>();
  /** Chain bodies taken as they are from a fragment: copied before anything is added to them. */
  private readonly shared = new Set<readonly string[]>();

  constructor(private readonly table: string) {}

  chain(name: string, header?: string): string[] {
    let body = this.chains.get(name);
    if (body === undefined) {
      body = header === undefined ? [] : [header];
      this.chains.set(name, body);
    } else if (this.shared.has(body)) {
      this.shared.delete(body);
      body = [...body];
      this.chains.set(name, body);
    }
    return body;
  }

  /**
   * Adds one Service's fragment, with the result adding its calls one by one would have had:
   * a chain new to the table keeps the fragment's very array (so that equal chains of two
   * Rulesets are one object), a chain already present gets the rules appended to a copy.
   */
  merge(fragment: ServiceFragment): void {
    for (const [name, rules] of fragment.chains) {
      const body = this.chains.get(name);
      if (body === undefined) {
        this.chains.set(name, rules as string[]);
        this.shared.add(rules);
      } else this.chain(name).push(...rules);
    }
    for (const [name, def] of fragment.sets)
      if (!this.sets.has(name)) this.sets.set(name, { ...def, elements: [...def.elements] });
    for (const [set, element] of fragment.elements) this.element(set, element);
  }

  rule(chain: string, rule: string): void {
    this.chain(chain).push(rule);
  }

  set(name: string, def: NftSetDef): void {
    if (!this.sets.has(name)) this.sets.set(name, def);
  }

  element(set: string, element: string): void {
    const def = this.sets.get(set);
    if (def === undefined) throw new Error(`element for undeclared set ${set}`);
    def.elements.push(element);
  }

  finish(servicePorts: ServicePortInfo[]): Ruleset {
    const chains = new Map([...this.chains].sort(([a], [b]) => cmp(a, b)));
    const sets = new Map(
      [...this.sets]
        .sort(([a], [b]) => cmp(a, b))
        .map(([name, def]) => [name, { ...def, elements: [...new Set(def.elements)].sort(cmp) }]),
    );
    return { table: this.table, chains, sets, servicePorts };
  }
}

const TABLE_NAME = /^[A-Za-z_.][A-Za-z0-9_./-]*$/;
const CIDR = /^([0-9.]+)\/(\d{1,2})$/;

/** The masquerade mark as kube-proxy computes it: 1 << --masquerade-bit, in hex. */
export function masqueradeMark(bit: number): string {
  if (!Number.isInteger(bit) || bit < 0 || bit > 31)
    throw new Error(`masqueradeBit ${bit} is not in [0, 31]`);
  return `0x${(2 ** bit).toString(16).padStart(8, "0")}`;
}

function checkOptions(options: ProxyRulesOptions): void {
  if (!TABLE_NAME.test(options.table) || options.table.length > 255)
    throw new Error(`table name ${JSON.stringify(options.table)} is not an nftables identifier`);
  const cidr = options.clusterCIDR;
  if (cidr !== undefined) {
    const m = CIDR.exec(cidr);
    if (m === null || !isIPv4(m[1]) || Number(m[2]) > 32)
      throw new Error(`clusterCIDR ${cidr} is not an IPv4 CIDR`);
  }
}

export function baseRuleset(options: ProxyRulesOptions): RulesetBuilder {
  checkOptions(options);
  const mark = masqueradeMark(options.masqueradeBit);
  const b = new RulesetBuilder(options.table);

  // Filter chains run before DNAT (dstnat - 10) to see the Service address. A ClusterIP without
  // usable endpoints is checked in prerouting and output, so a pod gets its REJECT before any
  // routing decision (the node may have no route for the Service range); kube 1.32 checks it in
  // input/forward/output, as older kernels refused `reject` in prerouting. NodePorts are checked
  // in input, as kube: after DNAT, so externalTrafficPolicy Local's short-circuited traffic passes.
  b.chain(FILTER_PREROUTING, "type filter hook prerouting priority -110; policy accept;");
  b.rule(FILTER_PREROUTING, `ct state new jump ${SERVICE_ENDPOINTS_CHECK_CHAIN}`);
  b.chain(FILTER_OUTPUT, "type filter hook output priority -110; policy accept;");
  b.rule(FILTER_OUTPUT, `ct state new jump ${SERVICE_ENDPOINTS_CHECK_CHAIN}`);
  b.chain(FILTER_INPUT, "type filter hook input priority -110; policy accept;");
  b.rule(FILTER_INPUT, `ct state new jump ${NODEPORT_ENDPOINTS_CHECK_CHAIN}`);
  // nft 1.0.6 refuses the "dstnat" keyword in the output hook: -100 is its value.
  b.chain(NAT_PREROUTING, "type nat hook prerouting priority -100; policy accept;");
  b.rule(NAT_PREROUTING, `jump ${SERVICES_CHAIN}`);
  b.chain(NAT_OUTPUT, "type nat hook output priority -100; policy accept;");
  b.rule(NAT_OUTPUT, `jump ${SERVICES_CHAIN}`);
  b.chain(NAT_POSTROUTING, "type nat hook postrouting priority 100; policy accept;");
  b.rule(NAT_POSTROUTING, `jump ${MASQUERADING_CHAIN}`);

  b.rule(MARK_MASQ_CHAIN, `meta mark set meta mark | ${mark}`);
  // Clear the bit before masquerading, so a packet re-entering the stack is not masqueraded twice.
  b.rule(MASQUERADING_CHAIN, `meta mark & ${mark} == 0 return`);
  b.rule(MASQUERADING_CHAIN, `meta mark set meta mark ^ ${mark}`);
  b.rule(MASQUERADING_CHAIN, "masquerade fully-random");
  // kube's reject-chain is a plain `reject` (ICMP port unreachable). A connect() from the node
  // itself (the output hook) then waits for its SYN to be sent again (a second here) before it
  // sees the refusal; a TCP reset refuses at once from anywhere. Other protocols keep ICMP.
  b.rule(REJECT_CHAIN, "meta l4proto tcp reject with tcp reset");
  b.rule(REJECT_CHAIN, "reject");

  const vipMap = "type ipv4_addr . inet_proto . inet_service : verdict";
  const portMap = "type inet_proto . inet_service : verdict";
  for (const [name, declaration] of [
    [SERVICE_IPS_MAP, vipMap],
    [SERVICE_NODEPORTS_MAP, portMap],
    [NO_ENDPOINT_SERVICES_MAP, vipMap],
    [NO_ENDPOINT_NODEPORTS_MAP, portMap],
  ] as const)
    b.set(name, { kind: "map", declaration, elements: [] });

  // NodePorts answer on every local address but loopback (kube without --nodeport-addresses).
  const nodePortMatch = "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport";
  b.rule(SERVICES_CHAIN, `ip daddr . meta l4proto . th dport vmap @${SERVICE_IPS_MAP}`);
  b.rule(SERVICES_CHAIN, `${nodePortMatch} vmap @${SERVICE_NODEPORTS_MAP}`);
  b.rule(
    SERVICE_ENDPOINTS_CHECK_CHAIN,
    `ip daddr . meta l4proto . th dport vmap @${NO_ENDPOINT_SERVICES_MAP}`,
  );
  b.rule(NODEPORT_ENDPOINTS_CHECK_CHAIN, `${nodePortMatch} vmap @${NO_ENDPOINT_NODEPORTS_MAP}`);
  return b;
}
