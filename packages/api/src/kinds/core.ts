/**
 * core/v1 kinds without a pod template: Namespace, ConfigMap, Secret, ServiceAccount, Event,
 * Node, Endpoints. (Pod is in pod.ts, Service in service.ts.)
 */
import type { KindDef } from "../kind.js";
import { type KubeObject, objectReferenceSchema, objectSchema, ownerReferenceSchema } from "../meta.js";
import { bool, enumOf, int32, list, mapOf, mergeList, obj, str, stringMap, strings } from "../schema.js";
import { column } from "../table.js";
import { dns1123Label, dns1123Subdomain, type FieldError, forbidden, invalid } from "../validation.js";
import { coreEventFields, eventTable } from "./events.js";
import { legacyValidateEvent } from "./events-validation.js";
import { asObj, type Json } from "./json.js";
import { nodeSpecSchema, nodeStatusSchema, nodeTable } from "./nodestatus.js";
import { conditionSchema } from "./podspec.js";

const count = (v: unknown) => Object.keys(asObj(v)).length;

const base = {
  group: "",
  version: "v1",
  categories: [] as string[],
  subresources: [] as KindDef["subresources"],
};

export const namespaceKind: KindDef = {
  ...base,
  kind: "Namespace",
  resource: "namespaces",
  singular: "namespace",
  namespaced: false,
  shortNames: ["ns"],
  description: "Namespace provides a scope for Names. Use of multiple namespaces is optional.",
  schema: objectSchema("Namespace provides a scope for Names.", {
    spec: obj({ finalizers: strings("Must be empty before the namespace is removed from storage.") }),
    status: obj({
      phase: enumOf(["Active", "Terminating"], "The current lifecycle phase of the namespace."),
      conditions: mergeList(conditionSchema, "type"),
    }),
  }),
  nameRule: dns1123Label,
  subresources: ["status"],
  hasStatus: true,
  defaults(ns) {
    const spec = asObj(ns.spec);
    spec.finalizers ??= ["kubernetes"];
    ns.spec = spec;
    const status = asObj(ns.status);
    status.phase ??= "Active";
    ns.status = status;
  },
  table: {
    columns: [column("Status", "The status of the namespace")],
    cells: (ns) => [(asObj(ns.status).phase as string | undefined) ?? "Active"],
  },
};

/** `immutable: true` ConfigMaps and Secrets refuse data changes (ValidateConfigMapUpdate). */
function immutableData(obj: KubeObject, old: KubeObject | undefined, fields: string[]): FieldError[] {
  if (old === undefined || old.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (obj.immutable !== true) errs.push(forbidden("immutable", "field is immutable when `immutable` is set"));
  for (const f of fields)
    if (JSON.stringify(obj[f] ?? {}) !== JSON.stringify(old[f] ?? {}))
      errs.push(forbidden(f, "field is immutable when `immutable` is set"));
  return errs;
}

export const configMapKind: KindDef = {
  ...base,
  kind: "ConfigMap",
  resource: "configmaps",
  singular: "configmap",
  namespaced: true,
  shortNames: ["cm"],
  description: "ConfigMap holds configuration data for pods to consume.",
  schema: objectSchema("ConfigMap holds configuration data for pods to consume.", {
    data: stringMap("Configuration data (UTF-8 strings)."),
    binaryData: mapOf(str(undefined, { format: "byte" }), "Binary configuration data (base64)."),
    immutable: bool("If true, data cannot be updated."),
  }),
  nameRule: dns1123Subdomain,
  hasStatus: false,
  validate(cm, old) {
    const errs = immutableData(cm, old, ["data", "binaryData"]);
    for (const k of [...Object.keys(asObj(cm.data)), ...Object.keys(asObj(cm.binaryData))])
      if (!/^[-._a-zA-Z0-9]+$/.test(k) || k.length > 253)
        errs.push(
          invalid(
            "data",
            k,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
          ),
        );
    return errs;
  },
  table: {
    columns: [column("Data", "Data contains the configuration data.")],
    cells: (cm) => [count(cm.data) + count(cm.binaryData)],
  },
};

export const secretKind: KindDef = {
  ...base,
  kind: "Secret",
  resource: "secrets",
  singular: "secret",
  namespaced: true,
  shortNames: [],
  description: "Secret holds secret data of a certain type.",
  schema: objectSchema("Secret holds secret data of a certain type.", {
    data: mapOf(str(undefined, { format: "byte" }), "Secret data, base64 encoded."),
    stringData: stringMap("Write-only convenience: merged into data on write."),
    type: str("Used to facilitate programmatic handling of secret data. Default Opaque."),
    immutable: bool("If true, data cannot be updated."),
  }),
  nameRule: dns1123Subdomain,
  hasStatus: false,
  defaults(s) {
    s.type ??= "Opaque";
    // stringData is write-only: merged into data (base64), as kube-apiserver's conversion does.
    const sd = asObj(s.stringData);
    if (Object.keys(sd).length > 0) {
      const data = asObj(s.data);
      for (const [k, v] of Object.entries(sd)) data[k] = Buffer.from(String(v)).toString("base64");
      s.data = data;
    }
    delete s.stringData;
  },
  validate(s, old) {
    const errs = immutableData(s, old, ["data"]);
    if (old !== undefined && old.type !== s.type) errs.push(invalid("type", s.type, "field is immutable"));
    for (const [k, v] of Object.entries(asObj(s.data)))
      if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v))
        errs.push(invalid(`data[${k}]`, "<secret contents redacted>", "illegal base64 data"));
    return errs;
  },
  table: {
    columns: [
      column("Type", "Used to facilitate programmatic handling of secret data."),
      column("Data", "Data contains the secret data."),
    ],
    cells: (s) => [s.type ?? "Opaque", count(s.data)],
  },
};

export const serviceAccountKind: KindDef = {
  ...base,
  kind: "ServiceAccount",
  resource: "serviceaccounts",
  singular: "serviceaccount",
  namespaced: true,
  shortNames: ["sa"],
  subresources: ["token"],
  description: "ServiceAccount binds together a name, a principal and a set of secrets.",
  schema: objectSchema("ServiceAccount binds together a name, a principal and a set of secrets.", {
    secrets: mergeList(
      obj({ name: str(), namespace: str(), kind: str(), apiVersion: str(), uid: str() }),
      "name",
    ),
    imagePullSecrets: list(obj({ name: str() })),
    automountServiceAccountToken: bool(),
  }),
  nameRule: dns1123Subdomain,
  hasStatus: false,
  table: {
    columns: [
      column(
        "Secrets",
        "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
      ),
    ],
    cells: (sa) => [((sa.secrets as unknown[] | undefined) ?? []).length],
  },
};

export const eventKind: KindDef = {
  ...base,
  kind: "Event",
  resource: "events",
  singular: "event",
  namespaced: true,
  shortNames: ["ev"],
  description: "Event is a report of an event somewhere in the cluster.",
  schema: objectSchema("Event is a report of an event somewhere in the cluster.", coreEventFields, [
    "involvedObject",
  ]),
  nameRule: dns1123Subdomain,
  hasStatus: false,
  // core/v1 writes get the legacy checks only (ValidateEventCreate/Update for v1).
  validate: (ev) => legacyValidateEvent(ev, "reportingComponent"),
  table: eventTable,
};

export const nodeKind: KindDef = {
  ...base,
  kind: "Node",
  resource: "nodes",
  singular: "node",
  namespaced: false,
  shortNames: ["no"],
  description: "Node is a worker node in Kubernetes.",
  schema: objectSchema("Node is a worker node.", { spec: nodeSpecSchema, status: nodeStatusSchema }),
  nameRule: dns1123Subdomain,
  subresources: ["status", "proxy"],
  hasStatus: true,
  table: nodeTable,
};

export const endpointsKind: KindDef = {
  ...base,
  kind: "Endpoints",
  resource: "endpoints",
  singular: "endpoints",
  namespaced: true,
  shortNames: ["ep"],
  description: "Endpoints is a collection of endpoints that implement the actual service.",
  schema: objectSchema("Endpoints is a collection of endpoints that implement the actual service.", {
    subsets: list(
      obj({
        addresses: list(
          obj({ ip: str(), hostname: str(), nodeName: str(), targetRef: objectReferenceSchema }),
        ),
        notReadyAddresses: list(
          obj({ ip: str(), hostname: str(), nodeName: str(), targetRef: objectReferenceSchema }),
        ),
        ports: list(obj({ name: str(), port: int32(), protocol: str(), appProtocol: str() })),
      }),
    ),
  }),
  nameRule: dns1123Subdomain,
  hasStatus: false,
  table: {
    columns: [column("Endpoints", "Endpoints")],
    cells(ep) {
      const addrs: string[] = [];
      for (const s of (ep.subsets as Json[] | undefined) ?? [])
        for (const a of (s.addresses as Json[] | undefined) ?? [])
          for (const p of (s.ports as Json[] | undefined) ?? [{ port: undefined }])
            addrs.push(p.port === undefined ? String(a.ip) : `${a.ip}:${p.port}`);
      return [
        addrs.length === 0
          ? "<none>"
          : addrs.slice(0, 3).join(",") + (addrs.length > 3 ? ` + ${addrs.length - 3} more...` : ""),
      ];
    },
  },
};

export { ownerReferenceSchema };
