/**
 * What containerd forgets and the kubelet must not: a container's start time, exit code,
 * finish time and OOM kill, kept as one small JSON file per container under the runtime's state
 * directory so that a new runtime object (the agent restarted) reports them again. containerd
 * keeps a stopped task's exit status only until the task is deleted, and never an OOM.
 * Containers created but not yet started keep their config here too (see pending below).
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ContainerConfig } from "../runtime.js";

export interface ContainerRecord {
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  /** When containerd reported /tasks/oom for the container's cgroup. */
  oomAt?: number;
}

export interface PendingContainer {
  config: ContainerConfig;
  createdAt: number;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

let tmpSeq = 0;

/**
 * Atomic: a crash leaves the old file or the new one, never half of one. The temporary name is
 * unique per write: two writers of one record (two runtime objects over one state directory, as
 * an agent and its restarted successor) must not rename each other's file away.
 */
async function writeJson(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.${++tmpSeq}.tmp`;
  await writeFile(tmp, JSON.stringify(value));
  await rename(tmp, path);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || e instanceof SyntaxError) return undefined;
    throw e;
  }
}

export class RecordStore {
  private readonly statusDir: string;
  private readonly pendingDir: string;
  private readonly cache = new Map<string, ContainerRecord>();
  /** Serializes read-modify-write per store: event handling and listings race otherwise. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(dir: string) {
    this.statusDir = join(dir, "status");
    this.pendingDir = join(dir, "pending");
  }

  async init(): Promise<void> {
    await mkdir(this.statusDir, { recursive: true });
    await mkdir(this.pendingDir, { recursive: true });
  }

  private path(dir: string, id: string): string {
    if (!ID.test(id)) throw new Error(`invalid container id ${JSON.stringify(id)}`);
    return join(dir, `${id}.json`);
  }

  async get(id: string): Promise<ContainerRecord | undefined> {
    const hit = this.cache.get(id);
    if (hit) return hit;
    const rec = await readJson<ContainerRecord>(this.path(this.statusDir, id));
    if (rec) this.cache.set(id, rec);
    return rec;
  }

  /** Merges `patch` into the record; `onlyIfAbsent` fields keep an existing value. */
  update(id: string, patch: ContainerRecord, onlyIfAbsent = false): Promise<ContainerRecord> {
    const run = async () => {
      const cur = (await this.get(id)) ?? {};
      const next: ContainerRecord = { ...cur };
      for (const [k, v] of Object.entries(patch) as [keyof ContainerRecord, number | undefined][]) {
        if (v === undefined) continue;
        if (onlyIfAbsent && next[k] !== undefined) continue;
        next[k] = v;
      }
      await writeJson(this.path(this.statusDir, id), next);
      this.cache.set(id, next);
      return next;
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  async remove(id: string): Promise<void> {
    this.cache.delete(id);
    await rm(this.path(this.statusDir, id), { force: true });
    await rm(this.path(this.pendingDir, id), { force: true });
  }

  async putPending(p: PendingContainer): Promise<void> {
    await writeJson(this.path(this.pendingDir, p.config.id), p);
  }

  getPending(id: string): Promise<PendingContainer | undefined> {
    return readJson<PendingContainer>(this.path(this.pendingDir, id));
  }

  async removePending(id: string): Promise<void> {
    await rm(this.path(this.pendingDir, id), { force: true });
  }

  async listPending(): Promise<PendingContainer[]> {
    const out: PendingContainer[] = [];
    for (const f of await readdir(this.pendingDir)) {
      if (!f.endsWith(".json")) continue;
      const p = await readJson<PendingContainer>(join(this.pendingDir, f));
      if (p) out.push(p);
    }
    return out;
  }

  /** Ids with a status record (for pruning records of containers removed behind our back). */
  async listIds(): Promise<string[]> {
    return (await readdir(this.statusDir)).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
  }
}
