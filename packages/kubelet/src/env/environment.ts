/**
 * A container's environment as kube's Kubelet.makeEnvironmentVariables builds it: service link
 * variables (the pod's namespace when enableServiceLinks, always the master "kubernetes"
 * Service), then envFrom (ConfigMaps and Secrets, with prefix; keys that are not valid names
 * skipped with an InvalidEnvironmentVariableNames event), then env in order: a value expanded
 * against the variables before it and the service variables, or valueFrom (fieldRef,
 * resourceFieldRef, configMapKeyRef, secretKeyRef). Service variables come last and only where
 * the container did not set the same name.
 */
import type { Container, Pod, ResourceList } from "@skiff/api";
import type { EnvFromSource, EnvVar, KubeletContainer } from "../api-types.js";
import {
  type ConfigMap,
  configMapNotFound,
  type KubeletObjectSource,
  type Secret,
  secretNotFound,
} from "../volume/sources.js";
import { type EnvVarValue, expand, mappingFuncFor } from "./expansion.js";
import { podFieldSelectorRuntimeValue } from "./fieldpath.js";
import {
  extractContainerResourceValue,
  extractResourceValueByContainerName,
  mergeContainerResourceLimits,
} from "./resource.js";
import { type Service, serviceEnvVars } from "./service-env.js";

/** A reference the container cannot start without: kube's CreateContainerConfigError. */
export class CreateContainerConfigError extends Error {
  readonly reason = "CreateContainerConfigError";
}

export interface EnvironmentOptions {
  /** The pod's primary IP; podIPs wins when given. */
  podIP?: string;
  podIPs?: readonly string[];
  /** The node's primary IP; hostIPs wins when given. */
  hostIP?: string;
  hostIPs?: readonly string[];
  /** spec.nodeName's value when the pod does not carry one (static pods). */
  nodeName: string;
  sources: KubeletObjectSource;
  /** The Services of a namespace (a lister); without it there are no service variables. */
  services?: (namespace: string) => Promise<readonly Service[]>;
  /** Where the master Service "kubernetes" lives (kubelet's masterServiceNamespace). */
  masterServiceNamespace?: string;
  /** Used when the pod leaves spec.enableServiceLinks unset (the API defaults it to true). */
  enableServiceLinks?: boolean;
  /** Limits a resourceFieldRef reads where the container sets none (the node's allocatable). */
  nodeAllocatable?: ResourceList;
  /** Warnings the kubelet records as events on the pod (InvalidEnvironmentVariableNames). */
  recordEvent?: (type: "Normal" | "Warning", reason: string, message: string) => void;
}

/** IsEnvVarName: letters, digits, "_", "-" and ".", not starting with a digit. */
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");

export async function makeEnvironment(
  pod: Pod,
  container: Container,
  opts: EnvironmentOptions,
): Promise<EnvVarValue[]> {
  const c = container as KubeletContainer;
  const ns = pod.metadata.namespace;
  const serviceEnv = await serviceEnvFor(pod, opts);
  const configMaps = new Map<string, ConfigMap | undefined>();
  const secrets = new Map<string, Secret | undefined>();
  const getConfigMap = async (name: string) => {
    if (!configMaps.has(name)) configMaps.set(name, await opts.sources.getConfigMap(ns, name));
    return configMaps.get(name);
  };
  const getSecret = async (name: string) => {
    if (!secrets.has(name)) secrets.set(name, await opts.sources.getSecret(ns, name));
    return secrets.get(name);
  };

  const tmpEnv = new Map<string, string>();
  for (const from of c.envFrom ?? []) await addEnvFrom(pod, from, tmpEnv, getConfigMap, getSecret, opts);

  const mapping = mappingFuncFor(tmpEnv, serviceEnv);
  for (const v of c.env ?? []) {
    const value = await envVarValue(pod, c, v, mapping, getConfigMap, getSecret, opts);
    if (value !== undefined) tmpEnv.set(v.name, value);
  }

  const result: EnvVarValue[] = [...tmpEnv].map(([name, value]) => ({ name, value }));
  for (const [name, value] of serviceEnv) if (!tmpEnv.has(name)) result.push({ name, value });
  return result;
}

async function serviceEnvFor(pod: Pod, opts: EnvironmentOptions): Promise<Map<string, string>> {
  if (opts.services === undefined) return new Map();
  const ns = pod.metadata.namespace;
  const master = opts.masterServiceNamespace ?? "default";
  const links =
    typeof pod.spec.enableServiceLinks === "boolean"
      ? pod.spec.enableServiceLinks
      : (opts.enableServiceLinks ?? true);
  const services = [...(await opts.services(ns))];
  if (master !== ns) services.push(...(await opts.services(master)));
  return serviceEnvVars(services, ns, master, links);
}

async function addEnvFrom(
  pod: Pod,
  from: EnvFromSource,
  tmpEnv: Map<string, string>,
  getConfigMap: (name: string) => Promise<ConfigMap | undefined>,
  getSecret: (name: string) => Promise<Secret | undefined>,
  opts: EnvironmentOptions,
): Promise<void> {
  const prefix = from.prefix ?? "";
  let data: Record<string, string>;
  let what: string;
  let name: string;
  if (from.configMapRef !== undefined) {
    name = from.configMapRef.name;
    what = "configMap";
    const cm = await getConfigMap(name);
    if (cm === undefined) {
      if (from.configMapRef.optional === true) return;
      throw new CreateContainerConfigError(configMapNotFound(name));
    }
    data = cm.data ?? {};
  } else if (from.secretRef !== undefined) {
    name = from.secretRef.name;
    what = "secret";
    const s = await getSecret(name);
    if (s === undefined) {
      if (from.secretRef.optional === true) return;
      throw new CreateContainerConfigError(secretNotFound(name));
    }
    data = Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, decode(v)]));
  } else return;
  const invalid: string[] = [];
  for (const key of Object.keys(data).sort()) {
    const k = prefix + key;
    if (!ENV_VAR_NAME.test(k)) invalid.push(k);
    else tmpEnv.set(k, data[key] as string);
  }
  if (invalid.length > 0)
    opts.recordEvent?.(
      "Warning",
      "InvalidEnvironmentVariableNames",
      `Keys [${invalid.join(", ")}] from the EnvFrom ${what} ${pod.metadata.namespace}/${name} were skipped since they are considered invalid environment variable names.`,
    );
}

/** One env entry's value; undefined when an optional reference is missing (the entry is skipped). */
async function envVarValue(
  pod: Pod,
  container: KubeletContainer,
  v: EnvVar,
  mapping: (name: string) => string,
  getConfigMap: (name: string) => Promise<ConfigMap | undefined>,
  getSecret: (name: string) => Promise<Secret | undefined>,
  opts: EnvironmentOptions,
): Promise<string | undefined> {
  if (v.value !== undefined && v.value !== "") return expand(v.value, mapping);
  const from = v.valueFrom;
  if (from === undefined) return v.value ?? "";
  const ns = pod.metadata.namespace;
  try {
    if (from.fieldRef !== undefined) {
      const podIPs = opts.podIPs ?? (opts.podIP === undefined || opts.podIP === "" ? [] : [opts.podIP]);
      const hostIPs = opts.hostIPs ?? (opts.hostIP === undefined || opts.hostIP === "" ? [] : [opts.hostIP]);
      const withNode = pod.spec.nodeName ? pod : { ...pod, spec: { ...pod.spec, nodeName: opts.nodeName } };
      return podFieldSelectorRuntimeValue(withNode, from.fieldRef.fieldPath, { podIPs, hostIPs });
    }
    if (from.resourceFieldRef !== undefined) {
      const fs = from.resourceFieldRef;
      const allocatable = opts.nodeAllocatable ?? {};
      if (fs.containerName === undefined || fs.containerName === "")
        return extractContainerResourceValue(fs, mergeContainerResourceLimits(container, allocatable));
      return extractResourceValueByContainerName(fs, pod, fs.containerName, allocatable);
    }
  } catch (e) {
    throw new CreateContainerConfigError((e as Error).message);
  }
  if (from.configMapKeyRef !== undefined) {
    const { name = "", key, optional } = from.configMapKeyRef;
    const cm = await getConfigMap(name);
    if (cm === undefined) {
      if (optional === true) return undefined;
      throw new CreateContainerConfigError(configMapNotFound(name));
    }
    const value = cm.data?.[key];
    if (value !== undefined) return value;
    if (optional === true) return undefined;
    throw new CreateContainerConfigError(`couldn't find key ${key} in ConfigMap ${ns}/${name}`);
  }
  if (from.secretKeyRef !== undefined) {
    const { name = "", key, optional } = from.secretKeyRef;
    const s = await getSecret(name);
    if (s === undefined) {
      if (optional === true) return undefined;
      throw new CreateContainerConfigError(secretNotFound(name));
    }
    const value = s.data?.[key];
    if (value !== undefined) return decode(value);
    if (optional === true) return undefined;
    throw new CreateContainerConfigError(`couldn't find key ${key} in Secret ${ns}/${name}`);
  }
  return "";
}
