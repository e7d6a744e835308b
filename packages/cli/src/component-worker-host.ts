/**
 * The parent's side of component-worker.ts: starts the worker, waits for its ready (or failure),
 * asks for its metrics text, and stops it (draining, then terminate() after 20 s).
 */
import { Worker } from "node:worker_threads";
import type { ComponentWorkerData, FromWorker, ToWorker } from "./component-worker.js";

/** The worker's module next to this one: .ts when running from source (tests), .js when built. */
const entry = new URL(
  `./component-worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
  import.meta.url,
);

export class ComponentWorker {
  private nextId = 0;
  private readonly pending = new Map<number, (text: string) => void>();
  private readonly exited: Promise<void>;
  /** Resolves if the component loses its lease (the worker then has stopped working). */
  readonly lost: Promise<void>;

  private constructor(private readonly worker: Worker) {
    this.exited = new Promise((r) => worker.once("exit", () => r()));
    this.lost = new Promise((r) =>
      worker.on("message", (m: FromWorker) => {
        if (m.type === "lost") r();
      }),
    );
    worker.on("message", (m: FromWorker) => {
      if (m.type === "metrics") {
        this.pending.get(m.id)?.(m.text);
        this.pending.delete(m.id);
      }
    });
  }

  static async start(data: ComponentWorkerData): Promise<ComponentWorker> {
    const worker = new Worker(entry, { workerData: data });
    const w = new ComponentWorker(worker);
    await new Promise<void>((resolve, reject) => {
      worker.on("message", (m: FromWorker) => {
        if (m.type === "ready") resolve();
        if (m.type === "failed") reject(new Error(`${data.kind}: ${m.message}`));
      });
      worker.once("error", reject);
      worker.once("exit", (code) =>
        reject(new Error(`${data.kind} worker exited (${code}) before it was ready`)),
      );
    }).catch(async (e: unknown) => {
      await worker.terminate();
      throw e;
    });
    return w;
  }

  /** The worker's metrics in Prometheus text ("" if it does not answer within 5 s). */
  metricsText(): Promise<string> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve("");
      }, 5_000);
      this.pending.set(id, (text) => {
        clearTimeout(timer);
        resolve(text);
      });
      this.post({ type: "metrics", id });
    });
  }

  private post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  async stop(): Promise<void> {
    this.post({ type: "stop" });
    const force = setTimeout(() => void this.worker.terminate(), 20_000);
    await this.exited;
    clearTimeout(force);
  }
}
