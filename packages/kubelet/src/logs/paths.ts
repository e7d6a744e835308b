/**
 * Where container logs live: `<root>/<namespace>_<name>_<uid>/<container>/<restartCount>.log`,
 * as the kubelet's /var/log/pods layout (kuberuntime's BuildPodLogsDirectory and
 * BuildContainerLogsDirectory), with rotated files beside the current one named
 * `<restartCount>.log.<YYYYMMDD-HHMMSS>` (optionally `.gz`), as kube's container log manager names them.
 */
import { readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export function podLogsDir(root: string, namespace: string, name: string, uid: string): string {
  return join(root, `${namespace}_${name}_${uid}`);
}

export function containerLogsDir(
  root: string,
  namespace: string,
  name: string,
  uid: string,
  container: string,
): string {
  return join(podLogsDir(root, namespace, name, uid), container);
}

export function containerLogPath(
  root: string,
  namespace: string,
  name: string,
  uid: string,
  container: string,
  restartCount: number,
): string {
  return join(containerLogsDir(root, namespace, name, uid, container), `${restartCount}.log`);
}

/** The rotation suffix: a timestamp, an optional ".N" for two rotations within a second, ".gz". */
const rotatedSuffix = /^(\d{8}-\d{6})(?:\.(\d+))?(\.gz)?$/;

/** The rotation suffix of `file` as a rotated copy of `current`, or undefined if it is not one. */
export function rotationOf(
  current: string,
  file: string,
): { stamp: string; seq: number; gzip: boolean } | undefined {
  const prefix = `${basename(current)}.`;
  const name = basename(file);
  if (!name.startsWith(prefix) || dirname(file) !== dirname(current)) return undefined;
  const m = rotatedSuffix.exec(name.slice(prefix.length));
  if (m === null) return undefined;
  return { stamp: m[1] ?? "", seq: Number(m[2] ?? 0), gzip: m[3] !== undefined };
}

/**
 * The files of one container log, oldest first: the rotated ones, then `path` itself (listed even
 * when it does not exist yet, so a follower can wait for it). `previous` is the caller's choice of
 * `path` (restartCount - 1).
 */
export function logFilesFor(path: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return [path];
  }
  const rotated = names
    .map((n) => join(dirname(path), n))
    .map((f) => ({ f, r: rotationOf(path, f) }))
    .filter((x): x is { f: string; r: NonNullable<ReturnType<typeof rotationOf>> } => x.r !== undefined)
    .sort((a, b) => (a.r.stamp < b.r.stamp ? -1 : a.r.stamp > b.r.stamp ? 1 : a.r.seq - b.r.seq))
    .map((x) => x.f);
  return [...rotated, path];
}
