/**
 * A spec container turned into the runtime's ContainerConfig, as kuberuntime_container.go
 * generateContainerConfig: the argv is the container's command then args (kube's rule: command
 * replaces the image's entrypoint, args its cmd; the runtime fills in what is empty from the
 * image), env from the injected environment builder, mounts from the volume manager, limits
 * from resources (kube's MilliCPUToShares and MilliCPUToQuota rules), cgroups path below the
 * pod's parent, the pod's UTS namespace and hostname, log path from the injected log path
 * builder, and kube's labels.
 */
import { type Container, type Pod, parseQuantity } from "@skiff/api";
import type { KubeletContainer } from "../api-types.js";
import { expandCommand } from "../env/expansion.js";
import type { ContainerConfig, Mount } from "../runtime/runtime.js";
import { podHostnameAndDomain } from "../volume/hosts.js";
import { type ContainerType, containerLabels } from "./labels.js";

/** kube's MinShares: the least cpu.shares a container gets (no cpu request). */
const MIN_SHARES = 2;

export interface ContainerConfigInput {
  pod: Pod;
  container: Container;
  type: ContainerType;
  id: string;
  imageRef: string;
  restartCount: number;
  env: ReadonlyArray<{ name: string; value: string }>;
  mounts: readonly Mount[];
  netnsPath?: string;
  /** The pod's UTS namespace (its hostname is set there); absent for hostNetwork pods. */
  utsPath?: string;
  podCgroupParent?: string;
  logPath: string;
}

/** MilliCPUToShares: requests.cpu (or limits.cpu, which API defaulting copies) in shares. */
export function cpuShares(c: Container): number {
  const q = c.resources?.requests?.cpu ?? c.resources?.limits?.cpu;
  if (q === undefined) return MIN_SHARES;
  const milli = Math.round(parseQuantity(q) * 1000);
  return Math.max(MIN_SHARES, Math.floor((milli * 1024) / 1000));
}

export function generateContainerConfig(input: ContainerConfigInput): ContainerConfig {
  const c = input.container as KubeletContainer;
  const cfg: ContainerConfig = {
    id: input.id,
    image: input.imageRef,
    // kube expands $(VAR) in command and args against the container's environment.
    args: expandCommand([...(c.command ?? []), ...(c.args ?? [])], input.env),
    env: input.env,
    mounts: input.mounts,
    labels: containerLabels(input.pod, c, input.type, input.restartCount),
    logPath: input.logPath,
    cpuShares: cpuShares(c),
  };
  // A hostNetwork pod has the node's hostname (kube shares the host's UTS namespace with it).
  if (input.pod.spec.hostNetwork !== true) cfg.hostname = podHostnameAndDomain(input.pod).hostname;
  if (input.utsPath !== undefined) cfg.utsPath = input.utsPath;
  if (c.workingDir !== undefined) cfg.workingDir = c.workingDir;
  if (input.netnsPath !== undefined) cfg.netnsPath = input.netnsPath;
  if (input.podCgroupParent !== undefined) cfg.cgroupsPath = `${input.podCgroupParent}/${input.id}`;
  const mem = c.resources?.limits?.memory;
  if (mem !== undefined) cfg.memoryLimitBytes = Math.round(parseQuantity(mem));
  const cpu = c.resources?.limits?.cpu;
  if (cpu !== undefined) cfg.cpuLimitCores = parseQuantity(cpu);
  return cfg;
}
