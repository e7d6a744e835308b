/**
 * Service links: the Docker-links-style variables kube's pkg/kubelet/envvars (FromServices)
 * makes for each Service with a cluster IP, and the kubelet's choice of Services
 * (getServiceEnvVarMap): those of the pod's namespace when enableServiceLinks, and always the
 * master Service "kubernetes" of the master namespace.
 */
import type { KubeObject } from "@skiff/api";
import type { EnvVarValue } from "./expansion.js";

export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
}

export interface Service extends KubeObject {
  spec?: { clusterIP?: string; ports?: ServicePort[]; [field: string]: unknown };
}

const MASTER_SERVICE = "kubernetes";

/** makeEnvVariableName: upper case, "-" becomes "_". */
const envName = (s: string) => s.toUpperCase().replaceAll("-", "_");

/** IsServiceIPSet: a cluster IP that is neither "" nor "None". */
const isServiceIPSet = (s: Service) => {
  const ip = s.spec?.clusterIP;
  return ip !== undefined && ip !== "" && ip !== "None";
};

/** net.JoinHostPort: IPv6 addresses in brackets. */
const joinHostPort = (host: string, port: number) =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;

/** FromServices: _SERVICE_HOST, _SERVICE_PORT, _SERVICE_PORT_<NAME>, then the link variables. */
export function fromServices(services: readonly Service[]): EnvVarValue[] {
  const out: EnvVarValue[] = [];
  for (const s of services) {
    const ports = s.spec?.ports ?? [];
    if (!isServiceIPSet(s) || ports.length === 0) continue;
    const ip = s.spec?.clusterIP as string;
    const prefix = envName(s.metadata.name ?? "");
    out.push({ name: `${prefix}_SERVICE_HOST`, value: ip });
    out.push({ name: `${prefix}_SERVICE_PORT`, value: String(ports[0]?.port) });
    for (const p of ports)
      if (p.name !== undefined && p.name !== "")
        out.push({ name: `${prefix}_SERVICE_PORT_${envName(p.name)}`, value: String(p.port) });
    out.push(...makeLinkVariables(prefix, ip, ports));
  }
  return out;
}

/** makeLinkVariables: <P>_PORT for the first port, <P>_PORT_<port>_<PROTO>{,_PROTO,_PORT,_ADDR}. */
function makeLinkVariables(prefix: string, ip: string, ports: readonly ServicePort[]): EnvVarValue[] {
  const out: EnvVarValue[] = [];
  ports.forEach((p, i) => {
    const protocol = p.protocol === undefined || p.protocol === "" ? "TCP" : p.protocol;
    const url = `${protocol.toLowerCase()}://${joinHostPort(ip, p.port)}`;
    if (i === 0) out.push({ name: `${prefix}_PORT`, value: url });
    const portPrefix = `${prefix}_PORT_${p.port}_${protocol.toUpperCase()}`;
    out.push(
      { name: portPrefix, value: url },
      { name: `${portPrefix}_PROTO`, value: protocol.toLowerCase() },
      { name: `${portPrefix}_PORT`, value: String(p.port) },
      { name: `${portPrefix}_ADDR`, value: ip },
    );
  });
  return out;
}

/**
 * getServiceEnvVarMap: the Services whose variables a pod of `namespace` sees, by name (one of
 * the pod's namespace named "kubernetes" takes the master's place), then their variables.
 */
export function serviceEnvVars(
  services: readonly Service[],
  namespace: string,
  masterServiceNamespace: string,
  enableServiceLinks: boolean,
): Map<string, string> {
  const byName = new Map<string, Service>();
  if (enableServiceLinks)
    for (const s of services)
      if (s.metadata.namespace === namespace && isServiceIPSet(s)) byName.set(s.metadata.name ?? "", s);
  for (const s of services)
    if (
      s.metadata.namespace === masterServiceNamespace &&
      s.metadata.name === MASTER_SERVICE &&
      isServiceIPSet(s) &&
      !byName.has(MASTER_SERVICE)
    )
      byName.set(MASTER_SERVICE, s);
  const sorted = [...byName.keys()].sort().map((k) => byName.get(k) as Service);
  return new Map(fromServices(sorted).map((e) => [e.name, e.value]));
}
