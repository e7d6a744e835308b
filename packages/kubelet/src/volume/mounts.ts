/**
 * A container's mounts from its volumeMounts, as the kubelet's makeMounts: the volume's host
 * path (joined with subPath, or subPathExpr expanded from the container's env), read-only when
 * the mount asks or the volume kind must be (configMap, secret, downwardAPI, projected), and
 * the managed /etc/hosts and /etc/resolv.conf unless the container mounts that path itself (for
 * resolv.conf as containerd's CRI plugin does: it mounts the sandbox's file unless the container
 * mounts /etc/resolv.conf).
 */
import { existsSync, mkdirSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";
import type { Pod } from "@skiff/api";
import type { KubeletContainer, KubeletVolume, VolumeMount } from "../api-types.js";
import { CreateContainerConfigError } from "../env/environment.js";
import { type EnvVarValue, envVarsToMap, expand } from "../env/expansion.js";
import type { Mount } from "../runtime/runtime.js";

export const ETC_HOSTS_PATH = "/etc/hosts";
export const ETC_RESOLV_CONF_PATH = "/etc/resolv.conf";

/** The volume kinds kube always mounts read-only (their mounter's Attributes().ReadOnly). */
export function mustMountReadOnly(v: KubeletVolume | undefined): boolean {
  return (
    v !== undefined &&
    (v.configMap !== undefined ||
      v.secret !== undefined ||
      v.downwardAPI !== undefined ||
      v.projected !== undefined)
  );
}

/** ExpandContainerVolumeMounts: every referenced variable must have a non-empty value. */
export function expandSubPathExpr(expr: string, env: readonly EnvVarValue[]): string {
  const vars = envVarsToMap(env);
  const missing = new Set<string>();
  const out = expand(expr, (k) => {
    const v = vars.get(k);
    if (v === undefined || v === "") missing.add(k);
    return v ?? "";
  });
  if (missing.size > 0)
    throw new CreateContainerConfigError(`missing value for ${[...missing].sort().join(", ")}`);
  return out;
}

/**
 * The host path of a subPath inside volumePath; made a directory when absent (with the
 * volume's permissions, as kube's SafeMakeDir) and refused when a symlink leads outside it.
 */
export function subPathHostPath(volumePath: string, subPath: string): string {
  if (isAbsolute(subPath))
    throw new CreateContainerConfigError(`error SubPath \`${subPath}\` must not be an absolute path`);
  if (subPath.split("/").includes(".."))
    throw new CreateContainerConfigError(`unable to provision SubPath \`${subPath}\`: must not contain '..'`);
  const hostPath = join(volumePath, subPath);
  if (!existsSync(hostPath))
    mkdirSync(hostPath, { recursive: true, mode: statSync(volumePath).mode & 0o7777 });
  const root = realpathSync(volumePath);
  const real = realpathSync(hostPath);
  const rel = relative(root, real);
  if (rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel))
    throw new CreateContainerConfigError(
      `subpath ${JSON.stringify(real)} not within volume path ${JSON.stringify(root)}`,
    );
  return real;
}

export interface MountsForOptions {
  /** The container's environment, for subPathExpr. */
  env?: readonly EnvVarValue[];
  /** The managed /etc/hosts file to mount; absent: none (kube mounts it once the pod has IPs). */
  etcHostsPath?: string;
  /** The pod's resolv.conf file to mount; absent: none (the image's own stays). */
  etcResolvConfPath?: string;
}

export function makeMounts(
  pod: Pod,
  container: KubeletContainer,
  volumes: ReadonlyMap<string, string>,
  opts: MountsForOptions,
): Mount[] {
  const specVolumes = new Map(((pod.spec.volumes ?? []) as KubeletVolume[]).map((v) => [v.name, v]));
  const mounts: Mount[] = [];
  let mountEtcHosts = opts.etcHostsPath !== undefined;
  let mountResolvConf = opts.etcResolvConfPath !== undefined;
  for (const m of (container.volumeMounts ?? []) as VolumeMount[]) {
    if (m.mountPath === ETC_HOSTS_PATH) mountEtcHosts = false;
    if (m.mountPath === ETC_RESOLV_CONF_PATH) mountResolvConf = false;
    const volumePath = volumes.get(m.name);
    if (volumePath === undefined)
      throw new CreateContainerConfigError(
        `cannot find volume ${JSON.stringify(m.name)} to mount into container ${JSON.stringify(container.name)}`,
      );
    let subPath = m.subPath ?? "";
    if (m.subPathExpr !== undefined && m.subPathExpr !== "")
      subPath = expandSubPathExpr(m.subPathExpr, opts.env ?? []);
    const hostPath = subPath === "" ? volumePath : subPathHostPath(volumePath, subPath);
    mounts.push({
      hostPath,
      containerPath: m.mountPath,
      readOnly: m.readOnly === true || mustMountReadOnly(specVolumes.get(m.name)),
    });
  }
  if (mountEtcHosts)
    mounts.push({ hostPath: opts.etcHostsPath as string, containerPath: ETC_HOSTS_PATH, readOnly: false });
  if (mountResolvConf)
    mounts.push({
      hostPath: opts.etcResolvConfPath as string,
      containerPath: ETC_RESOLV_CONF_PATH,
      readOnly: false,
    });
  return mounts;
}
