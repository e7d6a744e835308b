/**
 * What the kubelet knows of its machine (cadvisor's MachineInfo as kubelet's
 * nodestatus.MachineInfo and NodeInfo setters read it): CPUs, memory, the data dir's filesystem
 * (ephemeral-storage), and the identities nodeInfo reports (machine-id, system UUID, boot id,
 * kernel, OS image). Capacity values may be overridden by flags, which tests use to pretend a
 * machine of a given size.
 */
import { readFileSync } from "node:fs";
import { statfs } from "node:fs/promises";
import os from "node:os";

export interface MachineInfo {
  /** Logical CPUs (cadvisor's NumCores). */
  cpus: number;
  /** Bytes of memory (cadvisor's MemoryCapacity). */
  memoryBytes: number;
  /** Bytes of the filesystem holding the data dir (cadvisor's RootFsInfo capacity). */
  ephemeralStorageBytes: number;
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  /** GOOS / GOARCH spelling: "linux", "amd64". */
  operatingSystem: string;
  architecture: string;
}

/** Flags that replace what was read (e.g. a small machine in tests). */
export type MachineOverrides = Partial<MachineInfo>;

/** A filesystem's size as statfs gives it, in bytes and inodes. */
export interface FsStats {
  capacityBytes: number;
  availableBytes: number;
  inodes: number;
  inodesFree: number;
}

/** statfs(2) of the filesystem holding `path` (cadvisor's GetDirFsInfo). */
export async function fsStats(path: string): Promise<FsStats> {
  const s = await statfs(path);
  return {
    capacityBytes: s.blocks * s.bsize,
    // bavail, not bfree: what unprivileged writers can still use, as cadvisor reports Available.
    availableBytes: s.bavail * s.bsize,
    inodes: s.files,
    inodesFree: s.ffree,
  };
}

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** /etc/os-release's PRETTY_NAME, as cadvisor's getOperatingSystem; "Linux" when absent. */
export function osImageFrom(osRelease: string | undefined): string {
  const m = /^PRETTY_NAME=(.*)$/m.exec(osRelease ?? "");
  if (m === null) return "Linux";
  return (m[1] ?? "").trim().replace(/^"(.*)"$/, "$1");
}

/** Node's process.arch in Go's GOARCH words. */
export function goArch(arch: string = process.arch): string {
  const map: Record<string, string> = {
    x64: "amd64",
    ia32: "386",
    arm64: "arm64",
    arm: "arm",
    s390x: "s390x",
    ppc64: "ppc64le",
  };
  return map[arch] ?? arch;
}

/** Reads the machine; `overrides` win field by field. */
export async function machineInfo(dataDir: string, overrides: MachineOverrides = {}): Promise<MachineInfo> {
  const fs = overrides.ephemeralStorageBytes === undefined ? await fsStats(dataDir) : undefined;
  const machineID = readTrimmed("/etc/machine-id") ?? readTrimmed("/var/lib/dbus/machine-id") ?? "";
  return {
    cpus: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    ephemeralStorageBytes: fs?.capacityBytes ?? 0,
    machineID,
    // Reading product_uuid needs root; cadvisor falls back to empty, Skiff to the machine id.
    systemUUID: (readTrimmed("/sys/class/dmi/id/product_uuid") ?? machineID).toLowerCase(),
    bootID: readTrimmed("/proc/sys/kernel/random/boot_id") ?? "",
    kernelVersion: os.release(),
    osImage: osImageFrom(readTrimmed("/etc/os-release")),
    operatingSystem: "linux",
    architecture: goArch(),
    ...overrides,
  };
}

const BINARY: [number, string][] = [
  [60, "Ei"],
  [50, "Pi"],
  [40, "Ti"],
  [30, "Gi"],
  [20, "Mi"],
  [10, "Ki"],
];

/**
 * A byte count as a BinarySI resource.Quantity prints it: the largest binary suffix that keeps
 * it whole ("16Gi", "102687672Ki"), else the plain number ("94636958354").
 */
export function formatBytes(n: number): string {
  const v = Math.trunc(n);
  if (v === 0) return "0";
  for (const [p, s] of BINARY) if (v % 2 ** p === 0) return `${v / 2 ** p}${s}`;
  return String(v);
}
