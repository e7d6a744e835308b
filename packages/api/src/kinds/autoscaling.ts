/**
 * autoscaling/v2 HorizontalPodAutoscaler (with a status subresource): v2's defaults (minReplicas
 * 1, an 80% CPU target when no metric is given, scaling behavior rules) and kube's printer.
 */
import type { KindDef } from "../kind.js";
import { objectSchema } from "../meta.js";
import { any, int32, int64, list, mergeList, obj, str, time } from "../schema.js";
import { column } from "../table.js";
import { dns1123Subdomain, type FieldError, invalid, required } from "../validation.js";
import { asList, asObj, type Json, text } from "./json.js";
import { conditionSchema } from "./podspec.js";

const policy = obj({ type: str(), value: int32(), periodSeconds: int32() });
const rules = obj({
  stabilizationWindowSeconds: int32(),
  selectPolicy: str(),
  policies: list(policy),
  tolerance: str(),
});

const scaleUpDefault = {
  stabilizationWindowSeconds: 0,
  selectPolicy: "Max",
  policies: [
    { type: "Pods", value: 4, periodSeconds: 15 },
    { type: "Percent", value: 100, periodSeconds: 15 },
  ],
};
const scaleDownDefault = {
  stabilizationWindowSeconds: 300,
  selectPolicy: "Max",
  policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
};

/** SetDefaults_HorizontalPodAutoscalerBehavior: missing rules and rule fields from the defaults. */
function defaultRules(r: unknown, d: Json): Json {
  const out = { ...asObj(r) };
  for (const [k, v] of Object.entries(d)) out[k] ??= v;
  return out;
}

/** formatHPAMetrics: the first two metrics as `current/target`. */
function targets(specs: Json[], statuses: Json[]): string {
  if (specs.length === 0) return "<none>";
  const list = specs.map((spec, i) => {
    const key = text(spec.type ?? "");
    const field = key.charAt(0).toLowerCase() + key.slice(1);
    const src = asObj(spec[field]);
    const target = asObj(src.target);
    const cur = asObj(asObj(statuses[i]?.[field]).current);
    switch (spec.type) {
      case "Resource":
      case "ContainerResource": {
        const name = text(src.name ?? "");
        if (target.averageValue !== undefined)
          return `${name}: ${text(cur.averageValue) || "<unknown>"}/${text(target.averageValue)}`;
        const now = cur.averageUtilization !== undefined ? `${text(cur.averageUtilization)}%` : "<unknown>";
        const want =
          target.averageUtilization !== undefined ? `${text(target.averageUtilization)}%` : "<auto>";
        return `${name}: ${now}/${want}`;
      }
      case "Pods":
        return `${text(cur.averageValue) || "<unknown>"}/${text(target.averageValue)}`;
      case "Object":
      case "External": {
        const avg = target.averageValue !== undefined;
        const now = text(avg ? cur.averageValue : cur.value) || "<unknown>";
        return `${now}/${avg ? `${text(target.averageValue)} (avg)` : text(target.value)}`;
      }
      default:
        return "<unknown type>";
    }
  });
  return list.length > 2 ? `${list.slice(0, 2).join(", ")} + ${list.length - 2} more...` : list.join(", ");
}

export const horizontalPodAutoscalerKind: KindDef = {
  group: "autoscaling",
  version: "v2",
  kind: "HorizontalPodAutoscaler",
  resource: "horizontalpodautoscalers",
  singular: "horizontalpodautoscaler",
  namespaced: true,
  shortNames: ["hpa"],
  categories: ["all"],
  description:
    "HorizontalPodAutoscaler is the configuration for a horizontal pod autoscaler, which automatically manages the replica count of any resource implementing the scale subresource.",
  schema: objectSchema("HorizontalPodAutoscaler is the configuration for a horizontal pod autoscaler.", {
    spec: obj({
      scaleTargetRef: obj({ kind: str(), name: str(), apiVersion: str() }, "The target resource to scale."),
      minReplicas: int32("The lower limit for the number of replicas."),
      maxReplicas: int32("The upper limit for the number of replicas."),
      metrics: list(any(), "The specifications for which to use to calculate the desired replica count."),
      behavior: obj({ scaleUp: rules, scaleDown: rules }, "Scaling behavior in the up and down directions."),
    }),
    status: obj({
      observedGeneration: int64(),
      lastScaleTime: time(),
      currentReplicas: int32(),
      desiredReplicas: int32(),
      currentMetrics: list(any()),
      conditions: mergeList(conditionSchema, "type"),
    }),
  }),
  nameRule: dns1123Subdomain,
  subresources: ["status"],
  hasStatus: true,
  defaults(hpa) {
    const spec = asObj(hpa.spec);
    spec.minReplicas ??= 1;
    if (asList(spec.metrics).length === 0)
      spec.metrics = [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
        },
      ];
    if (spec.behavior !== undefined && spec.behavior !== null) {
      const b = asObj(spec.behavior);
      spec.behavior = {
        scaleUp: defaultRules(b.scaleUp, scaleUpDefault),
        scaleDown: defaultRules(b.scaleDown, scaleDownDefault),
      };
    }
    hpa.spec = spec;
    // v2's desiredReplicas is not omitempty: a new HPA shows 0 until the controller sets it.
    const status = asObj(hpa.status);
    status.desiredReplicas ??= 0;
    hpa.status = status;
  },
  validate(hpa) {
    const errs: FieldError[] = [];
    const spec = asObj(hpa.spec);
    const ref = asObj(spec.scaleTargetRef);
    if (!ref.kind) errs.push(required("spec.scaleTargetRef.kind"));
    else if (/[/%]/.test(text(ref.kind)))
      errs.push(invalid("spec.scaleTargetRef.kind", ref.kind, "may not contain '/' or '%'"));
    if (!ref.name) errs.push(required("spec.scaleTargetRef.name"));
    else if (/[/%]/.test(text(ref.name)) || ref.name === "." || ref.name === "..")
      errs.push(invalid("spec.scaleTargetRef.name", ref.name, "may not contain '/' or '%'"));
    const min = spec.minReplicas;
    if (typeof min === "number" && min < 1)
      errs.push(invalid("spec.minReplicas", min, "must be greater than or equal to 1"));
    const max = spec.maxReplicas;
    if (typeof max !== "number" || max < 1)
      errs.push(invalid("spec.maxReplicas", max ?? 0, "must be greater than 0"));
    else if (typeof min === "number" && max < min)
      errs.push(invalid("spec.maxReplicas", max, "must be greater than or equal to `minReplicas`"));
    return errs;
  },
  table: {
    columns: [
      column("Reference", "The target resource to scale."),
      column("Targets", "The specifications for which to use to calculate the desired replica count."),
      column("MinPods", "The lower limit for the number of replicas to which the autoscaler can scale down."),
      column("MaxPods", "The upper limit for the number of pods that can be set by the autoscaler."),
      column("Replicas", "Current number of replicas of pods managed by this autoscaler."),
    ],
    cells(hpa) {
      const spec = asObj(hpa.spec);
      const status = asObj(hpa.status);
      const ref = asObj(spec.scaleTargetRef);
      return [
        `${text(ref.kind)}/${text(ref.name)}`,
        targets(asList(spec.metrics), asList(status.currentMetrics)),
        spec.minReplicas === undefined ? "<unset>" : text(spec.minReplicas),
        spec.maxReplicas ?? 0,
        status.currentReplicas ?? 0,
      ];
    },
  },
};
