export type * from "./api-types.js";
export { SERVICE_NAME_LABEL } from "./api-types.js";
export { buildRuleset } from "./rules/build.js";
export { renderPartialSync } from "./rules/partial.js";
export { renderFullSync } from "./rules/render.js";
export type {
  NftSetDef,
  ProxyRulesInput,
  ProxyRulesOptions,
  Ruleset,
  ServicePortInfo,
} from "./rules/types.js";
