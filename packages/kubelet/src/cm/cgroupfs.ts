/**
 * PodCgroups on the cgroupfs driver, as kube's cgroupfs cgroup manager lays the tree out under
 * --cgroup-root: `/skiff-<node>/kubepods` for Guaranteed pods, `kubepods/burstable` and
 * `kubepods/besteffort` for the others, one `pod<uid>` directory per pod with the pod-level
 * limits of ResourceConfigForPod; runc puts each container at `<pod>/<containerId>`.
 * cgroup v1 (one directory per hierarchy, made in every mounted hierarchy as runc does) is what
 * the project's machines run; v2 (one unified tree, controllers enabled down the path) is
 * handled for the same files' v2 names.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Pod } from "@skiff/api";
import type { NetworkLogger as Logger } from "../network/logger.js";
import { validateNodeName, validatePodUID } from "../network/names.js";
import type { PodCgroups } from "./cgroups.js";
import { type CgroupLayout, detectCgroupLayout } from "./hierarchy.js";
import { getPodQOS } from "./qos.js";
import {
  MIN_SHARES,
  milliCPUToShares,
  podCPURequestMilli,
  type ResourceConfig,
  resourceConfigForPod,
} from "./resources.js";

export interface CgroupfsPodCgroupsOptions {
  nodeName: string;
  logger: Logger;
  /** Defaults to what /proc/self/mountinfo shows. */
  layout?: CgroupLayout;
}

const QOS_PARENTS = ["kubepods", "kubepods/burstable", "kubepods/besteffort"] as const;
const POD_DIR = /^pod([0-9a-f][0-9a-f-]*[0-9a-f])$/;

export class CgroupfsPodCgroups implements PodCgroups {
  /** The node's cgroup root, as --cgroup-root. */
  readonly root: string;
  readonly layout: CgroupLayout;
  private readonly logger: Logger;
  /** cpu requests of the burstable pods this agent ensured (the burstable cgroup's shares). */
  private readonly burstable = new Map<string, number>();

  constructor(opts: CgroupfsPodCgroupsOptions) {
    this.root = `/skiff-${validateNodeName(opts.nodeName)}`;
    this.layout = opts.layout ?? detectCgroupLayout();
    this.logger = opts.logger;
  }

  podPath(pod: Pod): string {
    const uid = validatePodUID(String(pod.metadata?.uid ?? ""));
    const qos = getPodQOS(pod);
    const parent =
      qos === "Guaranteed" ? "kubepods" : qos === "Burstable" ? "kubepods/burstable" : "kubepods/besteffort";
    return `${this.root}/${parent}/pod${uid}`;
  }

  /** The directories a runc path maps to: one per v1 hierarchy, or the one v2 directory. */
  private bases(withHybrid = false): string[] {
    if (this.layout.version === 2) return [this.layout.mountPoint];
    const bases = this.layout.mounts.map((m) => m.mountPoint);
    if (withHybrid && this.layout.hybrid !== undefined) bases.push(this.layout.hybrid);
    return bases;
  }

  private mountOf(controller: string): string | undefined {
    if (this.layout.version === 2) return this.layout.mountPoint;
    return this.layout.mounts.find((m) => m.controllers.includes(controller))?.mountPoint;
  }

  async ensurePod(pod: Pod): Promise<string> {
    const path = this.podPath(pod);
    const uid = String(pod.metadata?.uid);
    for (const parent of QOS_PARENTS) this.makePath(`${this.root}/${parent}`);
    this.makePath(path);
    const config = resourceConfigForPod(pod);
    this.apply(path, config);
    // The QoS cgroups as kube's qos container manager keeps them: besteffort gets the minimum
    // shares, burstable the sum of its pods' cpu requests.
    if (getPodQOS(pod) === "Burstable") this.burstable.set(uid, podCPURequestMilli(pod));
    else this.burstable.delete(uid);
    this.updateQOSShares();
    this.logger.debug({ podUID: uid, path, config }, "pod cgroup ensured");
    return path;
  }

  /** mkdir -p of a runc path in every hierarchy; new cpuset dirs get their parent's cpus and mems. */
  private makePath(path: string): void {
    if (this.layout.version === 2) {
      const segments = path.split("/").filter((s) => s !== "");
      let dir = this.layout.mountPoint;
      for (const seg of segments) {
        // Controllers a child may use must be enabled in its parent's subtree_control.
        this.enableV2Controllers(dir);
        dir = join(dir, seg);
        mkdirSync(dir, { recursive: true });
      }
      return;
    }
    for (const m of this.layout.mounts) {
      const isCpuset = m.controllers.includes("cpuset");
      let dir = m.mountPoint;
      for (const seg of path.split("/").filter((s) => s !== "")) {
        const parent = dir;
        dir = join(dir, seg);
        if (existsSync(dir)) continue;
        mkdirSync(dir);
        if (isCpuset) for (const f of ["cpuset.cpus", "cpuset.mems"]) copyIfEmpty(parent, dir, f);
      }
    }
  }

  private enableV2Controllers(dir: string): void {
    let available: string[];
    try {
      available = readFileSync(join(dir, "cgroup.controllers"), "utf8").trim().split(/\s+/);
    } catch {
      return;
    }
    const wanted = ["cpu", "memory", "pids"].filter((c) => available.includes(c));
    const enabled = readFileSync(join(dir, "cgroup.subtree_control"), "utf8").trim().split(/\s+/);
    const missing = wanted.filter((c) => !enabled.includes(c));
    if (missing.length > 0)
      writeFileSync(join(dir, "cgroup.subtree_control"), missing.map((c) => `+${c}`).join(" "));
  }

  /** Writes the limit files (v1: cpu.shares, cpu.cfs_*, memory.limit_in_bytes; v2: cpu.weight, cpu.max, memory.max). */
  private apply(path: string, config: ResourceConfig): void {
    const cpu = this.mountOf("cpu");
    const memory = this.mountOf("memory");
    if (this.layout.version === 2) {
      const dir = join(this.layout.mountPoint, path);
      if (config.cpuShares !== undefined)
        writeFileSync(join(dir, "cpu.weight"), String(sharesToWeight(config.cpuShares)));
      const quota = config.cpuQuota !== undefined && config.cpuQuota > 0 ? String(config.cpuQuota) : "max";
      if (config.cpuPeriod !== undefined) writeFileSync(join(dir, "cpu.max"), `${quota} ${config.cpuPeriod}`);
      if (config.memory !== undefined && config.memory > 0)
        writeFileSync(join(dir, "memory.max"), String(config.memory));
      return;
    }
    if (cpu !== undefined) {
      const dir = join(cpu, path);
      if (config.cpuShares !== undefined) writeFileSync(join(dir, "cpu.shares"), String(config.cpuShares));
      if (config.cpuPeriod !== undefined)
        writeFileSync(join(dir, "cpu.cfs_period_us"), String(config.cpuPeriod));
      if (config.cpuQuota !== undefined && config.cpuQuota > 0)
        writeFileSync(join(dir, "cpu.cfs_quota_us"), String(config.cpuQuota));
    }
    if (memory !== undefined && config.memory !== undefined && config.memory > 0)
      writeFileSync(join(memory, path, "memory.limit_in_bytes"), String(config.memory));
  }

  private updateQOSShares(): void {
    let milli = 0;
    for (const v of this.burstable.values()) milli += v;
    this.apply(`${this.root}/kubepods/besteffort`, { cpuShares: MIN_SHARES });
    this.apply(`${this.root}/kubepods/burstable`, { cpuShares: milliCPUToShares(milli) });
  }

  /** The pod's directories in every hierarchy that has one. */
  private podDirs(uid: string): string[] {
    const dirs: string[] = [];
    for (const base of this.bases(true))
      for (const parent of QOS_PARENTS) {
        const dir = join(base, this.root, parent, `pod${uid}`);
        if (existsSync(dir)) dirs.push(dir);
      }
    return dirs;
  }

  async removePod(podUID: string): Promise<void> {
    const uid = validatePodUID(podUID);
    for (const dir of this.podDirs(uid)) await removeTree(dir);
    if (this.burstable.delete(uid)) this.updateQOSShares();
    this.logger.debug({ podUID: uid }, "pod cgroup removed");
  }

  async listPods(): Promise<string[]> {
    const uids = new Set<string>();
    for (const base of this.bases(true))
      for (const parent of QOS_PARENTS) {
        let names: string[];
        try {
          names = readdirSync(join(base, this.root, parent));
        } catch {
          continue;
        }
        for (const n of names) {
          const m = POD_DIR.exec(n);
          if (m?.[1] !== undefined) uids.add(m[1]);
        }
      }
    return [...uids].sort();
  }

  async podMemoryWorkingSet(podUID: string): Promise<number | undefined> {
    const uid = validatePodUID(podUID);
    const memory = this.mountOf("memory");
    if (memory === undefined) return undefined;
    const dir = QOS_PARENTS.map((p) => join(memory, this.root, p, `pod${uid}`)).find((d) => existsSync(d));
    if (dir === undefined) return undefined;
    const v2 = this.layout.version === 2;
    try {
      const usage = Number(
        readFileSync(join(dir, v2 ? "memory.current" : "memory.usage_in_bytes"), "utf8").trim(),
      );
      const stat = readFileSync(join(dir, "memory.stat"), "utf8");
      const key = v2 ? "inactive_file" : "total_inactive_file";
      const m = new RegExp(`^${key} (\\d+)$`, "m").exec(stat);
      const inactive = m?.[1] === undefined ? 0 : Number(m[1]);
      // As cadvisor's working set: usage minus inactive file pages, never below zero.
      return Math.max(0, usage - inactive);
    } catch {
      return undefined;
    }
  }

  async removeNode(): Promise<void> {
    for (const base of this.bases(true)) {
      const dir = join(base, this.root);
      if (existsSync(dir)) await removeTree(dir);
    }
    this.burstable.clear();
  }
}

/** runc's ConvertCPUSharesToCgroupV2Value: shares [2, 262144] onto weight [1, 10000]. */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

function copyIfEmpty(from: string, to: string, file: string): void {
  try {
    if (readFileSync(join(to, file), "utf8").trim() !== "") return;
    writeFileSync(join(to, file), readFileSync(join(from, file), "utf8").trim());
  } catch {
    // Not a cpuset hierarchy after all, or the parent is empty too: runc copies again later.
  }
}

const BUSY_RETRY_MS = 2000;

/**
 * rmdir deepest first: a cgroup directory holds only its control files once its children are
 * gone, and rmdir is the way to remove it. A cgroup whose last process is still exiting answers
 * EBUSY for a moment, so that is retried briefly.
 */
async function removeTree(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  for (const name of entries) await removeTree(join(dir, name));
  const deadline = Date.now() + BUSY_RETRY_MS;
  for (;;) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      if (code !== "EBUSY" || Date.now() >= deadline) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
