/**
 * apps/v1 DaemonSet and StatefulSet, and the label-selector and template helpers the workload
 * kinds share (batch.ts and policy.ts use them too): selector matching and validation as
 * metav1.LabelSelectorAsSelector does them, and kubectl's FormatLabelSelector text.
 */
import type { KindDef } from "../kind.js";
import { type KubeObject, objectSchema } from "../meta.js";
import { any, enumOf, int32, int64, intOrString, list, mergeList, obj, str } from "../schema.js";
import { column } from "../table.js";
import {
  dns1123Subdomain,
  type FieldError,
  forbidden,
  invalid,
  labelValue,
  notSupported,
  qualifiedName,
  required,
} from "../validation.js";
import { labelSelectorSchema } from "./apps.js";
import { asObj, type Json } from "./json.js";
import { defaultPodSpec, validatePodSpec } from "./pod.js";
import { conditionSchema, podTemplateSpecSchema } from "./podspec.js";

const asList = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

// ---- label selectors ----

/** LabelSelectorAsSelector(sel).Matches(labels): no selector matches nothing, `{}` everything. */
export function selectorMatches(selector: unknown, labels: unknown): boolean {
  if (typeof selector !== "object" || selector === null) return false;
  const sel = selector as Json;
  const have = asObj(labels);
  const has = (k: string) => Object.hasOwn(have, k);
  for (const [k, v] of Object.entries(asObj(sel.matchLabels))) if (!has(k) || have[k] !== v) return false;
  for (const e of asList(sel.matchExpressions)) {
    const key = String(e.key);
    const values = (e.values as string[] | undefined) ?? [];
    const ok =
      e.operator === "In"
        ? has(key) && values.includes(have[key] as string)
        : e.operator === "NotIn"
          ? !has(key) || !values.includes(have[key] as string)
          : e.operator === "Exists"
            ? has(key)
            : e.operator === "DoesNotExist"
              ? !has(key)
              : false;
    if (!ok) return false;
  }
  return true;
}

/** metav1.FormatLabelSelector: `app=web,tier in (a,b),!canary`, or <none>. */
export function formatLabelSelector(selector: unknown): string {
  if (typeof selector !== "object" || selector === null) return "<none>";
  const sel = selector as Json;
  const reqs: [string, string][] = Object.entries(asObj(sel.matchLabels)).map(([k, v]) => [k, `${k}=${v}`]);
  for (const e of asList(sel.matchExpressions)) {
    const key = String(e.key);
    const values = [...((e.values as string[] | undefined) ?? [])].sort().join(",");
    if (e.operator === "In") reqs.push([key, `${key} in (${values})`]);
    else if (e.operator === "NotIn") reqs.push([key, `${key} notin (${values})`]);
    else if (e.operator === "Exists") reqs.push([key, key]);
    else if (e.operator === "DoesNotExist") reqs.push([key, `!${key}`]);
  }
  reqs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const text = reqs.map((r) => r[1]).join(",");
  return text === "" ? "<none>" : text;
}

/** labels.FormatLabels: sorted `k=v` pairs, or <none>. */
export function formatLabels(labels: unknown): string {
  const text = Object.entries(asObj(labels))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return text === "" ? "<none>" : text;
}

/** ValidateLabelSelector. */
export function validateLabelSelector(selector: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const sel = asObj(selector);
  asList(sel.matchExpressions).forEach((e, i) => {
    const at = `${path}.matchExpressions[${i}]`;
    const values = (e.values as unknown[] | undefined) ?? [];
    if (e.operator === "In" || e.operator === "NotIn") {
      if (values.length === 0)
        errs.push(required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (e.operator === "Exists" || e.operator === "DoesNotExist") {
      if (values.length > 0)
        errs.push(
          forbidden(`${at}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
        );
    } else errs.push(invalid(`${at}.operator`, e.operator, "not a valid selector operator"));
    for (const m of qualifiedName(String(e.key ?? ""))) errs.push(invalid(`${at}.key`, e.key, m));
  });
  for (const [k, v] of Object.entries(asObj(sel.matchLabels))) {
    for (const m of qualifiedName(k)) errs.push(invalid(`${path}.matchLabels`, k, m));
    for (const m of labelValue(String(v))) errs.push(invalid(`${path}.matchLabels`, v, m));
  }
  return errs;
}

const isEmptySelector = (sel: unknown) =>
  Object.keys(asObj(asObj(sel).matchLabels)).length === 0 && asList(asObj(sel).matchExpressions).length === 0;

// ---- int-or-percent (apps validation) ----

const percentRe = /^[0-9]+%$/;

/** ValidatePositiveIntOrPercent and IsNotMoreThan100Percent. */
export function validateIntOrPercent(v: unknown, path: string): FieldError[] {
  if (typeof v === "number") return v < 0 ? [invalid(path, v, "must be greater than or equal to 0")] : [];
  if (typeof v !== "string") return [invalid(path, v, "must be an integer or percentage (e.g '5%')")];
  if (!percentRe.test(v))
    return [
      invalid(
        path,
        v,
        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
      ),
    ];
  return Number.parseInt(v, 10) > 100 ? [invalid(path, v, "must not be greater than 100%")] : [];
}

const intOrPercentValue = (v: unknown) => (typeof v === "number" ? v : Number.parseInt(String(v), 10) || 0);

export const nonNegative = (v: unknown, path: string): FieldError[] =>
  typeof v === "number" && v < 0 ? [invalid(path, v, "must be greater than or equal to 0")] : [];

export const immutable = (now: unknown, before: unknown, path: string): FieldError[] =>
  JSON.stringify(now) === JSON.stringify(before) ? [] : [invalid(path, now ?? null, "field is immutable")];

// ---- templates ----

/** The pod template's defaults: metadata present (creationTimestamp: null upstream), PodSpec defaults. */
export function defaultTemplate(holder: Json, key = "template"): Json {
  const template = asObj(holder[key]);
  holder[key] = template;
  template.metadata ??= {};
  template.spec = asObj(template.spec);
  defaultPodSpec(template.spec as Json);
  return template;
}

/** Selector required and matching the template's labels, and the template's pod spec. */
export function validateSelectorAndTemplate(spec: Json, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const template = asObj(spec.template);
  const labels = asObj(template.metadata).labels;
  if (spec.selector === undefined || spec.selector === null) errs.push(required(`${path}.selector`));
  else errs.push(...validateLabelSelector(spec.selector, `${path}.selector`));
  if (!selectorMatches(spec.selector, labels))
    errs.push(
      invalid(
        `${path}.template.metadata.labels`,
        labels ?? {},
        "`selector` does not match template `labels`",
      ),
    );
  errs.push(...validatePodSpec(template.spec as Json | undefined, `${path}.template.spec`));
  return errs;
}

/** Controllers that run pods forever: restartPolicy Always only. */
function restartAlways(spec: Json, path: string): FieldError[] {
  const rp = asObj(asObj(spec.template).spec).restartPolicy;
  return rp === "Always" || rp === undefined
    ? []
    : [notSupported(`${path}.template.spec.restartPolicy`, rp, ["Always"])];
}

/** kubectl's layoutContainerCells: container names and images, comma-separated. */
export function containerCells(template: unknown): [string, string] {
  const containers = asList(asObj(asObj(template).spec).containers);
  return [containers.map((c) => c.name).join(","), containers.map((c) => c.image).join(",")];
}

export const containersColumn = column("Containers", "Names of each container in the template.", "string", 1);
export const imagesColumn = column(
  "Images",
  "Images referenced by each container in the template.",
  "string",
  1,
);
export const selectorColumn = column("Selector", "Label selector for pods.", "string", 1);

// ---- DaemonSet ----

export const daemonSetKind: KindDef = {
  group: "apps",
  version: "v1",
  kind: "DaemonSet",
  resource: "daemonsets",
  singular: "daemonset",
  namespaced: true,
  shortNames: ["ds"],
  categories: ["all"],
  description: "DaemonSet represents the configuration of a daemon set.",
  schema: objectSchema("DaemonSet represents the configuration of a daemon set.", {
    spec: obj(
      {
        selector: labelSelectorSchema,
        template: podTemplateSpecSchema,
        updateStrategy: obj(
          {
            type: enumOf(["RollingUpdate", "OnDelete"], "Default RollingUpdate."),
            rollingUpdate: obj({
              maxUnavailable: intOrString("Default 1."),
              maxSurge: intOrString("Default 0."),
            }),
          },
          "An update strategy to replace existing DaemonSet pods with new pods.",
        ),
        minReadySeconds: int32(),
        revisionHistoryLimit: int32("Old histories to retain. Defaults to 10."),
      },
      "DaemonSetSpec is the specification of a daemon set.",
      ["selector", "template"],
    ),
    status: obj({
      currentNumberScheduled: int32("Nodes running at least 1 daemon pod that should run it."),
      numberMisscheduled: int32("Nodes running the daemon pod that should not."),
      desiredNumberScheduled: int32("Nodes that should be running the daemon pod."),
      numberReady: int32("Nodes with the daemon pod running and ready."),
      observedGeneration: int64(),
      updatedNumberScheduled: int32(),
      numberAvailable: int32(),
      numberUnavailable: int32(),
      collisionCount: int32(),
      conditions: mergeList(conditionSchema, "type"),
    }),
  }),
  nameRule: dns1123Subdomain,
  subresources: ["status"],
  hasStatus: true,
  defaults(ds) {
    const spec = asObj(ds.spec);
    ds.spec = spec;
    const strategy = asObj(spec.updateStrategy);
    spec.updateStrategy = strategy;
    strategy.type ??= "RollingUpdate";
    if (strategy.type === "RollingUpdate") {
      const ru = asObj(strategy.rollingUpdate);
      ru.maxUnavailable ??= 1;
      ru.maxSurge ??= 0;
      strategy.rollingUpdate = ru;
    }
    spec.revisionHistoryLimit ??= 10;
    defaultTemplate(spec);
    ds.status ??= {
      currentNumberScheduled: 0,
      desiredNumberScheduled: 0,
      numberMisscheduled: 0,
      numberReady: 0,
    };
  },
  validate(ds, old) {
    const spec = asObj(ds.spec);
    const errs = validateSelectorAndTemplate(spec, "spec");
    if (spec.selector !== undefined && isEmptySelector(spec.selector))
      errs.push(invalid("spec.selector", spec.selector, "empty selector is invalid for daemonset"));
    errs.push(...restartAlways(spec, "spec"));
    errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
    errs.push(...nonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit"));
    const strategy = asObj(spec.updateStrategy);
    if (strategy.type === "RollingUpdate") {
      if (strategy.rollingUpdate === undefined) errs.push(required("spec.updateStrategy.rollingUpdate"));
      else {
        const ru = asObj(strategy.rollingUpdate);
        const at = "spec.updateStrategy.rollingUpdate";
        errs.push(...validateIntOrPercent(ru.maxUnavailable, `${at}.maxUnavailable`));
        errs.push(...validateIntOrPercent(ru.maxSurge, `${at}.maxSurge`));
        const hasUnavailable = intOrPercentValue(ru.maxUnavailable) !== 0;
        const hasSurge = intOrPercentValue(ru.maxSurge) !== 0;
        if (hasUnavailable && hasSurge)
          errs.push(invalid(`${at}.maxSurge`, ru.maxSurge, "may not be set when maxUnavailable is non-zero"));
        else if (!hasUnavailable && !hasSurge)
          errs.push(required(`${at}.maxUnavailable`, "cannot be 0 when maxSurge is 0"));
      }
    } else if (strategy.type !== "OnDelete")
      errs.push(notSupported("spec.updateStrategy", strategy, ["RollingUpdate", "OnDelete"]));
    if (old !== undefined) errs.push(...immutable(spec.selector, asObj(old.spec).selector, "spec.selector"));
    return errs;
  },
  table: {
    columns: [
      column("Desired", "The total number of nodes that should be running the daemon pod.", "integer"),
      column("Current", "The number of nodes running at least one daemon pod.", "integer"),
      column("Ready", "The number of nodes with the daemon pod running and ready.", "integer"),
      column("Up-to-date", "The total number of nodes running the updated daemon pod.", "integer"),
      column("Available", "The number of nodes with the daemon pod available.", "integer"),
      column("Node Selector", "NodeSelector must match a node's labels for the pod to be scheduled there."),
      containersColumn,
      imagesColumn,
      selectorColumn,
    ],
    cells(ds) {
      const spec = asObj(ds.spec);
      const status = asObj(ds.status);
      return [
        status.desiredNumberScheduled ?? 0,
        status.currentNumberScheduled ?? 0,
        status.numberReady ?? 0,
        status.updatedNumberScheduled ?? 0,
        status.numberAvailable ?? 0,
        formatLabels(asObj(asObj(spec.template).spec).nodeSelector),
        ...containerCells(spec.template),
        formatLabelSelector(spec.selector),
      ];
    },
  },
};

// ---- StatefulSet ----

/** Fields of a StatefulSet spec an update may change (ValidateStatefulSetUpdate). */
const statefulSetMutable = [
  "replicas",
  "ordinals",
  "template",
  "updateStrategy",
  "persistentVolumeClaimRetentionPolicy",
  "minReadySeconds",
];

const retentionPolicies = ["Retain", "Delete"];

function validateStatefulSet(sts: KubeObject, old: KubeObject | undefined): FieldError[] {
  const spec = asObj(sts.spec);
  const errs = validateSelectorAndTemplate(spec, "spec");
  if (spec.selector !== undefined && isEmptySelector(spec.selector))
    errs.push(invalid("spec.selector", spec.selector, "empty selector is invalid for statefulset"));
  errs.push(...restartAlways(spec, "spec"));
  const pmp = spec.podManagementPolicy;
  if (pmp === undefined || pmp === "") errs.push(required("spec.podManagementPolicy"));
  else if (pmp !== "OrderedReady" && pmp !== "Parallel")
    errs.push(invalid("spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'"));
  const strategy = asObj(spec.updateStrategy);
  if (strategy.type === undefined || strategy.type === "") errs.push(required("spec.updateStrategy"));
  else if (strategy.type === "OnDelete") {
    if (strategy.rollingUpdate !== undefined)
      errs.push(
        invalid(
          "spec.updateStrategy.rollingUpdate",
          strategy.rollingUpdate,
          "only allowed for updateStrategy 'RollingUpdate'",
        ),
      );
  } else if (strategy.type === "RollingUpdate") {
    const ru = asObj(strategy.rollingUpdate);
    errs.push(...nonNegative(ru.partition, "spec.updateStrategy.rollingUpdate.partition"));
    if (ru.maxUnavailable !== undefined)
      errs.push(
        ...validateIntOrPercent(ru.maxUnavailable, "spec.updateStrategy.rollingUpdate.maxUnavailable"),
      );
  } else errs.push(invalid("spec.updateStrategy", strategy, "must be 'RollingUpdate' or 'OnDelete'"));
  const retention = asObj(spec.persistentVolumeClaimRetentionPolicy);
  for (const f of ["whenDeleted", "whenScaled"])
    if (!retentionPolicies.includes(retention[f] as string))
      errs.push(
        notSupported(`spec.persistentVolumeClaimRetentionPolicy.${f}`, retention[f], retentionPolicies),
      );
  errs.push(...nonNegative(spec.replicas, "spec.replicas"));
  errs.push(...nonNegative(spec.minReadySeconds, "spec.minReadySeconds"));
  errs.push(...nonNegative(asObj(spec.ordinals).start, "spec.ordinals.start"));
  if (old !== undefined) {
    const fixed = (s: Json) =>
      JSON.stringify(Object.fromEntries(Object.entries(s).filter(([k]) => !statefulSetMutable.includes(k))));
    if (fixed(spec) !== fixed(asObj(old.spec)))
      errs.push(
        forbidden(
          "spec",
          "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ),
      );
  }
  return errs;
}

export const statefulSetKind: KindDef = {
  group: "apps",
  version: "v1",
  kind: "StatefulSet",
  resource: "statefulsets",
  singular: "statefulset",
  namespaced: true,
  shortNames: ["sts"],
  categories: ["all"],
  description: "StatefulSet represents a set of pods with consistent identities.",
  schema: objectSchema("StatefulSet represents a set of pods with consistent identities.", {
    spec: obj(
      {
        replicas: int32("Desired number of replicas. Defaults to 1."),
        selector: labelSelectorSchema,
        template: podTemplateSpecSchema,
        volumeClaimTemplates: list(any(), "PersistentVolumeClaims the pods are allowed to reference."),
        serviceName: str("The name of the service that governs this StatefulSet."),
        podManagementPolicy: enumOf(["OrderedReady", "Parallel"], "Default OrderedReady."),
        updateStrategy: obj(
          {
            type: enumOf(["RollingUpdate", "OnDelete"], "Default RollingUpdate."),
            rollingUpdate: obj({
              partition: int32("Ordinal at which to partition the update. Default 0."),
              maxUnavailable: intOrString(),
            }),
          },
          "The strategy used to update pods in the StatefulSet.",
        ),
        revisionHistoryLimit: int32("Revisions to keep. Defaults to 10."),
        minReadySeconds: int32(),
        persistentVolumeClaimRetentionPolicy: obj(
          {
            whenDeleted: enumOf(retentionPolicies, "Default Retain."),
            whenScaled: enumOf(retentionPolicies, "Default Retain."),
          },
          "The lifecycle of PVCs created from volumeClaimTemplates.",
        ),
        ordinals: obj({ start: int32("The number of the first replica index. Default 0.") }),
      },
      "A StatefulSetSpec is the specification of a StatefulSet.",
      ["selector", "template"],
    ),
    status: obj({
      observedGeneration: int64(),
      replicas: int32(),
      readyReplicas: int32(),
      currentReplicas: int32(),
      updatedReplicas: int32(),
      currentRevision: str(),
      updateRevision: str(),
      collisionCount: int32(),
      conditions: mergeList(conditionSchema, "type"),
      availableReplicas: int32(),
    }),
  }),
  nameRule: dns1123Subdomain,
  subresources: ["status", "scale"],
  hasStatus: true,
  defaults(sts) {
    const spec = asObj(sts.spec);
    sts.spec = spec;
    spec.podManagementPolicy ??= "OrderedReady";
    const strategy = asObj(spec.updateStrategy);
    spec.updateStrategy = strategy;
    if (strategy.type === undefined) {
      strategy.type = "RollingUpdate";
      strategy.rollingUpdate ??= {};
    }
    if (strategy.type === "RollingUpdate" && strategy.rollingUpdate !== undefined)
      asObj(strategy.rollingUpdate).partition ??= 0;
    const retention = asObj(spec.persistentVolumeClaimRetentionPolicy);
    spec.persistentVolumeClaimRetentionPolicy = retention;
    retention.whenDeleted ??= "Retain";
    retention.whenScaled ??= "Retain";
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    defaultTemplate(spec);
    // volumeClaimTemplates are PersistentVolumeClaims: their defaults, as kube-apiserver returns them.
    for (const pvc of asList(spec.volumeClaimTemplates)) {
      pvc.apiVersion ??= "v1";
      pvc.kind ??= "PersistentVolumeClaim";
      pvc.metadata ??= {};
      const pvcSpec = asObj(pvc.spec);
      pvc.spec = pvcSpec;
      pvcSpec.volumeMode ??= "Filesystem";
      pvc.status ??= { phase: "Pending" };
    }
    sts.status ??= { availableReplicas: 0, replicas: 0 };
  },
  validate: validateStatefulSet,
  table: {
    columns: [column("Ready", "Number of the pod with ready state"), containersColumn, imagesColumn],
    cells(sts) {
      const spec = asObj(sts.spec);
      return [
        `${asObj(sts.status).readyReplicas ?? 0}/${spec.replicas ?? 0}`,
        ...containerCells(spec.template),
      ];
    },
  },
};
