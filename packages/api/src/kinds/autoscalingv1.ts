/**
 * autoscaling/v1 HorizontalPodAutoscaler (what `kubectl autoscale` 1.32 creates): the same
 * objects as autoscaling/v2, stored once in the v2 form and converted on every read and write, as
 * kube does. targetCPUUtilizationPercentage is v2's CPU utilization metric; v2 fields v1 cannot
 * express (other metrics, conditions, behavior) ride in kube's autoscaling.alpha.kubernetes.io
 * annotations while the object is read through v1.
 */
import type { KindDef } from "../kind.js";
import { type KubeObject, objectSchema } from "../meta.js";
import { int32, int64, obj, str, time } from "../schema.js";
import { horizontalPodAutoscalerKind } from "./autoscaling.js";
import { asList, asObj, type Json } from "./json.js";

const A_METRICS = "autoscaling.alpha.kubernetes.io/metrics";
const A_CURRENT = "autoscaling.alpha.kubernetes.io/current-metrics";
const A_CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions";
const A_BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior";

const isCpuUtilization = (m: Json) =>
  m.type === "Resource" &&
  asObj(m.resource).name === "cpu" &&
  asObj(asObj(m.resource).target).type === "Utilization";

function parseAnnotation(o: KubeObject, key: string): unknown {
  const v = o.metadata.annotations?.[key];
  if (v === undefined) return undefined;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
}

function withoutAnnotations(o: KubeObject, keys: string[]): KubeObject["metadata"] {
  const annotations = { ...o.metadata.annotations };
  for (const k of keys) delete annotations[k];
  return { ...o.metadata, annotations: Object.keys(annotations).length > 0 ? annotations : undefined };
}

/** autoscaling/v2 (storage) form -> autoscaling/v1. */
export function hpaV2ToV1(o: KubeObject): KubeObject {
  if (o.apiVersion === "autoscaling/v1") return o;
  const spec = asObj(o.spec);
  const status = asObj(o.status);
  const metrics = asList(spec.metrics);
  const cpu = metrics.find(isCpuUtilization);
  const others = metrics.filter((m) => m !== cpu);
  const current = asList(status.currentMetrics);
  const currentCpu = current.find((m) => m.type === "Resource" && asObj(m.resource).name === "cpu");
  const annotations: Record<string, string> = { ...o.metadata.annotations };
  if (others.length > 0) annotations[A_METRICS] = JSON.stringify(others);
  if (current.length > 0) annotations[A_CURRENT] = JSON.stringify(current);
  if (asList(status.conditions).length > 0) annotations[A_CONDITIONS] = JSON.stringify(status.conditions);
  if (spec.behavior !== undefined && spec.behavior !== null)
    annotations[A_BEHAVIOR] = JSON.stringify(spec.behavior);
  const v1Spec: Json = {
    scaleTargetRef: spec.scaleTargetRef,
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas,
  };
  const target = asObj(asObj(cpu?.resource).target).averageUtilization;
  if (target !== undefined) v1Spec.targetCPUUtilizationPercentage = target;
  const v1Status: Json = {
    observedGeneration: status.observedGeneration,
    lastScaleTime: status.lastScaleTime,
    currentReplicas: status.currentReplicas ?? 0,
    desiredReplicas: status.desiredReplicas ?? 0,
  };
  const now = asObj(asObj(currentCpu?.resource).current).averageUtilization;
  if (now !== undefined) v1Status.currentCPUUtilizationPercentage = now;
  for (const m of [v1Spec, v1Status])
    for (const [k, v] of Object.entries(m)) if (v === undefined) delete m[k];
  return {
    apiVersion: "autoscaling/v1",
    kind: "HorizontalPodAutoscaler",
    metadata: { ...o.metadata, annotations: Object.keys(annotations).length > 0 ? annotations : undefined },
    spec: v1Spec,
    status: v1Status,
  };
}

/** autoscaling/v1 form -> autoscaling/v2 (storage), taking back what the annotations carry. */
export function hpaV1ToV2(o: KubeObject): KubeObject {
  if (o.apiVersion === "autoscaling/v2") return o;
  const spec = asObj(o.spec);
  const status = asObj(o.status);
  const others = asList(parseAnnotation(o, A_METRICS));
  const target = spec.targetCPUUtilizationPercentage;
  // v2 decodes a stored HPA without metrics as an 80% CPU target (its defaults): store that.
  const metrics = [
    ...(typeof target === "number"
      ? [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: target } },
          },
        ]
      : []),
    ...others,
  ];
  if (metrics.length === 0)
    metrics.push({
      type: "Resource",
      resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
    });
  const v2Spec: Json = {
    scaleTargetRef: spec.scaleTargetRef,
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas,
    metrics,
    behavior: parseAnnotation(o, A_BEHAVIOR),
  };
  let current = asList(parseAnnotation(o, A_CURRENT));
  if (typeof status.currentCPUUtilizationPercentage === "number" && current.length === 0)
    current = [
      {
        type: "Resource",
        resource: { name: "cpu", current: { averageUtilization: status.currentCPUUtilizationPercentage } },
      },
    ];
  const conditions = asList(parseAnnotation(o, A_CONDITIONS));
  const v2Status: Json = {
    observedGeneration: status.observedGeneration,
    lastScaleTime: status.lastScaleTime,
    currentReplicas: status.currentReplicas,
    desiredReplicas: status.desiredReplicas ?? 0,
    currentMetrics: current.length > 0 ? current : undefined,
    conditions: conditions.length > 0 ? conditions : undefined,
  };
  for (const m of [v2Spec, v2Status])
    for (const [k, v] of Object.entries(m)) if (v === undefined) delete m[k];
  const v2: KubeObject = {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: withoutAnnotations(o, [A_METRICS, A_CURRENT, A_CONDITIONS, A_BEHAVIOR]),
    spec: v2Spec,
    status: v2Status,
  };
  if (v2.metadata.annotations === undefined) delete v2.metadata.annotations;
  return v2;
}

export const horizontalPodAutoscalerV1Kind: KindDef = {
  ...horizontalPodAutoscalerKind,
  version: "v1",
  description: "configuration of a horizontal pod autoscaler.",
  schema: objectSchema("configuration of a horizontal pod autoscaler.", {
    spec: obj({
      scaleTargetRef: obj({ kind: str(), name: str(), apiVersion: str() }, "Reference to scaled resource."),
      minReplicas: int32("The lower limit for the number of pods that can be set by the autoscaler."),
      maxReplicas: int32("The upper limit for the number of pods that can be set by the autoscaler."),
      targetCPUUtilizationPercentage: int32("The target average CPU utilization over all the pods."),
    }),
    status: obj({
      observedGeneration: int64(),
      lastScaleTime: time(),
      currentReplicas: int32(),
      desiredReplicas: int32(),
      currentCPUUtilizationPercentage: int32(),
    }),
  }),
  defaults(hpa) {
    const spec = asObj(hpa.spec);
    spec.minReplicas ??= 1;
    hpa.spec = spec;
    const status = asObj(hpa.status);
    status.currentReplicas ??= 0;
    status.desiredReplicas ??= 0;
    hpa.status = status;
  },
  // Validated as kube does, on the one internal form (v2's).
  validate: (hpa, old) =>
    horizontalPodAutoscalerKind.validate?.(hpaV1ToV2(hpa), old === undefined ? undefined : hpaV1ToV2(old)) ??
    [],
  table: {
    ...horizontalPodAutoscalerKind.table,
    cells: (hpa, now) => horizontalPodAutoscalerKind.table.cells(hpaV1ToV2(hpa), now),
  },
  storageConversion: { toStorage: hpaV1ToV2, fromStorage: hpaV2ToV1 },
};
