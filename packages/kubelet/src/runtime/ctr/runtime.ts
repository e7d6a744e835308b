/**
 * The ContainerRuntime on containerd 1.6 through its `ctr` CLI, one containerd namespace per node.
 *
 * ctr 1.6's `containers create` has no --cgroup, --cpus or --cpu-shares (only `ctr run` has
 * them) and neither has --hostname, so a container is created in two steps as CRI's are, but
 * only the second one touches containerd: createContainer checks the id and the image and keeps
 * the config (records.ts "pending"); startContainer runs `ctr run -d` with every flag. A pod's
 * container joins the pod's UTS namespace (`--with-ns uts:PATH`), whose hostname was set before
 * (uts/), as containerd's CRI plugin joins the sandbox's; without one the hostname is set after
 * the start in the container's own UTS namespace with nsenter (best effort).
 *
 * Exits and OOM kills come from the `ctr events` stream and are kept in records.ts so that a new
 * runtime object reports them; a task found stopped with no record gives its exit code when it is
 * deleted. After an exit the task (not the container) is deleted: that ends its shim and lets the
 * logger flush and exit, as nothing can run in a stopped task any more.
 */
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Logger } from "@skiff/component-base";
import type {
  ContainerConfig,
  ContainerRuntime,
  ContainerStatus,
  ExecOptions,
  ExecResult,
  ExecSession,
  ImageRef,
  RuntimeEvent,
  RuntimeVersion,
} from "../runtime.js";
import { AlreadyExistsError, type CtrTarget, isNotFound, NotFoundError, runCtr } from "./ctr.js";
import { EventStream, type TaskEvent } from "./events.js";
import { execSync, startExec } from "./exec.js";
import {
  type ContainerInfo,
  parseContainerInfo,
  parseDeletedExitCode,
  parseImagesLs,
  parseImportedRefs,
  parseTasksLs,
  type TaskRow,
} from "./parse.js";
import { RecordStore } from "./records.js";

export interface CtrRuntimeOptions {
  address: string;
  namespace: string;
  /** The runtime's own records (the agent's `<data-dir>/runtime`). */
  stateDir: string;
  /** Absolute path of assets/skiff-logger. */
  loggerPath: string;
  /** Rotate a container's log past this many bytes; default 10 MiB (kube's containerLogMaxSize). */
  logMaxSize?: number;
  /** Files kept per container log including the live one; default 5 (kube's containerLogMaxFiles). */
  logMaxFiles?: number;
  logger: Logger;
  /** runc's state root (`ctr run --runc-root`); default runc's own under /run/containerd. */
  runcRoot?: string;
  /** Per ctr call; default 30 s. */
  timeoutMs?: number;
}

/** Labels this runtime adds and strips again (containerd's own io.containerd.* too). */
const LOG_PATH_LABEL = "io.skiff.log-path";
const CREATED_LABEL = "io.skiff.created-at";

/** Exit code kube reports for a container whose process could not be started (StartError). */
const START_ERROR_EXIT = 128;

export class CtrRuntime implements ContainerRuntime {
  private readonly target: CtrTarget;
  private readonly records: RecordStore;
  private readonly events: EventStream;
  private readonly listeners = new Set<(e: RuntimeEvent) => void>();
  private readonly infoCache = new Map<string, ContainerInfo>();
  /** Container ids in the namespace, once listed (see exists). */
  private knownIds: Set<string> | undefined;
  /** The last image listing (see listImages). */
  private images: Promise<ImageRef[]> | undefined;
  /** Removed here: their late events must not write records again. */
  private readonly removed = new Set<string>();
  private initialized: Promise<void> | undefined;

  constructor(private readonly opts: CtrRuntimeOptions) {
    this.target = { address: opts.address, namespace: opts.namespace, timeoutMs: opts.timeoutMs };
    this.records = new RecordStore(opts.stateDir);
    this.events = new EventStream(this.target, (e) => this.handleEvent(e), opts.logger);
  }

  /** Starts the event stream; every method calls it, so calling it first is optional. */
  start(): Promise<void> {
    this.initialized ??= (async () => {
      await this.records.init();
      await this.events.start();
    })();
    return this.initialized;
  }

  private ctr(args: readonly string[], opts?: Parameters<typeof runCtr>[2]) {
    return runCtr(this.target, args, opts);
  }

  private emit(e: RuntimeEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.opts.logger.error({ err }, "runtime event listener failed");
      }
    }
  }

  private handleEvent(e: TaskEvent): void {
    const id = e.containerId;
    if (this.removed.has(id)) return;
    const log = (err: unknown) =>
      this.opts.logger.warn({ err, id, topic: e.topic }, "recording a task event failed");
    if (e.topic === "/tasks/start") {
      this.records.update(id, { startedAt: e.at }, true).catch(log);
      this.emit({ type: "start", id, at: e.at });
    } else if (e.topic === "/tasks/oom") {
      this.records.update(id, { oomAt: e.at }).catch(log);
      this.emit({ type: "oom", id, at: e.at });
    } else if (e.execId === id) {
      this.records
        .update(id, { exitCode: e.exitStatus, finishedAt: e.at })
        .then(() => this.ctr(["tasks", "delete", id], { allowFailure: true }))
        .catch(log);
      this.emit({ type: "exit", id, exitCode: e.exitStatus, at: e.at });
    }
  }

  async version(): Promise<RuntimeVersion> {
    const { stdout } = await this.ctr(["version"]);
    const m = /Version:\s*(\S+)/.exec(stdout.split(/^Server:/m)[1] ?? "");
    if (!m?.[1]) throw new Error("ctr version: no server version");
    return { runtimeName: "containerd", runtimeVersion: m[1] };
  }

  /**
   * Images change only through this runtime (import, remove) on a node's own containerd
   * namespace, so one listing serves until then: every container start and every container
   * listing asks for the images, and each `ctr` launch costs a process.
   */
  listImages(): Promise<ImageRef[]> {
    if (this.images === undefined) {
      const p = this.ctr(["images", "ls"]).then((r) => parseImagesLs(r.stdout));
      this.images = p;
      p.catch(() => {
        if (this.images === p) this.images = undefined;
      });
    }
    return this.images.then((list) => list.map((i) => ({ ...i })));
  }

  async importImage(tarPath: string): Promise<ImageRef[]> {
    this.images = undefined;
    const { stdout } = await this.ctr(["images", "import", resolve(tarPath)], { timeoutMs: 300_000 }).finally(
      () => {
        this.images = undefined;
      },
    );
    const refs = new Set(parseImportedRefs(stdout));
    return (await this.listImages()).filter((i) => refs.has(i.ref));
  }

  async removeImage(ref: string): Promise<void> {
    try {
      await this.ctr(["images", "rm", ref]);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    } finally {
      this.images = undefined;
    }
  }

  private async info(id: string): Promise<ContainerInfo | undefined> {
    const hit = this.infoCache.get(id);
    if (hit) return hit;
    try {
      const info = parseContainerInfo((await this.ctr(["containers", "info", id])).stdout);
      this.infoCache.set(id, info);
      return info;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /**
   * Whether a container with this id exists in containerd. Once this runtime has listed the
   * namespace, it knows every id it did not make itself from that listing and from its own
   * starts and removals (one containerd namespace belongs to one node agent), so only a runtime
   * that has not listed yet asks ctr.
   */
  private async exists(id: string): Promise<boolean> {
    if (this.knownIds !== undefined) return this.knownIds.has(id);
    return (await this.info(id)) !== undefined;
  }

  async createContainer(cfg: ContainerConfig): Promise<void> {
    await this.start();
    if ((await this.records.getPending(cfg.id)) || (await this.exists(cfg.id)))
      throw new AlreadyExistsError(`container "${cfg.id}" already exists`, [], "", null);
    const images = await this.listImages();
    if (!images.some((i) => i.ref === cfg.image))
      throw new NotFoundError(
        `image "${cfg.image}" not found in containerd namespace ${this.opts.namespace}`,
        [],
        "",
        null,
      );
    for (const [kind, path] of [
      ["network", cfg.netnsPath],
      ["uts", cfg.utsPath],
    ] as const)
      if (path?.includes(":"))
        throw new Error(`${kind} namespace ${path}: ctr --with-ns cannot express ":" in a path`);
    for (const m of cfg.mounts)
      if (/[,:=]/.test(m.hostPath) || /[,:=]/.test(m.containerPath))
        throw new Error(
          `mount ${m.hostPath} -> ${m.containerPath}: ctr cannot express ",", ":" or "=" in a path`,
        );
    this.removed.delete(cfg.id);
    await this.records.putPending({ config: cfg, createdAt: Date.now() });
  }

  private logUri(logPath: string): string {
    const q = new URLSearchParams({
      path: logPath,
      "max-size": String(this.opts.logMaxSize ?? 10 * 1024 * 1024),
      "max-files": String(this.opts.logMaxFiles ?? 5),
    });
    return `binary://${resolve(this.opts.loggerPath)}?${q.toString()}`;
  }

  private runArgs(cfg: ContainerConfig, createdAt: number): string[] {
    const a = ["run", "--detach", "--log-uri", this.logUri(cfg.logPath)];
    if (this.opts.runcRoot) a.push("--runc-root", this.opts.runcRoot);
    if (cfg.cgroupsPath) a.push("--cgroup", cfg.cgroupsPath);
    if (cfg.memoryLimitBytes) a.push("--memory-limit", String(cfg.memoryLimitBytes));
    if (cfg.cpuLimitCores) a.push("--cpus", String(cfg.cpuLimitCores));
    if (cfg.cpuShares) a.push("--cpu-shares", String(cfg.cpuShares));
    if (cfg.netnsPath) a.push("--with-ns", `network:${cfg.netnsPath}`);
    else a.push("--net-host");
    if (cfg.utsPath) a.push("--with-ns", `uts:${cfg.utsPath}`);
    if (cfg.workingDir) a.push("--cwd", cfg.workingDir);
    for (const e of cfg.env) a.push("--env", `${e.name}=${e.value}`);
    for (const m of cfg.mounts)
      a.push(
        "--mount",
        `type=bind,src=${m.hostPath},dst=${m.containerPath},options=rbind:${m.readOnly ? "ro" : "rw"}`,
      );
    for (const [k, v] of Object.entries(cfg.labels)) a.push("--label", `${k}=${v}`);
    a.push("--label", `${LOG_PATH_LABEL}=${cfg.logPath}`, "--label", `${CREATED_LABEL}=${createdAt}`);
    // "--" ends ctr's flags: an argv word starting with "-" stays the container's.
    a.push("--", cfg.image, cfg.id, ...cfg.args);
    return a;
  }

  async startContainer(id: string): Promise<void> {
    await this.start();
    const pending = await this.records.getPending(id);
    if (!pending) {
      if (await this.info(id)) throw new Error(`container "${id}" was already started`);
      throw new NotFoundError(`container "${id}" not found`, [], "", null);
    }
    const cfg = pending.config;
    await mkdir(dirname(cfg.logPath), { recursive: true });
    try {
      await this.ctr(this.runArgs(cfg, pending.createdAt), { timeoutMs: 60_000 });
    } catch (e) {
      // ctr run creates the container before the task: a failed start leaves the container
      // behind, reported as exited with kube's StartError code until the kubelet removes it.
      this.infoCache.delete(id);
      if (await this.info(id)) {
        this.knownIds?.add(id);
        await this.records.update(id, { exitCode: START_ERROR_EXIT, finishedAt: Date.now() });
        await this.records.removePending(id);
      }
      throw e;
    }
    this.knownIds?.add(id);
    await this.records.update(id, { startedAt: Date.now() }, true);
    await this.records.removePending(id);
    if (cfg.hostname && !cfg.utsPath) await this.setHostname(id, cfg.hostname);
  }

  /**
   * Without a pod UTS namespace: ctr 1.6 cannot set the hostname, so enter the container's own
   * UTS namespace and set it once the process runs (it may read the old name before).
   */
  private async setHostname(id: string, hostname: string): Promise<void> {
    const task = parseTasksLs((await this.ctr(["tasks", "ls"])).stdout).get(id);
    if (!task?.pid) return;
    await new Promise<void>((done) => {
      execFile(
        "nsenter",
        ["--target", String(task.pid), "--uts", "hostname", hostname],
        { timeout: 5000 },
        (err) => {
          if (err) this.opts.logger.warn({ err, id }, "setting the container's hostname failed");
          done();
        },
      );
    });
  }

  async signalContainer(id: string, signal: NodeJS.Signals): Promise<void> {
    await this.start();
    try {
      await this.ctr(["tasks", "kill", "--signal", signal, id]);
    } catch (e) {
      if (isNotFound(e) || /already finished/.test((e as Error).message)) return;
      throw e;
    }
  }

  async removeContainer(id: string): Promise<void> {
    await this.start();
    this.removed.add(id);
    const ignoreNotFound = (e: unknown) => {
      if (!isNotFound(e)) throw e;
    };
    // --force kills a running task before deleting it.
    await this.ctr(["tasks", "delete", "--force", id]).catch(ignoreNotFound);
    await this.ctr(["containers", "delete", id]).catch(ignoreNotFound);
    this.infoCache.delete(id);
    this.knownIds?.delete(id);
    await this.records.remove(id);
  }

  async listContainers(): Promise<ContainerStatus[]> {
    await this.start();
    const [ids, tasks, images, pending] = await Promise.all([
      this.ctr(["containers", "ls", "--quiet"]).then((r) => r.stdout.split("\n").filter(Boolean)),
      this.ctr(["tasks", "ls"]).then((r) => parseTasksLs(r.stdout)),
      this.listImages(),
      this.records.listPending(),
    ]);
    const imageIds = new Map(images.map((i) => [i.ref, i.id]));
    this.knownIds = new Set([...ids, ...(this.knownIds ?? [])].filter((id) => !this.removed.has(id)));
    const out = await Promise.all(ids.map((id) => this.status(id, tasks.get(id), imageIds)));
    const known = new Set(ids);
    for (const p of pending)
      if (!known.has(p.config.id)) out.push(this.pendingStatus(p.config, p.createdAt, imageIds));
    return out.filter((s): s is ContainerStatus => s !== undefined);
  }

  async containerStatus(id: string): Promise<ContainerStatus | undefined> {
    await this.start();
    const pending = await this.records.getPending(id);
    const images = new Map((await this.listImages()).map((i) => [i.ref, i.id]));
    if (pending) return this.pendingStatus(pending.config, pending.createdAt, images);
    const tasks = parseTasksLs((await this.ctr(["tasks", "ls"])).stdout);
    return this.status(id, tasks.get(id), images);
  }

  private pendingStatus(
    cfg: ContainerConfig,
    createdAt: number,
    images: Map<string, string>,
  ): ContainerStatus {
    return {
      id: cfg.id,
      image: cfg.image,
      imageId: images.get(cfg.image),
      labels: { ...cfg.labels },
      state: "created",
      createdAt,
      logPath: cfg.logPath,
    };
  }

  private async status(
    id: string,
    task: TaskRow | undefined,
    images: Map<string, string>,
  ): Promise<ContainerStatus | undefined> {
    const info = await this.info(id);
    if (!info) return undefined;
    let rec = (await this.records.get(id)) ?? {};
    if (task?.status === "STOPPED" && rec.exitCode === undefined) {
      // Exited while no runtime watched: the delete reports the exit code, not the time.
      const r = await this.ctr(["tasks", "delete", id], { allowFailure: true });
      rec = await this.records.update(id, {
        exitCode: parseDeletedExitCode(r.stderr),
        finishedAt: Date.now(),
      });
    }
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(info.labels))
      if (!k.startsWith("io.containerd.") && !k.startsWith("io.skiff.")) labels[k] = v;
    const s: ContainerStatus = {
      id,
      image: info.image,
      imageId: images.get(info.image),
      labels,
      state: "unknown",
      createdAt: Number(info.labels[CREATED_LABEL]) || info.createdAt,
      logPath: info.labels[LOG_PATH_LABEL],
    };
    if (task && task.status !== "STOPPED" && task.status !== "UNKNOWN") {
      s.state = task.status === "CREATED" ? "created" : "running";
      s.pid = task.pid;
      s.startedAt = rec.startedAt;
    } else if (rec.exitCode !== undefined) {
      s.state = "exited";
      s.startedAt = rec.startedAt;
      s.finishedAt = rec.finishedAt;
      s.exitCode = rec.exitCode;
      if (rec.oomAt !== undefined) s.reason = "OOMKilled";
    }
    return s;
  }

  async exec(id: string, opts: ExecOptions): Promise<ExecSession> {
    await this.start();
    return startExec(this.target, id, opts);
  }

  async execSync(id: string, cmd: readonly string[], timeoutMs: number): Promise<ExecResult> {
    await this.start();
    return execSync(this.target, id, cmd, timeoutMs);
  }

  onEvent(listener: (e: RuntimeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    await this.events.close();
  }
}
