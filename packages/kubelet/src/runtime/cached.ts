/**
 * A ContainerRuntime whose container listing is shared (kube's runtime cache behind the PLEG):
 * every pod worker asks for the runtime's containers on each sync, and with `ctr` one listing
 * costs several process launches. Callers that ask while a listing is in flight share it; a
 * finished listing serves for `maxAgeMs` unless a runtime event or one of this kubelet's own
 * changes (create, start, signal, remove) made it stale.
 */
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

export class CachedRuntime implements ContainerRuntime {
  private listing: Promise<ContainerStatus[]> | undefined;
  private listedAt = 0;
  /** Bumped by every change; a listing started before a change is not reused after it. */
  private generation = 0;
  private listingGeneration = -1;
  private readonly unsubscribe: () => void;

  constructor(
    readonly inner: ContainerRuntime,
    private readonly maxAgeMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {
    this.unsubscribe = inner.onEvent(() => this.invalidate());
  }

  private invalidate(): void {
    this.generation++;
  }

  private async changing<T>(p: Promise<T>): Promise<T> {
    this.invalidate();
    try {
      return await p;
    } finally {
      this.invalidate();
    }
  }

  listContainers(): Promise<ContainerStatus[]> {
    const fresh =
      this.listing !== undefined &&
      this.listingGeneration === this.generation &&
      this.now() - this.listedAt <= this.maxAgeMs;
    if (fresh) return this.listing as Promise<ContainerStatus[]>;
    const generation = this.generation;
    this.listedAt = this.now();
    this.listingGeneration = generation;
    const p = this.inner.listContainers();
    this.listing = p;
    p.catch(() => {
      if (this.listing === p) this.listing = undefined;
    });
    return p;
  }

  async containerStatus(id: string): Promise<ContainerStatus | undefined> {
    return (await this.listContainers()).find((c) => c.id === id);
  }

  version(): Promise<RuntimeVersion> {
    return this.inner.version();
  }
  listImages(): Promise<ImageRef[]> {
    return this.inner.listImages();
  }
  importImage(tarPath: string): Promise<ImageRef[]> {
    return this.inner.importImage(tarPath);
  }
  removeImage(ref: string): Promise<void> {
    return this.inner.removeImage(ref);
  }
  createContainer(cfg: ContainerConfig): Promise<void> {
    return this.changing(this.inner.createContainer(cfg));
  }
  startContainer(id: string): Promise<void> {
    return this.changing(this.inner.startContainer(id));
  }
  signalContainer(id: string, signal: NodeJS.Signals): Promise<void> {
    return this.changing(this.inner.signalContainer(id, signal));
  }
  removeContainer(id: string): Promise<void> {
    return this.changing(this.inner.removeContainer(id));
  }
  exec(id: string, opts: ExecOptions): Promise<ExecSession> {
    return this.inner.exec(id, opts);
  }
  execSync(id: string, cmd: readonly string[], timeoutMs: number): Promise<ExecResult> {
    return this.inner.execSync(id, cmd, timeoutMs);
  }
  onEvent(listener: (e: RuntimeEvent) => void): () => void {
    return this.inner.onEvent(listener);
  }
  async close(): Promise<void> {
    this.unsubscribe();
    await this.inner.close();
  }
}
