/**
 * kube's TimedWorkerQueue (pkg/controller/tainteviction/timed_workers.go): work keyed by a pod's
 * namespace/name that runs no earlier than its fire time, on the controller's clock. Work due at
 * once starts at once (and, while it runs, its key holds no timer: it can no longer be
 * cancelled). Each key has at most one piece of work; adding work for a key that has some is a
 * no-op, so a later, shorter toleration must cancel first.
 */
import type { Clock, TimerHandle } from "@skiff/client";

export interface WorkArgs {
  namespace: string;
  name: string;
}

/** KeyFromWorkArgs: the NamespacedName string. */
export function keyFromWorkArgs(a: WorkArgs): string {
  return `${a.namespace}/${a.name}`;
}

export interface TimedWorker {
  readonly args: WorkArgs;
  readonly createdAt: number;
  readonly fireAt: number;
  timer: TimerHandle | undefined;
  cancelled: boolean;
}

export type WorkFunc = (args: WorkArgs, fireAt: number) => Promise<void>;

export class TimedWorkerQueue {
  /** Scheduled work by key; undefined for work that is running (it has no timer left). */
  private readonly workers = new Map<string, TimedWorker | undefined>();
  /** Work running now, so that tests and shutdown can wait for it. */
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly clock: Clock,
    private readonly work: WorkFunc,
    private readonly onError: (key: string, e: unknown) => void,
  ) {}

  /** AddWork: schedules `args` for `fireAt` (delay measured from `createdAt`) unless its key has work. */
  addWork(args: WorkArgs, createdAt: number, fireAt: number): void {
    const key = keyFromWorkArgs(args);
    if (this.workers.has(key)) return;
    const worker: TimedWorker = { args, createdAt, fireAt, timer: undefined, cancelled: false };
    const delay = fireAt - createdAt;
    if (delay <= 0) {
      this.workers.set(key, undefined);
      this.start(key, worker);
      return;
    }
    worker.timer = this.clock.setTimeout(() => {
      if (worker.cancelled) return;
      worker.timer = undefined;
      // Running: it can no longer be cancelled (kube's nil entry).
      if (this.workers.get(key) === worker) this.workers.set(key, undefined);
      this.start(key, worker);
    }, delay);
    this.workers.set(key, worker);
  }

  /** CancelWork: drops the key's work; true if scheduled work was stopped before it ran. */
  cancelWork(key: string): boolean {
    if (!this.workers.has(key)) return false;
    const w = this.workers.get(key);
    this.workers.delete(key);
    if (w === undefined) return false;
    w.cancelled = true;
    if (w.timer !== undefined) this.clock.clearTimeout(w.timer);
    return true;
  }

  /** GetWorkerUnsafe: the key's scheduled work, if any (undefined also while it runs). */
  getWorker(key: string): TimedWorker | undefined {
    return this.workers.get(key);
  }

  /** Keys with work scheduled or running. */
  keys(): string[] {
    return [...this.workers.keys()];
  }

  /** Resolves once no work is running (work falling due meanwhile included). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** CancelAndWait: every timer stopped, then the running work waited for. */
  async cancelAndWait(): Promise<void> {
    for (const key of [...this.workers.keys()]) this.cancelWork(key);
    await this.idle();
  }

  private start(key: string, worker: TimedWorker): void {
    const p = this.work(worker.args, worker.fireAt)
      .catch((e: unknown) => this.onError(key, e))
      .finally(() => {
        this.running.delete(p);
        // Only this worker's own entry: a newer one for the key stays.
        if (this.workers.has(key) && this.workers.get(key) === undefined) this.workers.delete(key);
      });
    this.running.add(p);
  }
}
