/** The container environment (kube's makeEnvironmentVariables and $(VAR) expansion). */
export { CreateContainerConfigError, type EnvironmentOptions, makeEnvironment } from "./environment.js";
export { type EnvVarValue, expand, expandCommand } from "./expansion.js";
export { extractFieldPathAsString, podFieldSelectorRuntimeValue } from "./fieldpath.js";
export { extractContainerResourceValue } from "./resource.js";
export type { Service, ServicePort } from "./service-env.js";
