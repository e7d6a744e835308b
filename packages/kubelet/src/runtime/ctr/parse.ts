/**
 * Parsers for ctr's human-readable tables and messages (ctr 1.6 has no JSON output for these).
 */
import type { ImageRef } from "../runtime.js";

const UNITS: Record<string, number> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

/**
 * `ctr images ls`: REF TYPE DIGEST SIZE PLATFORMS LABELS, SIZE written as "1.9 MiB" (ctr's
 * progress.Bytes), so the byte count is approximate to a tenth of its unit.
 */
export function parseImagesLs(stdout: string): ImageRef[] {
  const out: ImageRef[] = [];
  for (const line of stdout.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    const [ref, , digest, num, unit] = f as [string, string, string, string, string];
    if (!digest.startsWith("sha256:")) continue;
    out.push({ ref, id: digest, size: Math.round(Number.parseFloat(num) * (UNITS[unit] ?? 1)) });
  }
  return out;
}

/** `ctr images import` prints "unpacking REF (sha256:...)...done" per image it named. */
export function parseImportedRefs(stdout: string): string[] {
  const refs: string[] = [];
  for (const m of stdout.matchAll(/^unpacking (\S+) \((sha256:[0-9a-f]+)\)/gm)) refs.push(m[1] as string);
  return refs;
}

export type TaskStatus = "RUNNING" | "STOPPED" | "CREATED" | "PAUSED" | "PAUSING" | "UNKNOWN";

export interface TaskRow {
  id: string;
  pid: number;
  status: TaskStatus;
}

/** `ctr tasks ls`: TASK PID STATUS. */
export function parseTasksLs(stdout: string): Map<string, TaskRow> {
  const out = new Map<string, TaskRow>();
  for (const line of stdout.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3) continue;
    const [id, pid, status] = f as [string, string, string];
    out.set(id, { id, pid: Number(pid), status: status as TaskStatus });
  }
  return out;
}

/**
 * `ctr tasks delete` exits 0 whatever the task's status and only logs a warning
 * "task ID exit with non-zero exit code N" on stderr; no warning means 0.
 */
export function parseDeletedExitCode(stderr: string): number {
  const m = /exit with non-zero exit code (-?\d+)/.exec(stderr);
  return m ? Number(m[1]) : 0;
}

export interface ContainerInfo {
  labels: Record<string, string>;
  image: string;
  createdAt: number;
}

/** `ctr containers info ID`: containerd's Container record as JSON. */
export function parseContainerInfo(stdout: string): ContainerInfo {
  const j = JSON.parse(stdout) as { Labels?: Record<string, string>; Image?: string; CreatedAt?: string };
  return { labels: j.Labels ?? {}, image: j.Image ?? "", createdAt: Date.parse(j.CreatedAt ?? "") || 0 };
}
