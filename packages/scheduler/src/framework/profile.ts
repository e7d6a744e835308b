/**
 * KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1), the parts Skiff reads: profiles
 * with their plugin sets and plugin args, percentageOfNodesToScore, and the queue's backoff.
 * Plugin sets are resolved as kube resolves them: a profile's `multiPoint` list (the defaults,
 * minus `disabled`, plus `enabled`) enables a plugin at every extension point it implements; a
 * point's own `enabled` list comes first and its `disabled` list (or "*") removes multiPoint ones.
 */

export const EXTENSION_POINTS = [
  "preEnqueue",
  "queueSort",
  "preFilter",
  "filter",
  "postFilter",
  "preScore",
  "score",
  "reserve",
  "permit",
  "preBind",
  "bind",
  "postBind",
] as const;
export type ExtensionPoint = (typeof EXTENSION_POINTS)[number];

/** The method that says a plugin implements a point. */
export const POINT_METHOD: Record<ExtensionPoint, string> = {
  preEnqueue: "preEnqueue",
  queueSort: "less",
  preFilter: "preFilter",
  filter: "filter",
  postFilter: "postFilter",
  preScore: "preScore",
  score: "score",
  reserve: "reserve",
  permit: "permit",
  preBind: "preBind",
  bind: "bind",
  postBind: "postBind",
};

export interface PluginRef {
  name: string;
  weight?: number;
}

export interface PluginSet {
  enabled: PluginRef[];
  disabled: PluginRef[];
}

export interface Profile {
  schedulerName: string;
  percentageOfNodesToScore: number | undefined;
  multiPoint: PluginRef[];
  points: Record<ExtensionPoint, PluginSet>;
  pluginConfig: Map<string, Record<string, unknown>>;
}

export interface SchedulerConfig {
  profiles: Profile[];
  percentageOfNodesToScore: number | undefined;
  podInitialBackoffSeconds: number;
  podMaxBackoffSeconds: number;
}

export const DEFAULT_SCHEDULER_NAME = "default-scheduler";

/** kube 1.32's default multiPoint plugins and score weights (apis/config/v1/default_plugins.go). */
export const DEFAULT_PLUGINS: readonly PluginRef[] = [
  { name: "SchedulingGates" },
  { name: "PrioritySort" },
  { name: "NodeUnschedulable" },
  { name: "NodeName" },
  { name: "TaintToleration", weight: 3 },
  { name: "NodeAffinity", weight: 2 },
  { name: "NodePorts" },
  { name: "NodeResourcesFit", weight: 1 },
  { name: "VolumeBinding" },
  { name: "PodTopologySpread", weight: 2 },
  { name: "InterPodAffinity", weight: 2 },
  { name: "DefaultPreemption" },
  { name: "NodeResourcesBalancedAllocation", weight: 1 },
  { name: "ImageLocality", weight: 1 },
  { name: "DefaultBinder" },
];

export class ConfigError extends Error {}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function refs(v: unknown, path: string): PluginRef[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError(`${path}: must be a list`);
  return v.map((e, i) => {
    if (!isObj(e) || typeof e.name !== "string" || e.name === "")
      throw new ConfigError(`${path}[${i}].name: Required value`);
    const w = e.weight;
    if (w !== undefined && (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 100))
      throw new ConfigError(
        `${path}[${i}].weight: Invalid value: ${JSON.stringify(w)}: must be an integer in [0, 100]`,
      );
    return w === undefined || w === 0 ? { name: e.name } : { name: e.name, weight: w };
  });
}

function pluginSet(v: unknown, path: string): PluginSet {
  if (v === undefined || v === null) return { enabled: [], disabled: [] };
  if (!isObj(v)) throw new ConfigError(`${path}: must be an object`);
  return { enabled: refs(v.enabled, `${path}.enabled`), disabled: refs(v.disabled, `${path}.disabled`) };
}

function percentage(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 100)
    throw new ConfigError(`${path}: Invalid value: ${JSON.stringify(v)}: not in valid range [0-100]`);
  return v === 0 ? undefined : v;
}

function profile(v: unknown, i: number, global: number | undefined): Profile {
  const path = `profiles[${i}]`;
  if (!isObj(v)) throw new ConfigError(`${path}: must be an object`);
  const schedulerName = v.schedulerName ?? DEFAULT_SCHEDULER_NAME;
  if (typeof schedulerName !== "string" || schedulerName === "")
    throw new ConfigError(`${path}.schedulerName: Required value`);
  const plugins = v.plugins === undefined ? {} : v.plugins;
  if (!isObj(plugins)) throw new ConfigError(`${path}.plugins: must be an object`);
  for (const k of Object.keys(plugins))
    if (k !== "multiPoint" && !(EXTENSION_POINTS as readonly string[]).includes(k))
      throw new ConfigError(`${path}.plugins: unknown field "${k}"`);
  const mp = pluginSet(plugins.multiPoint, `${path}.plugins.multiPoint`);
  const allOff = mp.disabled.some((d) => d.name === "*");
  const off = new Set(mp.disabled.map((d) => d.name));
  const multiPoint: PluginRef[] = [];
  for (const d of DEFAULT_PLUGINS) {
    if (allOff || off.has(d.name)) continue;
    const override = mp.enabled.find((e) => e.name === d.name);
    multiPoint.push(override ?? d);
  }
  for (const e of mp.enabled) if (!multiPoint.some((m) => m.name === e.name)) multiPoint.push(e);
  const points = {} as Record<ExtensionPoint, PluginSet>;
  for (const p of EXTENSION_POINTS) points[p] = pluginSet(plugins[p], `${path}.plugins.${p}`);
  const pluginConfig = new Map<string, Record<string, unknown>>();
  const pc = v.pluginConfig ?? [];
  if (!Array.isArray(pc)) throw new ConfigError(`${path}.pluginConfig: must be a list`);
  pc.forEach((e, j) => {
    if (!isObj(e) || typeof e.name !== "string")
      throw new ConfigError(`${path}.pluginConfig[${j}].name: Required value`);
    if (pluginConfig.has(e.name))
      throw new ConfigError(`${path}.pluginConfig[${j}]: Duplicate value: "${e.name}"`);
    pluginConfig.set(e.name, isObj(e.args) ? e.args : {});
  });
  return {
    schedulerName,
    percentageOfNodesToScore:
      percentage(v.percentageOfNodesToScore, `${path}.percentageOfNodesToScore`) ?? global,
    multiPoint,
    points,
    pluginConfig,
  };
}

/** Reads a KubeSchedulerConfiguration object (already parsed from YAML/JSON); undefined gives the defaults. */
export function parseSchedulerConfig(doc: unknown): SchedulerConfig {
  const d: Obj = doc === undefined || doc === null ? {} : isObj(doc) ? doc : {};
  if (doc !== undefined && doc !== null && !isObj(doc))
    throw new ConfigError("configuration: must be an object");
  if (d.apiVersion !== undefined && d.apiVersion !== "kubescheduler.config.k8s.io/v1")
    throw new ConfigError(`no kind "${String(d.kind)}" is registered for version "${String(d.apiVersion)}"`);
  if (d.kind !== undefined && d.kind !== "KubeSchedulerConfiguration")
    throw new ConfigError(`no kind "${String(d.kind)}" is registered for version "${String(d.apiVersion)}"`);
  const global = percentage(d.percentageOfNodesToScore, "percentageOfNodesToScore");
  const list = d.profiles === undefined ? [{}] : d.profiles;
  if (!Array.isArray(list) || list.length === 0)
    throw new ConfigError("profiles: Required value: must have at least one profile");
  const profiles = list.map((p, i) => profile(p, i, global));
  const names = new Set<string>();
  for (const [i, p] of profiles.entries()) {
    if (names.has(p.schedulerName))
      throw new ConfigError(`profiles[${i}].schedulerName: Duplicate value: "${p.schedulerName}"`);
    names.add(p.schedulerName);
  }
  const initial = d.podInitialBackoffSeconds ?? 1;
  const max = d.podMaxBackoffSeconds ?? 10;
  if (typeof initial !== "number" || initial <= 0)
    throw new ConfigError(
      `podInitialBackoffSeconds: Invalid value: ${JSON.stringify(initial)}: must be greater than 0`,
    );
  if (typeof max !== "number" || max < initial)
    throw new ConfigError(
      `podMaxBackoffSeconds: Invalid value: ${JSON.stringify(max)}: must be greater than or equal to PodInitialBackoffSeconds`,
    );
  return {
    profiles,
    percentageOfNodesToScore: global,
    podInitialBackoffSeconds: initial,
    podMaxBackoffSeconds: max,
  };
}

/**
 * The plugins enabled at one point, in order: the point's explicit list, then the multiPoint
 * plugins that implement it and are not disabled there. `implementsPoint` asks the instance.
 */
export function pluginsAt(
  profile: Profile,
  point: ExtensionPoint,
  implementsPoint: (name: string) => boolean,
): PluginRef[] {
  const set = profile.points[point];
  const off = new Set(set.disabled.map((d) => d.name));
  const out: PluginRef[] = [...set.enabled];
  if (off.has("*")) return out;
  for (const m of profile.multiPoint) {
    if (off.has(m.name) || out.some((o) => o.name === m.name)) continue;
    if (implementsPoint(m.name)) out.push(m);
  }
  return out;
}
