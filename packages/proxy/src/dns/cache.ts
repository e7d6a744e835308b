/**
 * The DnsStore behind the cluster DNS: the caches of a Service informer and an EndpointSlice
 * informer (all namespaces), with the indexes CoreDNS's dnsControl keeps (object/informer.go:
 * services by namespace/name and by ClusterIP, endpoint slices by their Service), and the time of
 * the last change as the SOA serial (dnsControl.Modified).
 */
import type { Informer } from "@skiff/client";
import { type EndpointSlice, SERVICE_NAME_LABEL, type Service } from "../api-types.js";
import type { DnsStore } from "./records.js";

/** EndpointSlices by "<namespace>/<kubernetes.io/service-name>". */
export const SLICE_SERVICE_INDEX = "dnsService";
/** Services by each of their ClusterIPs. */
export const SERVICE_IP_INDEX = "dnsClusterIP";

export interface DnsCacheOptions {
  clusterDomain: string;
  /** The kube-dns Service's IP, the address of the zone's nameserver. */
  nameserverIP?: string;
  /** For the SOA serial; default Date.now. */
  now?: () => number;
}

export class DnsCache implements DnsStore {
  readonly clusterDomain: string;
  readonly nameserverIP: string | undefined;
  private modified: number;
  private readonly now: () => number;

  constructor(
    private readonly services: Informer<Service>,
    private readonly slices: Informer<EndpointSlice>,
    opts: DnsCacheOptions,
  ) {
    this.clusterDomain = opts.clusterDomain;
    this.nameserverIP = opts.nameserverIP;
    this.now = opts.now ?? Date.now;
    this.modified = this.unixNow();
    services.addIndexers({
      [SERVICE_IP_INDEX]: (s) => {
        const ips = s.spec?.clusterIPs ?? (s.spec?.clusterIP === undefined ? [] : [s.spec.clusterIP]);
        return ips.filter((ip) => ip !== "" && ip !== "None");
      },
    });
    slices.addIndexers({
      [SLICE_SERVICE_INDEX]: (e) => {
        const svc = e.metadata.labels?.[SERVICE_NAME_LABEL];
        return svc === undefined ? [] : [`${e.metadata.namespace}/${svc}`];
      },
    });
    const touch = { onAdd: () => this.touch(), onUpdate: () => this.touch(), onDelete: () => this.touch() };
    services.addEventHandler(touch);
    slices.addEventHandler(touch);
  }

  private unixNow(): number {
    return Math.floor(this.now() / 1000);
  }

  private touch(): void {
    this.modified = this.unixNow();
  }

  service(namespace: string, name: string): Service | undefined {
    return this.services.get(`${namespace}/${name}`);
  }

  endpointSlices(namespace: string, name: string): readonly EndpointSlice[] {
    return this.slices.indexer.byIndex(SLICE_SERVICE_INDEX, `${namespace}/${name}`);
  }

  servicesByClusterIP(ip: string): readonly Service[] {
    return this.services.indexer.byIndex(SERVICE_IP_INDEX, ip);
  }

  serial(): number {
    return this.modified;
  }
}
