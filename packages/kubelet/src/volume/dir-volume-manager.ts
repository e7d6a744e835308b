/**
 * DirVolumeManager: the VolumeManager over plain directories under `<data-dir>/pods`, laid out
 * as kube's `pods/<podUID>/volumes/<plugin>/<name>` (plugin names as kube's, e.g.
 * kubernetes.io~configmap). emptyDir is a directory (medium Memory too: no tmpfs is mounted);
 * hostPath is the host's path after its type check; configMap, secret, downwardAPI and projected
 * are written with the AtomicWriter and rewritten on every setUpPod when their source changed,
 * as kube's periodic remount does.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { chmod, mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Container, Pod, ResourceList } from "@skiff/api";
import type { KubeletContainer, KubeletVolume } from "../api-types.js";
import type { EnvVarValue } from "../env/expansion.js";
import { podResolvConf } from "../network/dns.js";
import type { Mount } from "../runtime/runtime.js";
import { AtomicWriter, type Payload } from "./atomic-writer.js";
import { checkHostPathType } from "./host-path.js";
import { writeHostsFile } from "./hosts.js";
import { ETC_RESOLV_CONF_PATH, makeMounts } from "./mounts.js";
import {
  configMapPayload,
  DEFAULT_MODE,
  downwardAPIPayload,
  projectedPayload,
  secretPayload,
} from "./payload.js";
import { configMapNotFound, type KubeletObjectSource, secretNotFound } from "./sources.js";
import { VolumeError, type VolumeManager } from "./volumes.js";

export interface VolumeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface DirVolumeManagerOptions {
  /** `<data-dir>/pods`. */
  podsDir: string;
  sources: KubeletObjectSource;
  nodeName: string;
  logger: VolumeLogger;
  /** The node's allocatable, for resourceFieldRef items without a container limit. */
  nodeAllocatable?: () => ResourceList;
  /** For the managed /etc/hosts of pods with a subdomain. */
  clusterDomain?: string;
  /** The node's hosts file a host-network pod's /etc/hosts copies (default /etc/hosts). */
  nodeHostsFile?: string;
  /** Pod DNS: with it, every container gets the pod's managed /etc/resolv.conf. */
  dns?: PodDNSSettings;
}

/** The kubelet's DNS flags, and where the events kube records on the pod go. */
export interface PodDNSSettings {
  /** --cluster-dns. */
  clusterDNS: readonly string[];
  /** --resolv-conf: the host's resolver file for dnsPolicy Default ("" for none). */
  resolvConf: string;
  /** A Warning event on the pod (DNSConfigForming, MissingClusterDNS). */
  recordEvent?: (pod: Pod, reason: string, message: string) => void;
}

/** Extra inputs of mountsFor (the optional last argument). */
export interface PodMountOptions {
  /** The pod's IPs (primary first); with any, /etc/hosts is written and mounted as kube does. */
  podIPs?: readonly string[];
  /** The container's environment, for subPathExpr. */
  env?: readonly EnvVarValue[];
}

/** kube's plugin directory names. */
const PLUGIN_DIR = {
  emptyDir: "kubernetes.io~empty-dir",
  configMap: "kubernetes.io~configmap",
  secret: "kubernetes.io~secret",
  downwardAPI: "kubernetes.io~downward-api",
  projected: "kubernetes.io~projected",
} as const;

const ETC_HOSTS_FILE = "etc-hosts";
const RESOLV_CONF_FILE = "resolv.conf";

export class DirVolumeManager implements VolumeManager {
  constructor(private readonly opts: DirVolumeManagerOptions) {}

  podDir(podUID: string): string {
    return join(this.opts.podsDir, podUID);
  }

  async setUpPod(pod: Pod): Promise<Map<string, string>> {
    const uid = pod.metadata.uid ?? "";
    if (uid === "") throw new VolumeError("FailedMount", "the pod has no uid");
    await mkdir(join(this.podDir(uid), "volumes"), { recursive: true });
    const out = new Map<string, string>();
    let first: VolumeError | undefined;
    // Every volume is tried (the good ones still refresh); the first failure is thrown.
    for (const v of (pod.spec.volumes ?? []) as KubeletVolume[]) {
      try {
        out.set(v.name, await this.setUpVolume(pod, v));
      } catch (e) {
        const message = `MountVolume.SetUp failed for volume ${JSON.stringify(v.name)} : ${(e as Error).message}`;
        this.opts.logger.warn(
          { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, uid, volume: v.name },
          message,
        );
        first ??= new VolumeError("FailedMount", message);
      }
    }
    if (first !== undefined) throw first;
    return out;
  }

  private volumeDir(pod: Pod, plugin: keyof typeof PLUGIN_DIR, name: string): string {
    return join(this.podDir(pod.metadata.uid as string), "volumes", PLUGIN_DIR[plugin], name);
  }

  private async setUpVolume(pod: Pod, v: KubeletVolume): Promise<string> {
    const ns = pod.metadata.namespace;
    const allocatable = this.opts.nodeAllocatable?.() ?? {};
    if (v.hostPath !== undefined) {
      await checkHostPathType(v.hostPath.path, v.hostPath.type);
      return v.hostPath.path;
    }
    if (v.emptyDir !== undefined) {
      const dir = this.volumeDir(pod, "emptyDir", v.name);
      // kube makes an emptyDir world-writable (0777) so any container user can use it.
      await mkdir(dir, { recursive: true });
      await chmod(dir, 0o777);
      return dir;
    }
    if (v.configMap !== undefined) {
      const src = v.configMap;
      const optional = src.optional === true;
      const cm = await this.opts.sources.getConfigMap(ns, src.name);
      if (cm === undefined && !optional) throw new Error(configMapNotFound(src.name));
      const payload =
        cm === undefined
          ? new Map()
          : configMapPayload(src.items, cm, src.defaultMode ?? DEFAULT_MODE, optional);
      return this.write(this.volumeDir(pod, "configMap", v.name), payload);
    }
    if (v.secret !== undefined) {
      const src = v.secret;
      const optional = src.optional === true;
      const s = await this.opts.sources.getSecret(ns, src.secretName);
      if (s === undefined && !optional) throw new Error(secretNotFound(src.secretName));
      const payload =
        s === undefined ? new Map() : secretPayload(src.items, s, src.defaultMode ?? DEFAULT_MODE, optional);
      return this.write(this.volumeDir(pod, "secret", v.name), payload);
    }
    if (v.downwardAPI !== undefined) {
      const payload = downwardAPIPayload(
        v.downwardAPI.items ?? [],
        pod,
        v.downwardAPI.defaultMode ?? DEFAULT_MODE,
        allocatable,
      );
      return this.write(this.volumeDir(pod, "downwardAPI", v.name), payload);
    }
    if (v.projected !== undefined) {
      const payload = await projectedPayload(
        v.projected.sources ?? [],
        pod,
        v.projected.defaultMode ?? DEFAULT_MODE,
        this.opts.sources,
        allocatable,
      );
      return this.write(this.volumeDir(pod, "projected", v.name), payload);
    }
    throw new Error(
      "unsupported volume type (Skiff's kubelet serves emptyDir, hostPath, configMap, secret, downwardAPI, projected)",
    );
  }

  private async write(dir: string, payload: Payload): Promise<string> {
    await new AtomicWriter(dir).write(payload);
    return dir;
  }

  /**
   * Writes the pod's managed hosts file (`<pod dir>/etc-hosts`, kube's name) and returns its
   * path. mountsFor does it itself when given the pod's IPs.
   */
  makeHostsFile(pod: Pod, podIP: string | readonly string[]): string {
    const dir = this.podDir(pod.metadata.uid ?? "");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, ETC_HOSTS_FILE);
    const ips = typeof podIP === "string" ? (podIP === "" ? [] : [podIP]) : podIP;
    writeHostsFile(file, pod, ips, {
      ...(this.opts.clusterDomain === undefined ? {} : { clusterDomain: this.opts.clusterDomain }),
      ...(this.opts.nodeHostsFile === undefined ? {} : { nodeHostsFile: this.opts.nodeHostsFile }),
    });
    return file;
  }

  /**
   * Writes the pod's resolv.conf (`<pod dir>/resolv.conf`, as containerd keeps one per sandbox)
   * from its dnsPolicy and dnsConfig, and returns its path; undefined without DNS settings.
   * Events go out when the content changes, so a pod's containers starting one after another
   * do not repeat them (kube forms the configuration once per sandbox).
   */
  makeResolvConf(pod: Pod): string | undefined {
    const dns = this.opts.dns;
    if (dns === undefined) return undefined;
    const hostResolvConf = dns.resolvConf === "" ? undefined : readHostResolvConf(dns.resolvConf);
    const { content, events } = podResolvConf(pod, {
      clusterDNS: dns.clusterDNS,
      clusterDomain: this.opts.clusterDomain ?? "cluster.local",
      hostResolvConf,
    });
    const dir = this.podDir(pod.metadata.uid ?? "");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, RESOLV_CONF_FILE);
    let previous: string | undefined;
    try {
      previous = readFileSync(file, "utf8");
    } catch {
      previous = undefined;
    }
    if (previous !== content) {
      writeFileSync(file, content, { mode: 0o644 });
      for (const e of events) dns.recordEvent?.(pod, e.reason, e.message);
    }
    return file;
  }

  /**
   * makeMounts. With `extra.podIPs` (non-empty), the managed /etc/hosts is rewritten and
   * mounted, as kube does for every container of a pod that has IPs (a host-network pod's IPs
   * are the node's); a container that mounts /etc/hosts itself keeps its own. With DNS
   * settings, /etc/resolv.conf likewise (for every container, with or without IPs).
   */
  mountsFor(
    pod: Pod,
    container: Container,
    volumes: ReadonlyMap<string, string>,
    extra: PodMountOptions = {},
  ): Mount[] {
    const c = container as KubeletContainer;
    const podIPs = extra.podIPs ?? [];
    const wantsOwnHosts = (c.volumeMounts ?? []).some((m) => m.mountPath === "/etc/hosts");
    const etcHostsPath = podIPs.length > 0 && !wantsOwnHosts ? this.makeHostsFile(pod, podIPs) : undefined;
    const wantsOwnResolvConf = (c.volumeMounts ?? []).some((m) => m.mountPath === ETC_RESOLV_CONF_PATH);
    const etcResolvConfPath = wantsOwnResolvConf ? undefined : this.makeResolvConf(pod);
    return makeMounts(pod, c, volumes, {
      ...(extra.env === undefined ? {} : { env: extra.env }),
      ...(etcHostsPath === undefined ? {} : { etcHostsPath }),
      ...(etcResolvConfPath === undefined ? {} : { etcResolvConfPath }),
    });
  }

  async tearDownPod(podUID: string): Promise<void> {
    if (podUID === "" || podUID.includes("/") || podUID.startsWith(".")) return;
    await rm(this.podDir(podUID), { recursive: true, force: true });
  }

  async listPods(): Promise<string[]> {
    const entries = await readdir(this.opts.podsDir, { withFileTypes: true }).catch(
      (e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT") return [];
        throw e;
      },
    );
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  }
}

/**
 * The host's resolver file. kube fails every pod's sandbox when it is missing; a machine or CI
 * container without one is common enough that Skiff reads a missing file as an empty one
 * (no nameservers: ClusterFirst pods still get the cluster DNS). Other read errors still fail.
 */
function readHostResolvConf(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw e;
  }
}
