/**
 * What the Proxier tests share: a tiny stand-in for the rule generation (one regular chain
 * `services` with a counter rule per Service port, valid nft text), a fake Nft that records the
 * texts it is given, a fake conntrack, and Service / EndpointSlice objects.
 */

import type { EndpointSlice, Service } from "../src/api-types.js";
import type { ConntrackFlow, ConntrackInterface } from "../src/proxier/conntrack.js";
import type { NftInterface } from "../src/proxier/nft.js";
import type { ProxyRules } from "../src/proxier/proxier.js";
import type { Ruleset, ServicePortInfo } from "../src/rules/types.js";

function servicePorts(services: readonly Service[], slices: readonly EndpointSlice[]): ServicePortInfo[] {
  const out: ServicePortInfo[] = [];
  for (const s of services) {
    for (const p of s.spec?.ports ?? []) {
      const endpoints: string[] = [];
      for (const sl of slices) {
        if (sl.metadata.namespace !== s.metadata.namespace) continue;
        if (sl.metadata.labels?.["kubernetes.io/service-name"] !== s.metadata.name) continue;
        const port = (sl.ports ?? []).find((q) => (q.name ?? "") === (p.name ?? ""));
        if (port?.port === undefined) continue;
        for (const e of sl.endpoints ?? [])
          if (e.conditions?.ready !== false) for (const a of e.addresses) endpoints.push(`${a}:${port.port}`);
      }
      out.push({
        name: `${s.metadata.namespace}/${s.metadata.name}:${p.name ?? ""}`,
        protocol: p.protocol ?? "TCP",
        clusterIP: s.spec?.clusterIP ?? "",
        port: p.port,
        ...(p.nodePort === undefined ? {} : { nodePort: p.nodePort }),
        endpoints,
      });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function ruleOf(p: ServicePortInfo): string {
  return `ip daddr ${p.clusterIP} ${p.protocol.toLowerCase()} dport ${p.port} counter comment "${p.name} ${p.endpoints.length}"`;
}

/** The fake rule generation; `calls` counts builds. */
export function fakeRules(): ProxyRules & { builds: number } {
  const r = {
    builds: 0,
    build(input: Parameters<ProxyRules["build"]>[0]): Ruleset {
      r.builds++;
      const ports = servicePorts(input.services, input.endpointSlices);
      return {
        table: input.options.table,
        chains: new Map([["services", ports.map(ruleOf)]]),
        sets: new Map(),
        servicePorts: ports,
      };
    },
    renderFull(rs: Ruleset): string {
      const body = (rs.chains.get("services") ?? []).map((l) => `\t\t${l}\n`).join("");
      return `table ip ${rs.table}\ndelete table ip ${rs.table}\ntable ip ${rs.table} {\n\tchain services {\n${body}\t}\n}\n`;
    },
    renderPartial(prev: Ruleset, next: Ruleset): string | undefined {
      const a = prev.chains.get("services") ?? [];
      const b = next.chains.get("services") ?? [];
      if (a.join("\n") === b.join("\n")) return undefined;
      return [
        `flush chain ip ${next.table} services`,
        ...b.map((l) => `add rule ip ${next.table} services ${l}`),
      ]
        .map((l) => `${l}\n`)
        .join("");
    },
  };
  return r;
}

/** Records every text; `failNext` makes the next load fail as nft would. */
export class FakeNft implements NftInterface {
  readonly loads: string[] = [];
  readonly deleted: string[] = [];
  failNext = 0;

  async load(text: string): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("nft -f - failed (exit 1): Error: Could not process rule: No such file or directory");
    }
    this.loads.push(text);
  }

  async deleteTable(family: string, name: string): Promise<void> {
    this.deleted.push(`${family} ${name}`);
  }
}

export class FakeConntrack implements ConntrackInterface {
  readonly flows: ConntrackFlow[] = [];
  async clearFlows(flows: readonly ConntrackFlow[]): Promise<number> {
    this.flows.push(...flows);
    return 0;
  }
}

export function service(
  name: string,
  clusterIP: string,
  ports: { name?: string; port: number; protocol?: "TCP" | "UDP"; nodePort?: number }[],
  namespace = "default",
): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace },
    spec: { type: "ClusterIP", clusterIP, clusterIPs: [clusterIP], ports },
  };
}

export function endpointSlice(
  service: string,
  addresses: string[],
  ports: { name?: string; port: number; protocol?: "TCP" | "UDP" }[],
  opts: { name?: string; namespace?: string; annotations?: Record<string, string> } = {},
): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: opts.name ?? `${service}-abcde`,
      namespace: opts.namespace ?? "default",
      labels: { "kubernetes.io/service-name": service },
      ...(opts.annotations === undefined ? {} : { annotations: opts.annotations }),
    },
    addressType: "IPv4",
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    ports,
  };
}
