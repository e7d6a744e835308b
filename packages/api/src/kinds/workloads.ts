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
  notSupported,
  required,
} from "../validation.js";
import { asList, asObj, type Json } from "./json.js";
import { conditionSchema, podTemplateSpecSchema } from "./podspec.js";
import {
  containerCells,
  containersColumn,
  defaultTemplate,
  formatLabelSelector,
  formatLabels,
  imagesColumn,
  immutable,
  intOrPercentValue,
  isEmptySelector,
  labelSelectorSchema,
  nonNegative,
  restartAlways,
  selectorColumn,
  validateIntOrPercent,
  validateSelectorAndTemplate,
} from "./templates.js";

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
