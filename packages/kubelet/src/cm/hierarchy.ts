/**
 * Where the cgroup hierarchies are mounted, read from /proc/self/mountinfo as runc and
 * libcontainer's cgroups package find them: cgroup v1 has one mount per hierarchy (cpu, memory,
 * pids, cpuset, name=systemd...), cgroup v2 one unified mount at /sys/fs/cgroup. A v1 machine
 * with a cgroup2 mount elsewhere (the "hybrid" layout, /sys/fs/cgroup/unified) is treated as v1.
 */
import { readFileSync } from "node:fs";

export interface CgroupMount {
  mountPoint: string;
  /** The v1 controllers of this hierarchy (e.g. ["cpu"], ["name=systemd"]); empty for v2. */
  controllers: string[];
}

export type CgroupLayout =
  | {
      version: 1;
      mounts: CgroupMount[];
      /** The hybrid layout's cgroup2 mount: runc may add dirs there, so removal looks too. */
      hybrid?: string;
    }
  | { version: 2; mountPoint: string };

/** The cgroup v1 controllers a hierarchy's super options may name (the others are mount options). */
const V1_CONTROLLERS = new Set([
  "cpu",
  "cpuacct",
  "cpuset",
  "memory",
  "devices",
  "freezer",
  "net_cls",
  "net_prio",
  "blkio",
  "perf_event",
  "hugetlb",
  "pids",
  "rdma",
  "misc",
]);

/** Undoes mountinfo's octal escapes (\040 for a space). */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

export function parseMountinfo(text: string, root = "/sys/fs/cgroup"): CgroupLayout {
  const v1: CgroupMount[] = [];
  let v2: string | undefined;
  let hybrid: string | undefined;
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(" ");
    const [fsType, , superOptions = ""] = line.slice(sep + 3).split(" ");
    const mountPoint = unescapeOctal(fields[4] ?? "");
    if (fsType === "cgroup2") {
      if (mountPoint === root) v2 = mountPoint;
      else if (mountPoint.startsWith(`${root}/`)) hybrid = mountPoint;
    }
    if (fsType === "cgroup") {
      const controllers = superOptions
        .split(",")
        .filter((o) => o.startsWith("name=") || V1_CONTROLLERS.has(o));
      v1.push({ mountPoint, controllers });
    }
  }
  if (v2 !== undefined) return { version: 2, mountPoint: v2 };
  return hybrid === undefined ? { version: 1, mounts: v1 } : { version: 1, mounts: v1, hybrid };
}

export function detectCgroupLayout(): CgroupLayout {
  return parseMountinfo(readFileSync("/proc/self/mountinfo", "utf8"));
}
