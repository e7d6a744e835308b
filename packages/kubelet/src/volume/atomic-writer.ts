/**
 * kube's AtomicWriter (pkg/volume/util/atomic_writer.go): a volume's files are written into a
 * fresh timestamped directory `..<YYYY_MM_DD_HH_MM_SS>.<random>`, then the `..data` symlink is
 * pointed at it by renaming a `..data_tmp` symlink over it (rename is atomic), so a reader sees
 * the whole old payload or the whole new one, never a mix. The user-visible paths are symlinks
 * through `..data` (`key -> ..data/key`, one per top-level path component). Unchanged payloads
 * are not rewritten; the old timestamped directory is removed after the swap.
 */
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { basename, dirname, join, normalize, sep } from "node:path";

export interface FileProjection {
  data: Buffer;
  mode: number;
}

export type Payload = Map<string, FileProjection>;

const DATA_DIR = "..data";
const NEW_DATA_DIR = "..data_tmp";

const pad = (n: number) => String(n).padStart(2, "0");
/** Go's time.Now().UTC().Format("..2006_01_02_15_04_05.") */
function tsDirPrefix(d: Date): string {
  return `..${d.getUTCFullYear()}_${pad(d.getUTCMonth() + 1)}_${pad(d.getUTCDate())}_${pad(d.getUTCHours())}_${pad(d.getUTCMinutes())}_${pad(d.getUTCSeconds())}.`;
}

/** validatePath: relative, no "..", no component starting with ".." at the top. */
export function validatePath(p: string): void {
  if (p === "") throw new Error("invalid path: must not be empty");
  if (p.startsWith("/")) throw new Error(`invalid path: must be relative path: ${p}`);
  if (p.length > 4096) throw new Error(`invalid path: must be less than or equal to 4096 characters`);
  const parts = p.split("/");
  if (parts.includes("..")) throw new Error(`invalid path: must not contain '..': ${p}`);
  if ((parts[0] as string).startsWith("..")) throw new Error(`invalid path: must not start with '..': ${p}`);
}

const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  );

/** Every file under dir, as paths relative to it. */
async function walk(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === "" ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory()) out.push(...(await walk(dir, rel)));
    else out.push(rel);
  }
  return out;
}

export class AtomicWriter {
  constructor(
    /** The volume's directory (created if absent). */
    readonly targetDir: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Writes the payload if it differs from what is there; returns whether anything changed. */
  async write(payload: Payload): Promise<boolean> {
    const clean = new Map<string, FileProjection>();
    for (const [p, f] of payload) {
      validatePath(p);
      clean.set(normalize(p).split(sep).join("/"), f);
    }
    await mkdir(this.targetDir, { recursive: true });
    const dataDirPath = join(this.targetDir, DATA_DIR);
    const oldTsDir = await readlink(dataDirPath).catch(() => undefined);
    const oldTsPath = oldTsDir === undefined ? undefined : join(this.targetDir, oldTsDir);
    const pathsToRemove = await this.pathsToRemove(clean, oldTsPath);
    const changed = oldTsPath === undefined || (await this.shouldWritePayload(clean, oldTsPath));
    if (changed) {
      const tsDir = await mkdtemp(join(this.targetDir, tsDirPrefix(this.now())));
      await chmod(tsDir, 0o755);
      await this.writePayloadToDir(clean, tsDir);
      const tmpLink = join(this.targetDir, NEW_DATA_DIR);
      await rm(tmpLink, { force: true });
      await symlink(basename(tsDir), tmpLink);
      await rename(tmpLink, dataDirPath);
    }
    await this.createUserVisibleFiles(clean);
    for (const p of pathsToRemove) await rm(join(this.targetDir, p), { recursive: true, force: true });
    if (changed && oldTsPath !== undefined) await rm(oldTsPath, { recursive: true, force: true });
    return changed || pathsToRemove.length > 0;
  }

  /** Top-level user-visible names the old payload had and the new one lacks. */
  private async pathsToRemove(payload: Payload, oldTsPath: string | undefined): Promise<string[]> {
    if (oldTsPath === undefined || !(await exists(oldTsPath))) return [];
    const keep = new Set([...payload.keys()].map((p) => p.split("/")[0] as string));
    const old = new Set((await walk(oldTsPath)).map((p) => p.split("/")[0] as string));
    return [...old].filter((p) => !keep.has(p));
  }

  private async shouldWritePayload(payload: Payload, oldTsPath: string): Promise<boolean> {
    if (!(await exists(oldTsPath))) return true;
    const oldFiles = await walk(oldTsPath);
    if (oldFiles.length !== payload.size) return true;
    for (const [p, f] of payload) {
      const file = join(oldTsPath, p);
      const content = await readFile(file).catch(() => undefined);
      if (content === undefined || !content.equals(f.data)) return true;
      if (((await stat(file)).mode & 0o7777) !== f.mode) return true;
    }
    return false;
  }

  private async writePayloadToDir(payload: Payload, dir: string): Promise<void> {
    for (const [p, f] of payload) {
      const file = join(dir, p);
      await mkdir(dirname(file), { recursive: true, mode: 0o755 });
      await writeFile(file, f.data, { mode: f.mode });
      // writeFile's mode is masked by the umask; the payload's mode is what kube promises.
      await chmod(file, f.mode);
    }
  }

  /** createUserVisibleFiles: `<top> -> ..data/<top>` for each top-level component. */
  private async createUserVisibleFiles(payload: Payload): Promise<void> {
    const tops = new Set([...payload.keys()].map((p) => p.split("/")[0] as string));
    for (const top of tops) {
      const visible = join(this.targetDir, top);
      if (await exists(visible)) continue;
      await symlink(join(DATA_DIR, top), visible);
    }
  }
}
