/**
 * The cluster DNS's answers, as CoreDNS's kubernetes plugin gives them (plugin/kubernetes:
 * parse.go's parseRequest, kubernetes.go's findServices and findPods, handler.go's ServeDNS) under
 * the Kubernetes DNS specification (kubernetes/dns docs/specification.md, schema 1.1.0). Pure:
 * a question and a view of the Services and EndpointSlices in, the sections of the reply out.
 *
 * Names are matched case-insensitively (Kubernetes names are lower case, DNS names are not);
 * answers carry the owner name as asked. Pods are answered as CoreDNS's "pods insecure" mode:
 * `<a-b-c-d>.<ns>.pod.<zone>` is a.b.c.d whether or not such a pod exists.
 */
import { isIPv4, isIPv6 } from "node:net";
import type { Answer, SoaAnswer } from "dns-packet";
import type { EndpointSlice, Service } from "../api-types.js";

/** CoreDNS's kubernetes plugin defaultTTL. */
export const DEFAULT_TTL = 5;
/** kubernetes.go's DNSSchemaVersion, answered for `dns-version.<zone>` TXT. */
export const DNS_SCHEMA_VERSION = "1.1.0";

/** What the answers are computed from: the informers' caches (cache.ts) or a test's table. */
export interface DnsStore {
  /** The zone, e.g. "cluster.local" (no trailing dot). */
  readonly clusterDomain: string;
  /** The kube-dns Service's IP: the address of `ns.dns.<zone>`, the zone's NS. */
  readonly nameserverIP: string | undefined;
  service(namespace: string, name: string): Service | undefined;
  /** The EndpointSlices labelled kubernetes.io/service-name=<name> in the namespace. */
  endpointSlices(namespace: string, name: string): readonly EndpointSlice[];
  /** The Services with this ClusterIP (reverse lookups). */
  servicesByClusterIP(ip: string): readonly Service[];
  /** The SOA serial: CoreDNS gives the time (Unix seconds) of the last change it saw. */
  serial(): number;
}

/** The rcodes an answer can have (FORMERR, NOTIMP and SERVFAIL come from server.ts). */
export type LookupRcode = "NOERROR" | "NXDOMAIN" | "REFUSED";

export interface Lookup {
  rcode: LookupRcode;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

/** One address a name stands for, with the port and SRV target it came with (CoreDNS's msg.Service). */
interface Target {
  ip: string;
  /** Undefined for a headless Service whose EndpointSlices carry no ports. */
  port: number | undefined;
  /** The SRV target: the Service's name, or the endpoint's under it. */
  host: string;
}

/** parse.go's recordRequest: the labels of a name under `svc` or `pod`. */
interface RecordRequest {
  podOrSvc: "svc" | "pod";
  namespace: string;
  service: string;
  endpoint: string;
  port: string;
  protocol: string;
}

const result = (rcode: LookupRcode, answers: Answer[] = [], additionals: Answer[] = []): Lookup => ({
  rcode,
  answers,
  authorities: [],
  additionals,
});

/** The zone's SOA, as CoreDNS's plugin.SOA builds it (ns.dns and hostmaster under the zone). */
export function soaRecord(store: DnsStore): SoaAnswer {
  const zone = store.clusterDomain.toLowerCase();
  return {
    type: "SOA",
    name: zone,
    ttl: DEFAULT_TTL,
    data: {
      mname: `ns.dns.${zone}`,
      rname: `hostmaster.${zone}`,
      serial: store.serial() >>> 0,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: DEFAULT_TTL,
    },
  };
}

/** NXDOMAIN or NODATA: no answer, the zone's SOA in the authority section (plugin.BackendError). */
function negative(rcode: "NOERROR" | "NXDOMAIN", store: DnsStore): Lookup {
  return { rcode, answers: [], authorities: [soaRecord(store)], additionals: [] };
}

/** The answer to one question. qname as decoded (no trailing dot), qtype as dns-packet names it. */
export function lookup(qname: string, qtype: string, store: DnsStore): Lookup {
  const name = qname.toLowerCase().replace(/\.$/, "");
  const zone = store.clusterDomain.toLowerCase().replace(/\.$/, "");
  if (name.endsWith(".in-addr.arpa")) return reverse(qname, name, qtype, store);
  // Nothing outside the cluster domain: the machine has no resolver to forward to.
  if (name !== zone && !name.endsWith(`.${zone}`)) return result("REFUSED");
  const base = name === zone ? "" : name.slice(0, name.length - zone.length - 1);
  if (base === "") return apex(qname, qtype, store);
  if (base === "dns-version") {
    if (qtype !== "TXT") return negative("NOERROR", store);
    return result("NOERROR", [{ type: "TXT", name: qname, ttl: 28800, data: DNS_SCHEMA_VERSION }]);
  }
  if (base === "ns.dns") return addressAnswer(qname, qtype, store.nameserverIP, store);
  const r = parseRequest(base);
  if (r === "nodata") return negative("NOERROR", store);
  if (r === undefined) return negative("NXDOMAIN", store);
  if (r.podOrSvc === "pod") return podAnswer(qname, qtype, r, store);
  return serviceAnswer(qname, qtype, r, zone, store);
}

/** The apex: SOA and NS (with the nameserver's address as glue); NODATA for the rest. */
function apex(qname: string, qtype: string, store: DnsStore): Lookup {
  const zone = store.clusterDomain.toLowerCase();
  if (qtype === "SOA") return result("NOERROR", [{ ...soaRecord(store), name: qname }]);
  if (qtype === "NS") {
    const ns = `ns.dns.${zone}`;
    const glue: Answer[] =
      store.nameserverIP === undefined ? [] : [addressRecord(ns, store.nameserverIP, DEFAULT_TTL)];
    return result("NOERROR", [{ type: "NS", name: qname, ttl: DEFAULT_TTL, data: ns }], glue);
  }
  return negative("NOERROR", store);
}

function addressRecord(name: string, ip: string, ttl: number): Answer {
  return { type: isIPv4(ip) ? "A" : "AAAA", name, ttl, data: ip };
}

/** A name that stands for one address: A or AAAA as it is, NODATA for other types. */
function addressAnswer(qname: string, qtype: string, ip: string | undefined, store: DnsStore): Lookup {
  if (ip === undefined) return negative("NXDOMAIN", store);
  const family = isIPv4(ip) ? "A" : "AAAA";
  if (qtype !== family) return negative("NOERROR", store);
  return result("NOERROR", [addressRecord(qname, ip, DEFAULT_TTL)]);
}

/**
 * parse.go's parseRequest over the labels left of the zone: `[_port._proto.|endpoint.]service.
 * namespace.(svc|pod)`. "nodata" for the empty non-terminals (`svc`, `<ns>.svc`), undefined for
 * a name that cannot exist (NXDOMAIN). Any namespace counts as existing, as CoreDNS without a
 * namespace filter.
 */
function parseRequest(base: string): RecordRequest | "nodata" | undefined {
  const segs = base.split(".");
  const podOrSvc = segs.pop();
  if (podOrSvc !== "svc" && podOrSvc !== "pod") return undefined;
  const namespace = segs.pop();
  const service = segs.pop();
  if (namespace === undefined || service === undefined) return "nodata";
  const r: RecordRequest = { podOrSvc, namespace, service, endpoint: "", port: "", protocol: "" };
  if (segs.length === 1) r.endpoint = segs[0] ?? "";
  else if (segs.length === 2) {
    r.port = stripUnderscore(segs[0] ?? "");
    r.protocol = stripUnderscore(segs[1] ?? "");
  } else if (segs.length > 2) return undefined;
  return r;
}

const stripUnderscore = (s: string): string => (s.startsWith("_") ? s.slice(1) : s);

/** findPods in "insecure" mode: the address spelled by the first label, if it is one. */
function podAnswer(qname: string, qtype: string, r: RecordRequest, store: DnsStore): Lookup {
  if (r.endpoint !== "" || r.port !== "") return negative("NXDOMAIN", store);
  const label = r.service;
  const ip =
    (label.match(/-/g)?.length ?? 0) === 3 && !label.includes("--")
      ? label.replaceAll("-", ".")
      : label.replaceAll("-", ":");
  if (!isIPv4(ip) && !isIPv6(ip)) return negative("NXDOMAIN", store);
  return addressAnswer(qname, qtype, ip, store);
}

/** kubernetes.go's endpointHostname: the endpoint's hostname, else its address with dashes. */
export function endpointHostname(hostname: string | undefined, ip: string): string {
  if (hostname !== undefined && hostname !== "") return hostname;
  return ip.replaceAll(".", "-").replaceAll(":", "-");
}

/** matchPortAndProtocol: an empty request label matches anything. */
function portMatches(r: RecordRequest, name: string | undefined, protocol: string | undefined): boolean {
  const portOk = r.port === "" || r.port === (name ?? "").toLowerCase();
  const protoOk = r.protocol === "" || r.protocol === (protocol ?? "TCP").toLowerCase();
  return portOk && protoOk;
}

function isHeadless(svc: Service): boolean {
  return svc.spec?.clusterIP === "None";
}

/** findServices: the addresses (with ports and SRV targets) a name under `svc` stands for. */
function serviceTargets(r: RecordRequest, svc: Service, zone: string, store: DnsStore): Target[] {
  const svcHost = `${svc.metadata.name}.${svc.metadata.namespace}.svc.${zone}`;
  const out: Target[] = [];
  if (isHeadless(svc) || r.endpoint !== "") {
    for (const slice of store.endpointSlices(svc.metadata.namespace, svc.metadata.name)) {
      if (slice.addressType === "FQDN") continue;
      // CoreDNS adds a port-less sentinel when a slice has no ports, so its addresses still answer A.
      const ports = slice.ports?.length ? slice.ports : [{ name: "", protocol: undefined, port: undefined }];
      for (const ep of slice.endpoints ?? []) {
        // As CoreDNS's EndpointSliceToEndpoints: only ready endpoints (an unset ready means ready).
        if (ep.conditions?.ready === false) continue;
        for (const ip of ep.addresses) {
          const host = endpointHostname(ep.hostname, ip).toLowerCase();
          if (r.endpoint !== "" && r.endpoint !== host) continue;
          for (const p of ports) {
            if (!portMatches(r, p.name, p.protocol)) continue;
            out.push({ ip, port: p.port, host: `${host}.${svcHost}` });
          }
        }
      }
    }
    return out;
  }
  const ips = svc.spec?.clusterIPs?.length ? svc.spec.clusterIPs : [svc.spec?.clusterIP ?? ""];
  for (const p of svc.spec?.ports ?? []) {
    if (!portMatches(r, p.name, p.protocol)) continue;
    for (const ip of ips) if (isIPv4(ip) || isIPv6(ip)) out.push({ ip, port: p.port, host: svcHost });
  }
  return out;
}

function serviceAnswer(
  qname: string,
  qtype: string,
  r: RecordRequest,
  zone: string,
  store: DnsStore,
): Lookup {
  const svc = store.service(r.namespace, r.service);
  if (svc === undefined) return negative("NXDOMAIN", store);
  if (svc.spec?.type === "ExternalName") return externalName(qname, qtype, r, svc, store);
  const targets = serviceTargets(r, svc, zone, store);
  // errNoItems: a Service whose name matches but which stands for no address does not exist.
  if (targets.length === 0) return negative("NXDOMAIN", store);
  if (qtype === "A" || qtype === "AAAA") {
    const family = qtype === "A" ? isIPv4 : isIPv6;
    const ips = [...new Set(targets.map((t) => t.ip).filter((ip) => family(ip)))];
    if (ips.length === 0) return negative("NOERROR", store);
    return result(
      "NOERROR",
      ips.map((ip) => addressRecord(qname, ip, DEFAULT_TTL)),
    );
  }
  if (qtype === "SRV") return srvAnswer(qname, targets, store);
  return negative("NOERROR", store);
}

/** plugin.SRV: one SRV per (target, port), weight 100 shared equally, the targets' addresses as extra. */
function srvAnswer(qname: string, targets: Target[], store: DnsStore): Lookup {
  const seen = new Set<string>();
  const unique = targets.filter((t) => {
    const key = `${t.host}|${t.port}`;
    if (t.port === undefined || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (unique.length === 0) return negative("NOERROR", store);
  const weight = Math.max(1, Math.floor(100 / unique.length));
  const answers: Answer[] = unique.map((t) => ({
    type: "SRV",
    name: qname,
    ttl: DEFAULT_TTL,
    data: { priority: 0, weight, port: t.port ?? 0, target: t.host },
  }));
  const extraSeen = new Set<string>();
  const additionals: Answer[] = [];
  for (const t of targets) {
    const key = `${t.host}|${t.ip}`;
    if (extraSeen.has(key)) continue;
    extraSeen.add(key);
    additionals.push(addressRecord(t.host, t.ip, DEFAULT_TTL));
  }
  return result("NOERROR", answers, additionals);
}

/**
 * An ExternalName Service is a CNAME to its externalName (CoreDNS leaves following it to the
 * client's resolver; Skiff has no upstream to chase it with). No endpoints under it, no SRV; an
 * externalName that is an address is not a name and answers nothing (HostType is not CNAME).
 */
function externalName(qname: string, qtype: string, r: RecordRequest, svc: Service, store: DnsStore): Lookup {
  const target = (svc.spec?.externalName ?? "").replace(/\.$/, "");
  if (r.endpoint !== "" || target === "" || isIPv4(target) || isIPv6(target))
    return negative("NXDOMAIN", store);
  if (qtype !== "A" && qtype !== "AAAA" && qtype !== "CNAME") return negative("NOERROR", store);
  return result("NOERROR", [{ type: "CNAME", name: qname, ttl: DEFAULT_TTL, data: target }]);
}

/**
 * PTR for a Service's ClusterIP (`d.c.b.a.in-addr.arpa` -> `<svc>.<ns>.svc.<zone>`), as CoreDNS's
 * reverse.go. Any other reverse name is not Skiff's to answer: REFUSED, as names outside the zone.
 */
function reverse(qname: string, name: string, qtype: string, store: DnsStore): Lookup {
  const labels = name.slice(0, -".in-addr.arpa".length).split(".");
  const ip = labels.reverse().join(".");
  if (labels.length !== 4 || !isIPv4(ip)) return result("REFUSED");
  const services = store.servicesByClusterIP(ip);
  if (services.length === 0) return result("REFUSED");
  if (qtype !== "PTR") return result("NOERROR");
  const zone = store.clusterDomain.toLowerCase();
  return result(
    "NOERROR",
    services.map((s) => ({
      type: "PTR",
      name: qname,
      ttl: DEFAULT_TTL,
      data: `${s.metadata.name}.${s.metadata.namespace}.svc.${zone}`,
    })),
  );
}
