/**
 * An in-memory ContainerRuntime for unit tests (as the kubelet's fake CRI runtime,
 * pkg/kubelet/cri/remote/fake): containers are records, processes are simulated. A test decides
 * how each container's process behaves (exit after a time with a code, get OOM-killed, ignore
 * SIGTERM, fail to start) and drives time with an injected clock. It follows the interface's doc
 * comments exactly, so the shared contract suite runs against it as against the ctr runtime.
 */
import { readFile } from "node:fs/promises";
import { PassThrough } from "node:stream";
import { type Clock, realClock, type TimerHandle } from "@skiff/client";
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
} from "./runtime.js";

/** How a container's main process behaves once started. */
export interface ProcessBehaviour {
  /** Exits by itself this long after starting (absent: runs until signalled). */
  exitAfterMs?: number;
  /** The exit code of that exit (default 0). */
  exitCode?: number;
  /** Instead of exiting, is OOM-killed after exitAfterMs: an oom event, then exit 137. */
  oom?: boolean;
  /** SIGTERM (and SIGINT) does nothing; only SIGKILL ends it. */
  ignoreSigterm?: boolean;
  /** startContainer fails with this message (e.g. the executable does not exist). */
  startError?: string;
}

/** What an exec runs: the answer a test scripts for a command in a container. */
export type ExecHandler = (
  containerId: string,
  cmd: readonly string[],
) =>
  | { exitCode: number; stdout?: string; stderr?: string }
  | Promise<{ exitCode: number; stdout?: string; stderr?: string }>;

interface FakeContainer {
  cfg: ContainerConfig;
  status: ContainerStatus;
  behaviour: ProcessBehaviour;
  timer?: TimerHandle;
}

export interface FakeRuntimeOptions {
  clock?: Clock;
  /** Picks the behaviour of a container when it is created (default: runs until signalled). */
  behaviour?: (cfg: ContainerConfig) => ProcessBehaviour;
  exec?: ExecHandler;
}

/** 128 + the signal number, as a shell and runc report a process killed by a signal. */
const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGTERM: 143, SIGINT: 130, SIGKILL: 137 };

export class FakeRuntime implements ContainerRuntime {
  readonly clock: Clock;
  behaviour: (cfg: ContainerConfig) => ProcessBehaviour;
  execHandler: ExecHandler;
  private readonly images = new Map<string, ImageRef>();
  private readonly containers = new Map<string, FakeContainer>();
  private readonly listeners = new Set<(e: RuntimeEvent) => void>();
  /** Every call made, in order (method and container id or image ref), for assertions. */
  readonly calls: Array<{ method: string; id?: string; signal?: string }> = [];

  constructor(opts: FakeRuntimeOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.behaviour = opts.behaviour ?? (() => ({}));
    this.execHandler = opts.exec ?? (() => ({ exitCode: 0 }));
  }

  /** Makes an image present, as an import would. */
  addImage(ref: string, id = `sha256:${hex64(ref)}`, size = 1024): ImageRef {
    const img = { ref, id, size };
    this.images.set(ref, img);
    return img;
  }

  async version(): Promise<RuntimeVersion> {
    return { runtimeName: "fake", runtimeVersion: "0.1.0" };
  }

  async listImages(): Promise<ImageRef[]> {
    return [...this.images.values()].map((i) => ({ ...i }));
  }

  /** Reads the OCI layout tarball's index.json and registers the images it names. */
  async importImage(tarPath: string): Promise<ImageRef[]> {
    const tar = await readFile(tarPath);
    const index = tarEntry(tar, "index.json");
    if (index === undefined) throw new Error(`${tarPath}: not an OCI image layout (no index.json)`);
    const parsed = JSON.parse(index.toString("utf8")) as {
      manifests?: Array<{ digest: string; annotations?: Record<string, string> }>;
    };
    const out: ImageRef[] = [];
    for (const m of parsed.manifests ?? []) {
      const a = m.annotations ?? {};
      const ref = a["io.containerd.image.name"] ?? a["org.opencontainers.image.ref.name"];
      if (ref === undefined) continue;
      out.push(this.addImage(ref, m.digest, tar.length));
    }
    return out;
  }

  async removeImage(ref: string): Promise<void> {
    this.images.delete(ref);
  }

  async createContainer(cfg: ContainerConfig): Promise<void> {
    this.calls.push({ method: "createContainer", id: cfg.id });
    if (this.containers.has(cfg.id)) throw new Error(`container "${cfg.id}": already exists`);
    const image = this.images.get(cfg.image);
    if (image === undefined) throw new Error(`image "${cfg.image}": not found`);
    const status: ContainerStatus = {
      id: cfg.id,
      image: cfg.image,
      imageId: image.id,
      labels: { ...cfg.labels },
      state: "created",
      createdAt: this.clock.now(),
      logPath: cfg.logPath,
    };
    this.containers.set(cfg.id, { cfg: structuredClone(cfg), status, behaviour: this.behaviour(cfg) });
  }

  async startContainer(id: string): Promise<void> {
    this.calls.push({ method: "startContainer", id });
    const c = this.must(id);
    if (c.status.state !== "created") throw new Error(`container "${id}": is ${c.status.state}, not created`);
    const now = this.clock.now();
    if (c.behaviour.startError !== undefined) {
      // As containerd's CRI records a task that could not start: exited with 128.
      Object.assign(c.status, { state: "exited", startedAt: now, finishedAt: now, exitCode: 128 });
      throw new Error(c.behaviour.startError);
    }
    Object.assign(c.status, { state: "running", startedAt: now, pid: 1000 + this.containers.size });
    this.emit({ type: "start", id, at: now });
    const b = c.behaviour;
    if (b.exitAfterMs !== undefined) {
      c.timer = this.clock.setTimeout(() => {
        if (b.oom === true) this.oom(id);
        else this.exit(id, b.exitCode ?? 0);
      }, b.exitAfterMs);
    }
  }

  async signalContainer(id: string, signal: NodeJS.Signals): Promise<void> {
    this.calls.push({ method: "signalContainer", id, signal });
    const c = this.containers.get(id);
    if (c === undefined || c.status.state !== "running") return;
    if (signal !== "SIGKILL" && c.behaviour.ignoreSigterm === true) return;
    // A real process exits after the signal is delivered, not within the call.
    queueMicrotask(() => this.exit(id, SIGNAL_EXIT[signal] ?? 128 + 1));
  }

  async removeContainer(id: string): Promise<void> {
    this.calls.push({ method: "removeContainer", id });
    const c = this.containers.get(id);
    if (c === undefined) return;
    if (c.status.state === "running") this.exit(id, 137);
    this.containers.delete(id);
  }

  async listContainers(): Promise<ContainerStatus[]> {
    return [...this.containers.values()].map((c) => copyStatus(c.status));
  }

  async containerStatus(id: string): Promise<ContainerStatus | undefined> {
    const c = this.containers.get(id);
    return c === undefined ? undefined : copyStatus(c.status);
  }

  async exec(id: string, opts: ExecOptions): Promise<ExecSession> {
    this.mustRun(id);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const stdin = opts.stdin === true ? new PassThrough() : null;
    let killed = false;
    const exited = Promise.resolve(this.execHandler(id, opts.cmd)).then((r) => {
      if (!killed) {
        if (r.stdout) stdout.write(r.stdout);
        if (r.stderr) (opts.tty === true ? stdout : stderr).write(r.stderr);
      }
      stdout.end();
      stderr.end();
      return killed ? 137 : r.exitCode;
    });
    return {
      stdin,
      stdout,
      stderr,
      resize: () => {},
      kill: () => {
        killed = true;
      },
      exited,
    };
  }

  async execSync(id: string, cmd: readonly string[], timeoutMs: number): Promise<ExecResult> {
    this.mustRun(id);
    let timer: TimerHandle | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = this.clock.setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const r = await Promise.race([Promise.resolve(this.execHandler(id, cmd)), timeout]);
    if (timer !== undefined) this.clock.clearTimeout(timer);
    if (r === "timeout")
      return { exitCode: 137, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), timedOut: true };
    return {
      exitCode: r.exitCode,
      stdout: Buffer.from(r.stdout ?? ""),
      stderr: Buffer.from(r.stderr ?? ""),
      timedOut: false,
    };
  }

  onEvent(listener: (e: RuntimeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  // Test controls.

  /** The config a container was created with. */
  configOf(id: string): ContainerConfig | undefined {
    return this.containers.get(id)?.cfg;
  }

  /** Ends a running container's process with `exitCode`. */
  exit(id: string, exitCode: number): void {
    const c = this.containers.get(id);
    if (c === undefined || c.status.state !== "running") return;
    if (c.timer !== undefined) this.clock.clearTimeout(c.timer);
    const now = this.clock.now();
    Object.assign(c.status, { state: "exited", finishedAt: now, exitCode });
    delete c.status.pid;
    this.emit({ type: "exit", id, exitCode, at: now });
  }

  /** The kernel's OOM killer ends the container: an oom event, then exit 137 with reason OOMKilled. */
  oom(id: string): void {
    const c = this.containers.get(id);
    if (c === undefined || c.status.state !== "running") return;
    c.status.reason = "OOMKilled";
    this.emit({ type: "oom", id, at: this.clock.now() });
    this.exit(id, 137);
  }

  private emit(e: RuntimeEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  private must(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (c === undefined) throw new Error(`container "${id}": not found`);
    return c;
  }

  private mustRun(id: string): void {
    if (this.must(id).status.state !== "running") throw new Error(`container "${id}": is not running`);
  }
}

function copyStatus(s: ContainerStatus): ContainerStatus {
  return { ...s, labels: { ...s.labels } };
}

/** A stable 64-hex string from a text (fake image ids). */
function hex64(text: string): string {
  let h = 2166136261;
  let out = "";
  for (let round = 0; out.length < 64; round++) {
    for (const ch of `${round}:${text}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, "0");
  }
  return out.slice(0, 64);
}

/** One file's content from a ustar archive (512-byte headers, size in octal), if present. */
function tarEntry(tar: Buffer, name: string): Buffer | undefined {
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) return undefined;
    const field = (start: number, len: number) =>
      header
        .subarray(start, start + len)
        .toString("utf8")
        .replace(/\0.*$/s, "");
    const prefix = field(345, 155);
    const entryName = (prefix === "" ? "" : `${prefix}/`) + field(0, 100);
    const size = Number.parseInt(field(124, 12).trim() || "0", 8);
    if (entryName.replace(/^\.\//, "") === name) return tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return undefined;
}
