/** k8s.io/apimachinery/pkg/apis/meta/v1 messages (field numbers from upstream generated.proto). */
import { list, map, msg } from "./dsl.js";

export const OwnerReference = msg("meta.v1.OwnerReference", {
  kind: [1, "string"],
  name: [3, "string"],
  uid: [4, "string"],
  apiVersion: [5, "string"],
  controller: [6, "bool", "ptr"],
  blockOwnerDeletion: [7, "bool", "ptr"],
});

export const ManagedFieldsEntry = msg("meta.v1.ManagedFieldsEntry", {
  manager: [1, "string"],
  operation: [2, "string"],
  apiVersion: [3, "string"],
  time: [4, "time"],
  fieldsType: [6, "string"],
  fieldsV1: [7, "rawjson"],
  subresource: [8, "string"],
});

export const ObjectMeta = msg("meta.v1.ObjectMeta", {
  name: [1, "string"],
  generateName: [2, "string"],
  namespace: [3, "string"],
  selfLink: [4, "string"],
  uid: [5, "string"],
  resourceVersion: [6, "string"],
  generation: [7, "int64"],
  creationTimestamp: [8, "time"],
  deletionTimestamp: [9, "time"],
  deletionGracePeriodSeconds: [10, "int64", "ptr"],
  labels: [11, map("string")],
  annotations: [12, map("string")],
  ownerReferences: [13, list(OwnerReference)],
  finalizers: [14, list("string")],
  managedFields: [17, list(ManagedFieldsEntry)],
});

export const LabelSelectorRequirement = msg("meta.v1.LabelSelectorRequirement", {
  key: [1, "string"],
  operator: [2, "string"],
  values: [3, list("string")],
});

export const LabelSelector = msg("meta.v1.LabelSelector", {
  matchLabels: [1, map("string")],
  matchExpressions: [2, list(LabelSelectorRequirement)],
});

export const Condition = msg("meta.v1.Condition", {
  type: [1, "string"],
  status: [2, "string"],
  observedGeneration: [3, "int64"],
  lastTransitionTime: [4, "time"],
  reason: [5, "string"],
  message: [6, "string"],
});
