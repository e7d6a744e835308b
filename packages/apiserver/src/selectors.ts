/**
 * Label selectors (k8s.io/apimachinery/pkg/labels: `a=b,c!=d,e in (f,g),h notin (i),j,!k`) and
 * field selectors (`metadata.name=x,spec.nodeName!=y`), parsed once per request and matched per
 * object. Unsupported field selector keys are a 400 as in kube-apiserver.
 */
import type { KubeObject } from "@skiff/api";
import { badRequest } from "./status.js";

export type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur.trim() !== "") out.push(cur);
  return out;
}

export function parseLabelSelector(s: string | undefined): Requirement[] {
  if (s === undefined || s.trim() === "") return [];
  return splitTop(s).map((part) => {
    const p = part.trim();
    let m = /^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/.exec(p);
    if (m !== null) {
      const values = (m[3] as string)
        .split(",")
        .map((v) => v.trim())
        .filter((v) => v !== "");
      return { key: m[1] as string, op: m[2] as "in" | "notin", values };
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(p);
    if (m !== null) return { key: m[1] as string, op: m[2] === "!=" ? "!=" : "=", value: m[3] as string };
    m = /^!\s*(\S+)$/.exec(p);
    if (m !== null) return { key: m[1] as string, op: "!exists" };
    if (/^[A-Za-z0-9][-A-Za-z0-9_./]*$/.test(p)) return { key: p, op: "exists" };
    throw badRequest(`unable to parse requirement: found '${p}', expected: identifier`);
  });
}

export function matchesLabels(
  reqs: readonly Requirement[],
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  return reqs.every((r): boolean => {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case "=":
        return has && v === r.value;
      case "!=":
        return !has || v !== r.value;
      case "in":
        return has && r.values.includes(v as string);
      case "notin":
        return !has || !r.values.includes(v as string);
      case "exists":
        return has;
      default:
        return !has; // "!exists"
    }
  });
}

export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

/** Field selectors kube-apiserver supports, per resource (metadata.* on every kind). */
const extraFields: Record<string, string[]> = {
  pods: [
    "spec.nodeName",
    "spec.hostNetwork",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
  ],
  events: [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
  ],
  secrets: ["type"],
  services: ["spec.clusterIP", "spec.type"],
  nodes: ["spec.unschedulable"],
  namespaces: ["status.phase"],
  replicasets: ["status.replicas"],
};

export function parseFieldSelector(s: string | undefined, resource: string): FieldRequirement[] {
  if (s === undefined || s.trim() === "") return [];
  const allowed = ["metadata.name", "metadata.namespace", ...(extraFields[resource] ?? [])];
  return s.split(",").map((part) => {
    const m = /^\s*([^=!]+?)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (m === null) throw badRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    const field = m[1] as string;
    if (!allowed.includes(field))
      // A kind with its own field label conversion (kube: AddFieldLabelConversionFunc) words it so;
      // the others get the default metadata-only conversion's message.
      throw badRequest(
        extraFields[resource] !== undefined
          ? `field label not supported: ${field}`
          : `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
      );
    return { field, op: m[2] === "!=" ? "!=" : "=", value: m[3] as string };
  });
}

/** Fields whose selectable value is not the plain field (kube's ToSelectableFields per kind). */
const computed: Record<string, (obj: KubeObject) => string> = {
  source: (o) => String((o.source as Record<string, unknown>)?.component ?? ""),
  // bools default to false; the pod IP is the first of status.podIPs.
  "spec.unschedulable": (o) => String((o.spec as { unschedulable?: boolean })?.unschedulable === true),
  "spec.hostNetwork": (o) =>
    String(
      (o.spec as { hostNetwork?: boolean; securityContext?: { hostNetwork?: boolean } })?.hostNetwork ===
        true,
    ),
  "status.podIP": (o) => {
    const st = o.status as { podIP?: string; podIPs?: { ip?: string }[] } | undefined;
    return st?.podIPs?.[0]?.ip ?? st?.podIP ?? "";
  },
};

function fieldValue(obj: KubeObject, field: string): string {
  const f = computed[field];
  if (f !== undefined && (field !== "source" || obj.kind === "Event")) return f(obj);
  let v: unknown = obj;
  for (const p of field.split("."))
    v = typeof v === "object" && v !== null ? (v as Record<string, unknown>)[p] : undefined;
  return v === undefined || v === null ? "" : String(v);
}

export function matchesFields(reqs: readonly FieldRequirement[], obj: KubeObject): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === "="));
}
