/**
 * Signal observations from the machine (makeSignalObservations over the summary API, cut to
 * what Skiff reads directly): memory.available is capacity less the working set, nodefs and
 * imagefs are the data dir's filesystem (the images live under it too), by statfs.
 */
import { readFile } from "node:fs/promises";
import { fsStats } from "../machine.js";
import type { SignalObservations } from "./manager.js";

/** MemAvailable from /proc/meminfo, in bytes. */
export async function memAvailableBytes(): Promise<number> {
  const text = await readFile("/proc/meminfo", "utf8");
  const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(text);
  if (m === null) throw new Error("no MemAvailable in /proc/meminfo");
  return Number(m[1]) * 1024;
}

export interface NodeSignalObserverOptions {
  dataDir: string;
  memoryCapacityBytes: number;
  /** The node's memory working set; default capacity less /proc/meminfo's MemAvailable. */
  memoryWorkingSet?: () => Promise<number>;
}

export function nodeSignalObserver(o: NodeSignalObserverOptions): () => Promise<SignalObservations> {
  return async () => {
    const workingSet =
      o.memoryWorkingSet === undefined
        ? o.memoryCapacityBytes - (await memAvailableBytes())
        : await o.memoryWorkingSet();
    const fs = await fsStats(o.dataDir);
    const disk = { available: fs.availableBytes, capacity: fs.capacityBytes };
    const inodes = { available: fs.inodesFree, capacity: fs.inodes };
    return {
      "memory.available": {
        available: Math.max(0, o.memoryCapacityBytes - workingSet),
        capacity: o.memoryCapacityBytes,
      },
      "nodefs.available": disk,
      "nodefs.inodesFree": inodes,
      "imagefs.available": disk,
      "imagefs.inodesFree": inodes,
    };
  };
}
