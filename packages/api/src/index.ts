export { checkFields, type DecodeProblems } from "./decode.js";
export { apiVersionOf, type ColumnDefinition, type KindDef, type TableDef } from "./kind.js";
export { defaultPodSpec, defaultPullPolicy, validatePodSpec } from "./kinds/pod.js";
export { systemPriorityClasses } from "./kinds/scheduling.js";
export { formatLabelSelector, labelSelectorSchema, selectorMatches } from "./kinds/templates.js";
export * from "./managedfields/index.js";
export {
  type KubeObject,
  listMetaSchema,
  metav1Time,
  type ObjectMeta,
  type OwnerReference,
  objectMetaSchema,
  objectReferenceSchema,
  validateObjectMeta,
} from "./meta.js";
export { componentName, openApiDocument, openApiIndex, toOpenApi } from "./openapi.js";
export * from "./patch/index.js";
export { decodeKubernetesProtobuf, ProtobufDecodeError } from "./protobuf/index.js";
export { formatQuantity, parseQuantity } from "./quantity.js";
export {
  calculateUsage,
  handlesOperation,
  ignoredByQuota,
  matchesScopes,
  matchingResources,
  podCountsForQuota,
  type QuotaLister,
  quotaMatches,
  type ScopeSelector,
  scopeSelectorsOf,
  type Usage,
  usageOf,
} from "./quota.js";
export { allKinds, type GroupVersion, Registry } from "./registry.js";
export { type Schema, schemaAt } from "./schema.js";
export { age, ageColumn, humanDuration, nameColumn } from "./table.js";
export {
  findMatchingUntoleratedTaint,
  matchTaint,
  TaintNodeDiskPressure,
  TaintNodeMemoryPressure,
  TaintNodeNetworkUnavailable,
  TaintNodeNotReady,
  TaintNodeOutOfService,
  TaintNodePIDPressure,
  TaintNodeUnreachable,
  TaintNodeUnschedulable,
  toleratesTaint,
  tolerationsTolerateTaint,
} from "./taints.js";
export type * from "./types/core.js";
export {
  dns1035Label,
  dns1123Label,
  dns1123Subdomain,
  errorBody,
  type FieldError,
  type FieldErrorType,
  invalid,
  notSupported,
  required,
} from "./validation.js";
