export type * from "./api-types.js";
export { SERVICE_NAME_LABEL } from "./api-types.js";
export type {
  NftSetDef,
  ProxyRulesInput,
  ProxyRulesOptions,
  Ruleset,
  ServicePortInfo,
} from "./rules/types.js";
