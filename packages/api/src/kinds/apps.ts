/**
 * apps/v1 Deployment and ReplicaSet (the controllers arrive in later issues; the API is here),
 * and coordination.k8s.io/v1 Lease.
 */
import type { KindDef } from "../kind.js";
import { type KubeObject, objectSchema } from "../meta.js";
import { any, bool, enumOf, int32, intOrString, mergeList, obj, str, time } from "../schema.js";
import { column } from "../table.js";
import { dns1123Subdomain, type FieldError } from "../validation.js";
import { asObj } from "./json.js";
import { conditionSchema, podTemplateSpecSchema } from "./podspec.js";
import {
  containerCells,
  containersColumn,
  defaultTemplate,
  formatLabelSelector,
  imagesColumn,
  immutable,
  labelSelectorSchema,
  nonNegative,
  selectorColumn,
  validateSelectorAndTemplate,
} from "./templates.js";

/** Deployment and ReplicaSet: the template checks, non-negative counts, an immutable selector. */
function validateTemplated(obj: KubeObject, old: KubeObject | undefined): FieldError[] {
  const spec = asObj(obj.spec);
  return [
    ...validateSelectorAndTemplate(spec, "spec"),
    ...nonNegative(spec.replicas, "spec.replicas"),
    ...(old === undefined ? [] : immutable(spec.selector, asObj(old.spec).selector, "spec.selector")),
  ];
}

const replicasColumns = [
  column("Ready", "Number of the pod with ready state"),
  column(
    "Up-to-date",
    "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
  ),
  column("Available", "Total number of available pods (ready for at least minReadySeconds)"),
];

const containersAndImages = (obj: KubeObject) => {
  const spec = asObj(obj.spec);
  return [...containerCells(spec.template), formatLabelSelector(spec.selector)];
};
const wideColumns = [containersColumn, imagesColumn, selectorColumn];

export const deploymentKind: KindDef = {
  group: "apps",
  version: "v1",
  kind: "Deployment",
  resource: "deployments",
  singular: "deployment",
  namespaced: true,
  shortNames: ["deploy"],
  categories: ["all"],
  description: "Deployment enables declarative updates for Pods and ReplicaSets.",
  schema: objectSchema("Deployment enables declarative updates for Pods and ReplicaSets.", {
    spec: obj(
      {
        replicas: int32("Number of desired pods. Defaults to 1."),
        selector: labelSelectorSchema,
        template: podTemplateSpecSchema,
        strategy: obj(
          {
            type: enumOf(["Recreate", "RollingUpdate"], "Default RollingUpdate."),
            rollingUpdate: obj({ maxUnavailable: intOrString(), maxSurge: intOrString() }),
          },
          "The deployment strategy to use to replace existing pods with new ones.",
        ),
        minReadySeconds: int32(),
        revisionHistoryLimit: int32("Old ReplicaSets to keep. Defaults to 10."),
        paused: bool(),
        progressDeadlineSeconds: int32("Defaults to 600s."),
      },
      "DeploymentSpec is the specification of the desired behavior of the Deployment.",
      ["selector", "template"],
    ),
    status: obj({
      observedGeneration: { type: "integer", format: "int64" },
      replicas: int32(),
      updatedReplicas: int32(),
      readyReplicas: int32(),
      availableReplicas: int32(),
      unavailableReplicas: int32(),
      terminatingReplicas: int32(),
      conditions: mergeList(obj({ ...conditionSchema.properties, lastUpdateTime: time() }), "type"),
      collisionCount: int32(),
    }),
  }),
  nameRule: dns1123Subdomain,
  subresources: ["status", "scale"],
  hasStatus: true,
  defaults(d) {
    const spec = asObj(d.spec);
    d.spec = spec;
    spec.replicas ??= 1;
    const strategy = asObj(spec.strategy);
    spec.strategy = strategy;
    strategy.type ??= "RollingUpdate";
    if (strategy.type === "RollingUpdate") {
      const ru = asObj(strategy.rollingUpdate);
      ru.maxUnavailable ??= "25%";
      ru.maxSurge ??= "25%";
      strategy.rollingUpdate = ru;
    }
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    defaultTemplate(spec);
  },
  validate: validateTemplated,
  table: {
    columns: [...replicasColumns, ...wideColumns],
    cells(d) {
      const spec = asObj(d.spec);
      const status = asObj(d.status);
      return [
        `${status.readyReplicas ?? 0}/${spec.replicas ?? 0}`,
        status.updatedReplicas ?? 0,
        status.availableReplicas ?? 0,
        ...containersAndImages(d),
      ];
    },
  },
};

export const replicaSetKind: KindDef = {
  group: "apps",
  version: "v1",
  kind: "ReplicaSet",
  resource: "replicasets",
  singular: "replicaset",
  namespaced: true,
  shortNames: ["rs"],
  categories: ["all"],
  description: "ReplicaSet ensures that a specified number of pod replicas are running at any given time.",
  schema: objectSchema("ReplicaSet ensures that a specified number of pod replicas are running.", {
    spec: obj(
      {
        replicas: int32("Number of desired pods. Defaults to 1."),
        minReadySeconds: int32(),
        selector: labelSelectorSchema,
        template: podTemplateSpecSchema,
      },
      "ReplicaSetSpec is the specification of a ReplicaSet.",
      ["selector"],
    ),
    status: obj({
      replicas: int32(),
      fullyLabeledReplicas: int32(),
      readyReplicas: int32(),
      availableReplicas: int32(),
      terminatingReplicas: int32(),
      observedGeneration: { type: "integer", format: "int64" },
      conditions: mergeList(any(), "type"),
    }),
  }),
  nameRule: dns1123Subdomain,
  subresources: ["status", "scale"],
  hasStatus: true,
  defaults(rs) {
    const spec = asObj(rs.spec);
    rs.spec = spec;
    spec.replicas ??= 1;
    defaultTemplate(spec);
  },
  validate: validateTemplated,
  table: {
    columns: [
      column("Desired", "Number of desired pods", "integer"),
      column("Current", "Number of actual replicas", "integer"),
      column("Ready", "Number of ready replicas", "integer"),
      ...wideColumns,
    ],
    cells(rs) {
      const status = asObj(rs.status);
      return [
        asObj(rs.spec).replicas ?? 0,
        status.replicas ?? 0,
        status.readyReplicas ?? 0,
        ...containersAndImages(rs),
      ];
    },
  },
};

export const leaseKind: KindDef = {
  group: "coordination.k8s.io",
  version: "v1",
  kind: "Lease",
  resource: "leases",
  singular: "lease",
  namespaced: true,
  shortNames: [],
  categories: [],
  description: "Lease defines a lease concept (leader election, node heartbeats).",
  schema: objectSchema("Lease defines a lease concept.", {
    spec: obj({
      holderIdentity: str(),
      leaseDurationSeconds: int32(),
      acquireTime: str(undefined, { format: "date-time" }),
      renewTime: str(undefined, { format: "date-time" }),
      leaseTransitions: int32(),
      strategy: str(),
      preferredHolder: str(),
    }),
  }),
  nameRule: dns1123Subdomain,
  subresources: [],
  hasStatus: false,
  table: {
    columns: [column("Holder", "The holder of the lease")],
    cells: (l) => [(asObj(l.spec).holderIdentity as string | undefined) ?? ""],
  },
};
