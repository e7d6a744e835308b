/**
 * core/v1 ResourceQuota and LimitRange: resource names and quantities checked as
 * ValidateResourceQuota and ValidateLimitRange do; kubectl's columns (quota: AGE REQUEST LIMIT;
 * limit ranges: CREATED AT).
 */
import type { KindDef } from "../kind.js";
import { objectSchema } from "../meta.js";
import { parseQuantity } from "../quantity.js";
import { any, enumOf, list, mapOf, obj, quantity, strings } from "../schema.js";
import { age, ageColumn, column } from "../table.js";
import {
  dns1123Subdomain,
  type FieldError,
  forbidden,
  invalid,
  qualifiedName,
  required,
} from "../validation.js";
import { asList, asObj, type Json } from "./json.js";

// ---- resource names (pkg/apis/core/helper) ----

const standardResources = new Set([
  "cpu",
  "memory",
  "ephemeral-storage",
  "requests.cpu",
  "requests.memory",
  "requests.ephemeral-storage",
  "limits.cpu",
  "limits.memory",
  "limits.ephemeral-storage",
  "pods",
  "resourcequotas",
  "services",
  "replicationcontrollers",
  "secrets",
  "configmaps",
  "persistentvolumeclaims",
  "storage",
  "requests.storage",
  "services.nodeports",
  "services.loadbalancers",
]);
const standardQuotaResources = new Set([...standardResources].filter((r) => r !== "storage"));
const integerResources = new Set([
  "pods",
  "resourcequotas",
  "services",
  "replicationcontrollers",
  "secrets",
  "configmaps",
  "persistentvolumeclaims",
  "services.nodeports",
  "services.loadbalancers",
]);
const isHugePages = (n: string) => n.startsWith("hugepages-") || n.startsWith("requests.hugepages-");
const isNative = (n: string) => !n.includes("/") || n.includes("kubernetes.io/");
const isExtended = (n: string) =>
  !isNative(n) && !n.startsWith("requests.") && qualifiedName(`requests.${n}`).length === 0;

/** validateResourceName: a qualified name, standard unless prefixed. */
function validateResourceName(name: string, path: string): FieldError[] {
  const errs = qualifiedName(name).map((m) => invalid(path, name, m));
  if (errs.length > 0) return errs;
  if (!name.includes("/") && !standardResources.has(name) && !isHugePages(name))
    return [invalid(path, name, "must be a standard resource type or fully qualified")];
  return [];
}

/** ValidateResourceQuotaResourceName. */
function validateQuotaResourceName(name: string, path: string): FieldError[] {
  const errs = validateResourceName(name, path);
  if (!name.includes("/") && !standardQuotaResources.has(name) && !isHugePages(name))
    errs.push(invalid(path, name, "must be a standard resource for quota"));
  return errs;
}

/** A quantity's value, or the decoding error as a field error. */
function quantityAt(v: unknown, path: string, errs: FieldError[]): number | undefined {
  try {
    return parseQuantity(String(v));
  } catch (e) {
    errs.push(invalid(path, v, (e as Error).message));
    return undefined;
  }
}

/** ValidateResourceQuantityValue: non-negative; whole numbers for object counts. */
function validateQuantityValue(name: string, v: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const n = quantityAt(v, path, errs);
  if (n === undefined) return errs;
  if (n < 0) errs.push(invalid(path, v, "must be greater than or equal to 0"));
  if ((integerResources.has(name) || isExtended(name)) && Math.ceil(n * 1000) % 1000 !== 0)
    errs.push(invalid(path, v, "must be an integer"));
  return errs;
}

const quotaScopes = [
  "Terminating",
  "NotTerminating",
  "BestEffort",
  "NotBestEffort",
  "PriorityClass",
  "CrossNamespacePodAffinity",
  "VolumeAttributesClass",
];

const resourceList = (description?: string) => mapOf(quantity(), description);

export const resourceQuotaKind: KindDef = {
  group: "",
  version: "v1",
  kind: "ResourceQuota",
  resource: "resourcequotas",
  singular: "resourcequota",
  namespaced: true,
  shortNames: ["quota"],
  categories: [],
  description: "ResourceQuota sets aggregate quota restrictions enforced per namespace",
  schema: objectSchema("ResourceQuota sets aggregate quota restrictions enforced per namespace.", {
    spec: obj(
      {
        hard: resourceList("The desired hard limits for each named resource."),
        scopes: strings("Filters that must match each object tracked by a quota."),
        scopeSelector: any("Scope filters as selector expressions."),
      },
      "ResourceQuotaSpec defines the desired hard limits to enforce for Quota.",
    ),
    status: obj(
      {
        hard: resourceList("The enforced hard limits for each named resource."),
        used: resourceList("The current observed total usage of the resource in the namespace."),
      },
      "ResourceQuotaStatus defines the enforced hard limits and observed use.",
    ),
  }),
  nameRule: dns1123Subdomain,
  subresources: ["status"],
  hasStatus: true,
  validate(rq) {
    const spec = asObj(rq.spec);
    const errs: FieldError[] = [];
    for (const [k, v] of Object.entries(asObj(spec.hard))) {
      const path = `spec.hard[${k}]`;
      errs.push(...validateQuotaResourceName(k, path), ...validateQuantityValue(k, v, path));
    }
    const scopes = (spec.scopes as string[] | undefined) ?? [];
    if (scopes.some((s) => !quotaScopes.includes(s)))
      errs.push(invalid("spec.scopes", scopes, "unsupported scope"));
    if (
      (scopes.includes("Terminating") && scopes.includes("NotTerminating")) ||
      (scopes.includes("BestEffort") && scopes.includes("NotBestEffort"))
    )
      errs.push(invalid("spec.scopes", scopes, "conflicting scopes"));
    return errs;
  },
  table: {
    // kubectl: NAME AGE REQUEST LIMIT (AGE before the quota columns).
    noAge: true,
    columns: [
      ageColumn,
      column("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
      column(
        "Limit",
        "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
      ),
    ],
    cells(rq, now) {
      const spec = asObj(rq.spec);
      const status = asObj(rq.status);
      const used = asObj(status.used);
      // status.hard mirrors spec.hard once the quota controller has seen the quota.
      const hard = { ...asObj(spec.hard), ...asObj(status.hard) };
      const request: string[] = [];
      const limit: string[] = [];
      for (const r of Object.keys(asObj(spec.hard)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
        const text = `${r}: ${used[r] ?? "0"}/${hard[r] ?? "0"}`;
        (r.split(".")[0] === "limits" && r.includes(".") ? limit : request).push(text);
      }
      return [age(rq.metadata.creationTimestamp, now), request.join(", "), limit.join(", ")];
    },
  },
};

// ---- LimitRange ----

const limitTypes = ["Container", "Pod", "PersistentVolumeClaim"];
const containerResources = new Set(["cpu", "memory", "ephemeral-storage"]);

/** validateLimitRangeResourceName: container resources for Pod and Container limits. */
function validateLimitResourceName(type: unknown, name: string, path: string): FieldError[] {
  const errs = validateResourceName(name, path);
  if (type !== "Pod" && type !== "Container") return errs;
  if (!name.includes("/")) {
    if (!containerResources.has(name) && !name.startsWith("hugepages-"))
      errs.push(invalid(path, name, "must be a standard resource for containers"));
  } else if (!isNative(name) && !isExtended(name))
    errs.push(invalid(path, name, "doesn't follow extended resource name standard"));
  return errs;
}

function validateLimitRangeItem(limit: Json, path: string, errs: FieldError[]): void {
  const type = limit.type;
  const typeName = String(type ?? "");
  const typeErrs = qualifiedName(typeName).map((m) => invalid(`${path}.type`, type ?? "", m));
  if (typeErrs.length === 0 && !typeName.includes("/") && !limitTypes.includes(typeName))
    typeErrs.push(invalid(`${path}.type`, type, "must be a standard limit type or fully qualified"));
  errs.push(...typeErrs);
  const values: Record<string, Map<string, { text: string; value: number }>> = {};
  const fields = ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"];
  for (const f of fields) {
    const m = new Map<string, { text: string; value: number }>();
    values[f] = m;
    const entries = Object.entries(asObj(limit[f]));
    if (type === "Pod" && (f === "default" || f === "defaultRequest")) {
      if (entries.length > 0)
        errs.push(forbidden(`${path}.${f}`, "may not be specified when `type` is 'Pod'"));
      continue;
    }
    for (const [k, v] of entries) {
      const at = `${path}.${f}[${k}]`;
      errs.push(...validateLimitResourceName(type, k, at));
      const n = quantityAt(v, at, errs);
      if (n !== undefined) m.set(k, { text: String(v), value: n });
    }
  }
  const get = (f: string) => values[f] as Map<string, { text: string; value: number }>;
  if (type === "PersistentVolumeClaim" && !asObj(limit.min).storage && !asObj(limit.max).storage)
    errs.push(
      required(
        `${path}.limits`,
        "either minimum or maximum storage value is required, but neither was provided",
      ),
    );
  const keys = new Set(fields.flatMap((f) => [...get(f).keys()]));
  for (const k of keys) {
    const [max, min, def, req, ratio] = fields.map((f) => get(f).get(k));
    if (min && max && min.value > max.value)
      errs.push(
        invalid(`${path}.min[${k}]`, min.text, `min value ${min.text} is greater than max value ${max.text}`),
      );
    if (req && min && min.value > req.value)
      errs.push(
        invalid(
          `${path}.defaultRequest[${k}]`,
          req.text,
          `min value ${min.text} is greater than default request value ${req.text}`,
        ),
      );
    if (req && max && req.value > max.value)
      errs.push(
        invalid(
          `${path}.defaultRequest[${k}]`,
          req.text,
          `default request value ${req.text} is greater than max value ${max.text}`,
        ),
      );
    if (req && def && req.value > def.value)
      errs.push(
        invalid(
          `${path}.defaultRequest[${k}]`,
          req.text,
          `default request value ${req.text} is greater than default limit value ${def.text}`,
        ),
      );
    if (def && min && min.value > def.value)
      errs.push(
        invalid(
          `${path}.default[${k}]`,
          min.text,
          `min value ${min.text} is greater than default value ${def.text}`,
        ),
      );
    if (def && max && def.value > max.value)
      errs.push(
        invalid(
          `${path}.default[${k}]`,
          max.text,
          `default value ${def.text} is greater than max value ${max.text}`,
        ),
      );
    if (ratio && ratio.value < 1)
      errs.push(
        invalid(`${path}.maxLimitRequestRatio[${k}]`, ratio.text, `ratio ${ratio.text} is less than 1`),
      );
    if (ratio && min && max && ratio.value > max.value / min.value)
      errs.push(
        invalid(
          `${path}.maxLimitRequestRatio[${k}]`,
          ratio.text,
          `ratio ${ratio.text} is greater than max/min = ${(max.value / min.value).toFixed(6)}`,
        ),
      );
  }
}

export const limitRangeKind: KindDef = {
  group: "",
  version: "v1",
  kind: "LimitRange",
  resource: "limitranges",
  singular: "limitrange",
  namespaced: true,
  shortNames: ["limits"],
  categories: [],
  description: "LimitRange sets resource usage limits for each kind of resource in a Namespace.",
  schema: objectSchema("LimitRange sets resource usage limits for each kind of resource in a Namespace.", {
    spec: obj(
      {
        limits: list(
          obj(
            {
              type: enumOf(limitTypes, "Type of resource that this limit applies to."),
              max: resourceList("Max usage constraints on this kind by resource name."),
              min: resourceList("Min usage constraints on this kind by resource name."),
              default: resourceList("Default resource limit by resource name if omitted."),
              defaultRequest: resourceList("Default resource request by resource name if omitted."),
              maxLimitRequestRatio: resourceList("Max allowed limit/request ratio by resource name."),
            },
            "LimitRangeItem defines a min/max usage limit for any resource that matches on kind.",
            ["type"],
          ),
          "Limits is the list of LimitRangeItem objects that are enforced.",
        ),
      },
      "LimitRangeSpec defines a min/max usage limit for resources that match on kind.",
      ["limits"],
    ),
  }),
  nameRule: dns1123Subdomain,
  subresources: [],
  hasStatus: false,
  defaults(lr) {
    const spec = asObj(lr.spec);
    lr.spec = spec;
    for (const item of asList(spec.limits)) {
      if (item.type !== "Container") continue;
      // SetDefaults_LimitRangeItem: default from max, defaultRequest from default, then min.
      const def = { ...asObj(item.max), ...asObj(item.default) };
      const req = { ...asObj(item.min), ...def, ...asObj(item.defaultRequest) };
      if (Object.keys(def).length > 0) item.default = def;
      if (Object.keys(req).length > 0) item.defaultRequest = req;
    }
  },
  validate(lr) {
    const errs: FieldError[] = [];
    const seen = new Set<unknown>();
    asList(asObj(lr.spec).limits).forEach((limit, i) => {
      const path = `spec.limits[${i}]`;
      validateLimitRangeItem(limit, path, errs);
      if (seen.has(limit.type))
        errs.push({ type: "FieldValueDuplicate", field: `${path}.type`, detail: "", value: limit.type });
      seen.add(limit.type);
    });
    return errs;
  },
  table: {
    noAge: true,
    columns: [
      {
        name: "Created At",
        type: "date",
        format: "",
        description:
          "CreationTimestamp is a timestamp representing the server time when this object was created.",
        priority: 0,
      },
    ],
    cells: (lr) => [lr.metadata.creationTimestamp ?? null],
  },
};
