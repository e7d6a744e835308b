/**
 * NodeResourcesFitArgs and NodeResourcesBalancedAllocationArgs (kubescheduler.config.k8s.io/v1):
 * their defaults (SetDefaults_NodeResourcesFitArgs, ..._BalancedAllocationArgs) and validation
 * (ValidateNodeResourcesFitArgs, ...BalancedAllocationArgs). Invalid args throw at construction,
 * which fails the scheduler's start as kube's do; the messages keep kube's field paths.
 */

export type ScoringStrategyType = "LeastAllocated" | "MostAllocated" | "RequestedToCapacityRatio";

export const SUPPORTED_SCORING_STRATEGY_TYPES: readonly ScoringStrategyType[] = [
  "LeastAllocated",
  "MostAllocated",
  "RequestedToCapacityRatio",
];

/** config.MaxCustomPriorityScore: the score scale of RequestedToCapacityRatio's shape points. */
export const MAX_CUSTOM_PRIORITY_SCORE = 10;
/** The utilization scale of the shape points (percent). */
export const MAX_UTILIZATION = 100;

export interface ResourceSpec {
  name: string;
  weight: number;
}

export interface UtilizationShapePoint {
  utilization: number;
  score: number;
}

export interface ScoringStrategy {
  type: ScoringStrategyType;
  resources: ResourceSpec[];
  requestedToCapacityRatio?: { shape: UtilizationShapePoint[] };
}

export interface NodeResourcesFitArgs {
  ignoredResources: string[];
  ignoredResourceGroups: string[];
  scoringStrategy: ScoringStrategy;
}

export interface NodeResourcesBalancedAllocationArgs {
  resources: ResourceSpec[];
}

/** defaultResourceSpec: cpu and memory, weight 1 each. */
const defaultResources = (): ResourceSpec[] => [
  { name: "cpu", weight: 1 },
  { name: "memory", weight: 1 },
];

/** An aggregate of field errors, printed as kube's utilerrors.Aggregate prints them. */
function fail(plugin: string, errs: string[]): never {
  throw new Error(`${plugin} args: ${errs.length === 1 ? errs[0] : `[${errs.join(", ")}]`}`);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Strict decoding: unknown fields are errors (apiVersion and kind may name the args type). */
function checkFields(
  path: string,
  obj: Record<string, unknown>,
  known: readonly string[],
  errs: string[],
): void {
  for (const k of Object.keys(obj))
    if (!known.includes(k) && !(path === "" && (k === "apiVersion" || k === "kind")))
      errs.push(`unknown field "${path}${k}"`);
}

function stringList(path: string, v: unknown, errs: string[]): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v) && v.every((s) => typeof s === "string")) return v as string[];
  errs.push(`${path}: Invalid value: ${JSON.stringify(v)}: must be a list of strings`);
  return [];
}

/** Decodes resources, applying the defaults: none given means cpu and memory; weight 0 (or unset) means 1. */
function resourceList(path: string, v: unknown, errs: string[]): ResourceSpec[] {
  if (v === undefined || v === null) return defaultResources();
  if (!Array.isArray(v)) {
    errs.push(`${path}: Invalid value: ${JSON.stringify(v)}: must be a list`);
    return [];
  }
  if (v.length === 0) return defaultResources();
  return v.map((r, i) => {
    const p = `${path}[${i}]`;
    if (!isObject(r) || typeof r.name !== "string") {
      errs.push(`${p}.name: Required value: must be a string`);
      return { name: "", weight: 1 };
    }
    checkFields(`${p}.`, r, ["name", "weight"], errs);
    const w = r.weight ?? 0;
    if (typeof w !== "number" || !Number.isInteger(w)) {
      errs.push(`${p}.weight: Invalid value: ${JSON.stringify(w)}: must be an integer`);
      return { name: r.name, weight: 1 };
    }
    return { name: r.name, weight: w === 0 ? 1 : w };
  });
}

/** metav1validation.ValidateLabelName: a qualified name, [prefix/]name. */
const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
function isQualifiedName(s: string): boolean {
  const slash = s.indexOf("/");
  const name = slash < 0 ? s : s.slice(slash + 1);
  return QUALIFIED_NAME.test(s) && name.length <= 63 && (slash < 0 || slash <= 253);
}

/** validateFunctionShape: 1+ points, utilization increasing within 0..100, score within 0..10. */
function validateShape(path: string, v: unknown, errs: string[]): UtilizationShapePoint[] {
  if (!Array.isArray(v) || v.length === 0) {
    errs.push(`${path}: Required value: at least one point must be specified`);
    return [];
  }
  const shape = v.map((pt, i) => {
    if (!isObject(pt)) {
      errs.push(`${path}[${i}]: Invalid value: ${JSON.stringify(pt)}: must be an object`);
      return { utilization: 0, score: 0 };
    }
    checkFields(`${path}[${i}].`, pt, ["utilization", "score"], errs);
    const num = (k: "utilization" | "score") => {
      const x = pt[k] ?? 0;
      if (typeof x === "number" && Number.isInteger(x)) return x;
      errs.push(`${path}[${i}].${k}: Invalid value: ${JSON.stringify(x)}: must be an integer`);
      return 0;
    };
    return { utilization: num("utilization"), score: num("score") };
  });
  for (let i = 1; i < shape.length; i++)
    if (
      (shape[i - 1] as UtilizationShapePoint).utilization >= (shape[i] as UtilizationShapePoint).utilization
    ) {
      errs.push(
        `${path}[${i}].utilization: Invalid value: ${(shape[i] as UtilizationShapePoint).utilization}: values must be sorted in increasing order`,
      );
      break;
    }
  shape.forEach((pt, i) => {
    if (pt.utilization < 0 || pt.utilization > MAX_UTILIZATION)
      errs.push(
        `${path}[${i}].utilization: Invalid value: ${pt.utilization}: not in valid range [0, ${MAX_UTILIZATION}]`,
      );
    if (pt.score < 0 || pt.score > MAX_CUSTOM_PRIORITY_SCORE)
      errs.push(
        `${path}[${i}].score: Invalid value: ${pt.score}: not in valid range [0, ${MAX_CUSTOM_PRIORITY_SCORE}]`,
      );
  });
  return shape;
}

/** Decodes, defaults and validates NodeResourcesFitArgs; throws on anything invalid. */
export function nodeResourcesFitArgs(raw: Record<string, unknown> | undefined): NodeResourcesFitArgs {
  const errs: string[] = [];
  const args = raw ?? {};
  checkFields("", args, ["ignoredResources", "ignoredResourceGroups", "scoringStrategy"], errs);
  const ignoredResources = stringList("ignoredResources", args.ignoredResources, errs);
  ignoredResources.forEach((r, i) => {
    if (!isQualifiedName(r))
      errs.push(
        `ignoredResources[${i}]: Invalid value: ${JSON.stringify(r)}: name part must consist of alphanumeric characters, '-', '_' or '.'`,
      );
  });
  const ignoredResourceGroups = stringList("ignoredResourceGroups", args.ignoredResourceGroups, errs);
  ignoredResourceGroups.forEach((g, i) => {
    if (g.includes("/"))
      errs.push(
        `ignoredResourceGroups[${i}]: Invalid value: ${JSON.stringify(g)}: resource group name can't contain '/'`,
      );
    else if (!isQualifiedName(g))
      errs.push(
        `ignoredResourceGroups[${i}]: Invalid value: ${JSON.stringify(g)}: name part must consist of alphanumeric characters, '-', '_' or '.'`,
      );
  });

  const rawStrategy = args.scoringStrategy ?? { type: "LeastAllocated" };
  if (!isObject(rawStrategy))
    fail("NodeResourcesFit", [...errs, "scoringStrategy: Invalid value: must be an object"]);
  checkFields("scoringStrategy.", rawStrategy, ["type", "resources", "requestedToCapacityRatio"], errs);
  const type = rawStrategy.type as ScoringStrategyType;
  if (!SUPPORTED_SCORING_STRATEGY_TYPES.includes(type))
    errs.push(
      `scoringStrategy.type: Unsupported value: ${JSON.stringify(type ?? "")}: supported values: ${SUPPORTED_SCORING_STRATEGY_TYPES.map((t) => `"${t}"`).join(", ")}`,
    );
  const resources = resourceList("scoringStrategy.resources", rawStrategy.resources, errs);
  resources.forEach((r, i) => {
    if (r.weight <= 0 || r.weight > 100)
      errs.push(
        `scoringStrategy.resources[${i}].weight: Invalid value: ${r.weight}: resource weight of ${r.name} not in valid range (0, 100]`,
      );
  });
  const strategy: ScoringStrategy = { type, resources };
  const ratio = rawStrategy.requestedToCapacityRatio;
  if (type === "RequestedToCapacityRatio") {
    if (!isObject(ratio))
      errs.push(
        "scoringStrategy.requestedToCapacityRatio: Required value: must be specified when type is RequestedToCapacityRatio",
      );
    else {
      checkFields("scoringStrategy.requestedToCapacityRatio.", ratio, ["shape"], errs);
      strategy.requestedToCapacityRatio = {
        shape: validateShape("scoringStrategy.requestedToCapacityRatio.shape", ratio.shape, errs),
      };
    }
  } else if (ratio !== undefined && ratio !== null)
    errs.push(
      "scoringStrategy.requestedToCapacityRatio: Forbidden: must be nil when type is not RequestedToCapacityRatio",
    );

  if (errs.length > 0) fail("NodeResourcesFit", errs);
  return { ignoredResources, ignoredResourceGroups, scoringStrategy: strategy };
}

/** Decodes, defaults and validates NodeResourcesBalancedAllocationArgs: weights must be 1, no duplicates. */
export function nodeResourcesBalancedAllocationArgs(
  raw: Record<string, unknown> | undefined,
): NodeResourcesBalancedAllocationArgs {
  const errs: string[] = [];
  const args = raw ?? {};
  checkFields("", args, ["resources"], errs);
  const resources = resourceList("resources", args.resources, errs);
  const seen = new Set<string>();
  resources.forEach((r, i) => {
    if (seen.has(r.name)) errs.push(`resources[${i}].name: Duplicate value: ${JSON.stringify(r.name)}`);
    else seen.add(r.name);
    if (r.weight !== 1) errs.push(`resources[${i}].weight: Invalid value: ${r.weight}: must be 1`);
  });
  if (errs.length > 0) fail("NodeResourcesBalancedAllocation", errs);
  return { resources };
}
