/**
 * discovery.k8s.io/v1 EndpointSlice: a subset of the endpoints that implement a service, with
 * kubectl's columns (ADDRESSTYPE PORTS ENDPOINTS).
 */
import { isIPv4, isIPv6 } from "node:net";
import type { KindDef } from "../kind.js";
import { objectReferenceSchema, objectSchema } from "../meta.js";
import { any, bool, enumOf, int32, list, obj, str, stringMap } from "../schema.js";
import { column } from "../table.js";
import {
  dns1123Label,
  dns1123Subdomain,
  type FieldError,
  invalid,
  notSupported,
  required,
} from "../validation.js";
import { asList } from "./json.js";
import { immutable } from "./templates.js";

/** sets.List order, as kube-apiserver prints the supported values. */
const addressTypes = ["FQDN", "IPv4", "IPv6"];
const protocols = ["SCTP", "TCP", "UDP"];

/** kubectl's listWithMoreString: the first 3, then `+ N more...`; <unset> when empty. */
function listWithMore(items: string[], max = 3): string {
  const text = items.slice(0, max).join(",");
  if (items.length > max) return `${text} + ${items.length - max} more...`;
  return text === "" ? "<unset>" : text;
}

function validateAddress(addressType: unknown, address: unknown, path: string): FieldError[] {
  const a = String(address);
  if (addressType === "IPv4")
    return isIPv4(a) ? [] : [invalid(path, address, "must be a valid IPv4 address")];
  if (addressType === "IPv6")
    return isIPv6(a) ? [] : [invalid(path, address, "must be a valid IPv6 address")];
  if (addressType === "FQDN") return dns1123Subdomain(a).map((m) => invalid(path, address, m));
  return [];
}

export const endpointSliceKind: KindDef = {
  group: "discovery.k8s.io",
  version: "v1",
  kind: "EndpointSlice",
  resource: "endpointslices",
  singular: "endpointslice",
  namespaced: true,
  shortNames: [],
  categories: [],
  description: "EndpointSlice represents a subset of the endpoints that implement a service.",
  schema: objectSchema(
    "EndpointSlice represents a subset of the endpoints that implement a service.",
    {
      addressType: enumOf(addressTypes, "The type of address carried by this EndpointSlice."),
      endpoints: list(
        obj(
          {
            addresses: list(str(), "Addresses of this endpoint, interpreted according to addressType."),
            conditions: obj(
              { ready: bool(), serving: bool(), terminating: bool() },
              "The current state of the endpoint.",
            ),
            hostname: str(),
            targetRef: objectReferenceSchema,
            deprecatedTopology: stringMap("Deprecated: use nodeName and zone."),
            nodeName: str("The Node hosting this endpoint."),
            zone: str("The name of the Zone this endpoint exists in."),
            hints: any("Information about how an endpoint should be consumed."),
          },
          "Endpoint represents a single logical backend implementing a service.",
          ["addresses"],
        ),
        "A list of unique endpoints in this slice.",
      ),
      ports: list(
        obj(
          {
            name: str("The name of this port."),
            protocol: enumOf(protocols, "Default TCP."),
            port: int32("The port number of the endpoint."),
            appProtocol: str("The application protocol for this port."),
          },
          "EndpointPort represents a Port used by an EndpointSlice.",
        ),
        "Network ports exposed by each endpoint in this slice.",
      ),
    },
    ["addressType", "endpoints"],
  ),
  nameRule: dns1123Subdomain,
  subresources: [],
  hasStatus: false,
  contentGeneration: true,
  defaults(es) {
    es.endpoints ??= [];
    for (const p of asList(es.ports)) {
      p.name ??= "";
      p.protocol ??= "TCP";
    }
  },
  validate(es, old) {
    const errs: FieldError[] = [];
    const at = es.addressType;
    if (at === undefined || at === "") errs.push(required("addressType"));
    else if (old === undefined && !addressTypes.includes(at as string))
      errs.push(notSupported("addressType", at, addressTypes));
    asList(es.endpoints).forEach((ep, i) => {
      const path = `endpoints[${i}]`;
      const addresses = (ep.addresses as unknown[] | undefined) ?? [];
      if (addresses.length === 0) errs.push(required(`${path}.addresses`, "must contain at least 1 address"));
      addresses.forEach((a, j) => {
        errs.push(...validateAddress(at, a, `${path}.addresses[${j}]`));
      });
      if (typeof ep.nodeName === "string")
        for (const m of dns1123Subdomain(ep.nodeName)) errs.push(invalid(`${path}.nodeName`, ep.nodeName, m));
    });
    const names = new Set<string>();
    asList(es.ports).forEach((p, i) => {
      const path = `ports[${i}]`;
      const name = (p.name as string | undefined) ?? "";
      if (name !== "") for (const m of dns1123Label(name)) errs.push(invalid(`${path}.name`, name, m));
      if (names.has(name))
        errs.push({ type: "FieldValueDuplicate", field: `${path}.name`, detail: "", value: name });
      names.add(name);
      if (p.protocol === undefined) errs.push(required(`${path}.protocol`));
      else if (!protocols.includes(p.protocol as string))
        errs.push(notSupported(`${path}.protocol`, p.protocol, protocols));
      if (p.port !== undefined && (typeof p.port !== "number" || p.port < 1 || p.port > 65535))
        errs.push(invalid(`${path}.port`, p.port, "must be between 1 and 65535, inclusive"));
    });
    if (old !== undefined) errs.push(...immutable(es.addressType, old.addressType, "addressType"));
    return errs;
  },
  table: {
    columns: [
      column("AddressType", "The type of address carried by this EndpointSlice."),
      column("Ports", "Network ports exposed by each endpoint in this slice."),
      column("Endpoints", "A list of unique endpoints in this slice."),
    ],
    cells(es) {
      const ports = asList(es.ports).map((p) =>
        p.port !== undefined ? String(p.port) : typeof p.name === "string" ? p.name : "*",
      );
      const addresses = asList(es.endpoints).flatMap((ep) => (ep.addresses as string[] | undefined) ?? []);
      return [es.addressType ?? "", listWithMore(ports), listWithMore(addresses)];
    },
  },
};
