/**
 * An in-memory ContainerRuntime for unit tests (as the kubelet's fake CRI runtime,
 * pkg/kubelet/cri/remote/fake): containers are records, processes are simulated. A test decides
 * how each container's process behaves (exit after a time with a code, get OOM-killed, ignore
 * SIGTERM, fail to start, write log lines) and drives time with an injected clock; by default the
 * process does what the busybox program in its argv would (fake-programs.ts). It follows the
 * interface's doc comments, and the shared contract suite runs against it as against the ctr
 * runtime (test/runtime-fake.test.ts).
 *
 * Containers live in a FakeRuntimeState, as they live in containerd rather than in a CtrRuntime
 * object: reopen() gives a new runtime over the same state (the agent restarting), and a
 * process's exit still happens while no runtime is open.
 */
import { appendFile, readFile } from "node:fs/promises";
import { PassThrough, type Readable } from "node:stream";
import type { Clock } from "@skiff/client";
import { formatCriLine } from "../logs/cri-format.js";
import { hex64, imagesInLayout } from "./fake-image.js";
import {
  busyboxExec,
  type ExecHandler,
  type ExecReply,
  knownProgram,
  type ProcessBehaviour,
} from "./fake-programs.js";
import { type FakeContainer, FakeRuntimeState } from "./fake-state.js";
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

export type { ExecContext, ExecHandler, ExecReply, LogLine, ProcessBehaviour } from "./fake-programs.js";
export { busyboxExec, knownProgram } from "./fake-programs.js";
export { FakeRuntimeState } from "./fake-state.js";

/** 128 + the signal number, as a shell and runc report a process killed by a signal. */
const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGTERM: 143, SIGINT: 130, SIGKILL: 137 };

export interface FakeRuntimeOptions {
  /** The containers and images to share with other runtimes (default: a new state on `clock`). */
  state?: FakeRuntimeState;
  /** Used only when no state is given. */
  clock?: Clock;
  /** Picks the behaviour of a container when it is created (default: knownProgram(args) ?? run until signalled). */
  behaviour?: (cfg: ContainerConfig) => ProcessBehaviour;
  /** What exec and execSync run (default: busyboxExec). */
  exec?: ExecHandler;
  /**
   * The hostname of the UTS namespace at a ContainerConfig.utsPath (FakeUTSNamespaces.hostnameAt);
   * when given, a container whose utsPath it does not know fails to start, as ctr run does.
   */
  utsHostname?: (path: string) => string | undefined;
}

export class FakeRuntime implements ContainerRuntime {
  readonly state: FakeRuntimeState;
  readonly clock: Clock;
  behaviour: (cfg: ContainerConfig) => ProcessBehaviour;
  execHandler: ExecHandler;
  readonly utsHostname: ((path: string) => string | undefined) | undefined;
  private readonly listeners = new Set<(e: RuntimeEvent) => void>();
  /** Every call made, in order (method and container id or image ref), for assertions. */
  readonly calls: Array<{ method: string; id?: string; signal?: string }> = [];

  constructor(opts: FakeRuntimeOptions = {}) {
    this.state = opts.state ?? new FakeRuntimeState(opts.clock);
    this.clock = this.state.clock;
    this.utsHostname = opts.utsHostname;
    this.behaviour =
      opts.behaviour ?? ((cfg) => knownProgram(cfg.args, { hostname: this.hostnameOf(cfg) }) ?? {});
    this.execHandler = opts.exec ?? busyboxExec;
    this.state.runtimes.add(this);
  }

  /** A new runtime over the same containers and images, with this one's behaviour and exec. */
  reopen(): FakeRuntime {
    const opts: FakeRuntimeOptions = { state: this.state, behaviour: this.behaviour, exec: this.execHandler };
    if (this.utsHostname !== undefined) opts.utsHostname = this.utsHostname;
    return new FakeRuntime(opts);
  }

  /**
   * The hostname a container starts with: its pod UTS namespace's, else the one the runtime sets
   * (the fake has no moment in which the process sees another).
   */
  hostnameOf(cfg: ContainerConfig): string | undefined {
    if (cfg.utsPath !== undefined) return this.utsHostname?.(cfg.utsPath);
    return cfg.hostname;
  }

  /** Makes an image present, as an import would. */
  addImage(ref: string, id = `sha256:${hex64(ref)}`, size = 1024): ImageRef {
    const img = { ref, id, size };
    this.state.images.set(ref, img);
    return img;
  }

  async version(): Promise<RuntimeVersion> {
    return { runtimeName: "fake", runtimeVersion: "0.1.0" };
  }

  async listImages(): Promise<ImageRef[]> {
    return [...this.state.images.values()].map((i) => ({ ...i }));
  }

  /** Registers the images the OCI layout tarball's index.json names (their content is not kept). */
  async importImage(tarPath: string): Promise<ImageRef[]> {
    const tar = await readFile(tarPath);
    return imagesInLayout(tar, tarPath).map((i) => this.addImage(i.ref, i.digest, tar.length));
  }

  async removeImage(ref: string): Promise<void> {
    this.state.images.delete(ref);
  }

  async createContainer(cfg: ContainerConfig): Promise<void> {
    this.calls.push({ method: "createContainer", id: cfg.id });
    if (this.state.containers.has(cfg.id)) throw new Error(`container "${cfg.id}": already exists`);
    const image = this.state.images.get(cfg.image);
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
    this.state.containers.set(cfg.id, { cfg: structuredClone(cfg), status, behaviour: this.behaviour(cfg) });
  }

  async startContainer(id: string): Promise<void> {
    this.calls.push({ method: "startContainer", id });
    const c = this.must(id);
    if (c.status.state !== "created") throw new Error(`container "${id}": is ${c.status.state}, not created`);
    const b = c.behaviour;
    const now = this.clock.now();
    let startError = b.startError;
    const uts = c.cfg.utsPath;
    if (uts !== undefined && this.utsHostname !== undefined && this.utsHostname(uts) === undefined)
      startError = `joining the UTS namespace ${uts}: no such namespace`;
    if (startError === undefined && b.output !== undefined && b.output.length > 0) {
      const ns = BigInt(now) * 1_000_000n;
      const text = b.output.map((l) => formatCriLine(ns, l.stream, false, l.text)).join("");
      // A logger that cannot write its file fails the task's start, as containerd's does.
      await appendFile(c.cfg.logPath, text).catch((e: Error) => {
        startError = `failed to start the log writer: ${e.message}`;
      });
    }
    if (startError !== undefined) {
      // As containerd's CRI records a task that could not start: exited with 128.
      Object.assign(c.status, { state: "exited", startedAt: now, finishedAt: now, exitCode: 128 });
      throw new Error(startError);
    }
    Object.assign(c.status, { state: "running", startedAt: now, pid: this.state.pid() });
    this.state.emit({ type: "start", id, at: now });
    if (b.exitAfterMs !== undefined) {
      c.timer = this.clock.setTimeout(() => {
        if (b.oom === true) this.state.oom(id);
        else this.state.exit(id, b.exitCode ?? 0);
      }, b.exitAfterMs);
    }
  }

  async signalContainer(id: string, signal: NodeJS.Signals): Promise<void> {
    this.calls.push({ method: "signalContainer", id, signal });
    const c = this.state.containers.get(id);
    if (c === undefined || c.status.state !== "running") return;
    if (signal !== "SIGKILL" && c.behaviour.ignoreSigterm === true) return;
    // A real process exits after the signal is delivered, not within the call.
    queueMicrotask(() => this.state.exit(id, SIGNAL_EXIT[signal] ?? 128 + 1));
  }

  async removeContainer(id: string): Promise<void> {
    this.calls.push({ method: "removeContainer", id });
    const c = this.state.containers.get(id);
    if (c === undefined) return;
    if (c.status.state === "running") this.state.exit(id, 137);
    this.state.containers.delete(id);
  }

  async listContainers(): Promise<ContainerStatus[]> {
    return [...this.state.containers.values()].map((c) => copyStatus(c.status));
  }

  async containerStatus(id: string): Promise<ContainerStatus | undefined> {
    const c = this.state.containers.get(id);
    return c === undefined ? undefined : copyStatus(c.status);
  }

  async exec(id: string, opts: ExecOptions): Promise<ExecSession> {
    this.mustRun(id);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const stdin = opts.stdin === true ? new PassThrough() : null;
    const abort = new AbortController();
    const exited = this.run(id, opts.cmd, stdin, abort.signal).then(
      (r) => {
        if (r?.stdout) stdout.write(r.stdout);
        // With a tty the process has one output: stderr goes to the terminal too.
        if (r?.stderr) (opts.tty === true ? stdout : stderr).write(r.stderr);
        stdout.end();
        stderr.end();
        return r === undefined ? 137 : r.exitCode;
      },
      (e: unknown) => {
        stdout.destroy(e as Error);
        stderr.end();
        throw e;
      },
    );
    return { stdin, stdout, stderr, resize: () => {}, kill: () => abort.abort(), exited };
  }

  async execSync(id: string, cmd: readonly string[], timeoutMs: number): Promise<ExecResult> {
    this.mustRun(id);
    const abort = new AbortController();
    const timer = this.clock.setTimeout(() => abort.abort(), timeoutMs);
    const r = await this.run(id, cmd, null, abort.signal).finally(() => this.clock.clearTimeout(timer));
    if (r === undefined)
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

  /** Stops delivering events; the containers run on in the state. */
  async close(): Promise<void> {
    this.listeners.clear();
    this.state.runtimes.delete(this);
  }

  /** Passes one of the state's events to this runtime's listeners. */
  deliver(e: RuntimeEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  // Test controls.

  /** The config a container was created with. */
  configOf(id: string): ContainerConfig | undefined {
    return this.state.containers.get(id)?.cfg;
  }

  /** Ends a running container's process with `exitCode`. */
  exit(id: string, exitCode: number): void {
    this.state.exit(id, exitCode);
  }

  /** The kernel's OOM killer ends the container: an oom event, then exit 137 with reason OOMKilled. */
  oom(id: string): void {
    this.state.oom(id);
  }

  /** Reads stdin to its end, then runs the exec handler; undefined when killed first. */
  private async run(
    id: string,
    cmd: readonly string[],
    stdin: Readable | null,
    signal: AbortSignal,
  ): Promise<ExecReply | undefined> {
    const killed = new Promise<undefined>((resolve) => {
      if (signal.aborted) resolve(undefined);
      signal.addEventListener("abort", () => resolve(undefined), { once: true });
    });
    const input = stdin === null ? Buffer.alloc(0) : await Promise.race([readAll(stdin), killed]);
    if (input === undefined) return undefined;
    const reply = Promise.resolve(this.execHandler(id, cmd, { stdin: input, signal, clock: this.clock }));
    // A handler that ignores the signal is still cut off, as a SIGKILL cuts off any process.
    const r = await Promise.race([reply, killed]);
    return signal.aborted ? undefined : r;
  }

  private must(id: string): FakeContainer {
    const c = this.state.containers.get(id);
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

function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (d: Buffer) => chunks.push(Buffer.from(d)));
    stream.once("end", () => resolve(Buffer.concat(chunks)));
    stream.once("error", reject);
  });
}
