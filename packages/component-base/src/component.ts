/**
 * The one lifecycle of every long-running Skiff part (store member, API server, scheduler,
 * controller manager, kubelet, proxy), as Kubernetes' component-base gives its binaries one:
 * construct from typed options (no I/O), start(), wait for ready, serve health and metrics,
 * stop() on SIGTERM or SIGINT after draining. A component runs the same way as its own process
 * (`runComponent`) and inside another (`skiff server` embeds the store).
 */
import type { Registry } from "prom-client";
import type { Health } from "./health.js";

export interface Component {
  /** As upstream names the binary ("etcd", "kube-apiserver"): the ready line and logs carry it. */
  readonly name: string;
  /** The checks behind /livez, /readyz and /healthz. */
  readonly health: Health;
  /** Prometheus metrics, with upstream names where a counterpart exists. */
  readonly metrics: Registry;
  /** Opens and binds what the component needs and begins its work. Called once. */
  start(): Promise<void>;
  /**
   * Settles once the component does its job (a store has a leader, a cache is synced): resolves,
   * or rejects when it cannot get there. Only meaningful after start().
   */
  readonly ready: Promise<void>;
  /** Fields of the ready line besides the component's name (URLs, ids). */
  describe(): Record<string, unknown>;
  /**
   * Stops taking new work, lets what is in flight finish (bounded by the component), releases
   * every socket, file and timer. Idempotent; safe after a failed start().
   */
  stop(): Promise<void>;
}

/** A promise with its settle functions, for a component's `ready`. */
export class Readiness {
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (e: unknown) => void;
  private done = false;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = () => {
        this.done = true;
        resolve();
      };
      this.reject = (e) => {
        this.done = true;
        reject(e);
      };
    });
    // A component stopped before anyone waited must not leave an unhandled rejection behind.
    this.promise.catch(() => undefined);
  }

  get settled(): boolean {
    return this.done;
  }
}

/** Runs `stop` once however many times it is called; later calls get the first call's promise. */
export function once(stop: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= stop();
    return running;
  };
}

export interface Signals {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

export interface RunOptions {
  /** Where the ready line goes (default stdout). */
  out?: (line: string) => void;
  /** Where signals come from (default the process). */
  signals?: Signals;
  /** Resolves when the component should stop, besides a signal (tests). */
  until?: Promise<void>;
}

/**
 * Runs a component until SIGTERM or SIGINT: start, wait for ready, print one JSON line
 * `{"event":"ready","component":NAME,...describe()}`, then on the first signal stop with draining.
 * A second signal while stopping gives up on draining (exit code 1), as kube's binaries do.
 * Resolves to the exit code; start-up errors are thrown after what started is stopped.
 */
export async function runComponent(c: Component, o: RunOptions = {}): Promise<number> {
  const signals: Signals = o.signals ?? process;
  const out = o.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  let signalled!: () => void;
  const stopAsked = new Promise<void>((resolve) => {
    signalled = resolve;
  });
  let forced!: () => void;
  const forceAsked = new Promise<number>((resolve) => {
    forced = () => resolve(1);
  });
  let count = 0;
  const onSignal = () => {
    count++;
    if (count === 1) signalled();
    else forced();
  };
  const names: NodeJS.Signals[] = ["SIGTERM", "SIGINT"];
  for (const s of names) signals.on(s, onSignal);
  try {
    const started = (async () => {
      await c.start();
      await c.ready;
    })();
    const first = await Promise.race([
      started.then(() => "ready" as const),
      stopAsked.then(() => "stop" as const),
    ]);
    if (first === "ready") {
      out(JSON.stringify({ event: "ready", component: c.name, ...c.describe() }));
      await Promise.race([stopAsked, o.until ?? new Promise<never>(() => {})]);
    } else started.catch(() => undefined);
    return await Promise.race([c.stop().then(() => 0), forceAsked]);
  } catch (e) {
    await c.stop().catch(() => undefined);
    throw e;
  } finally {
    for (const s of names) signals.off(s, onSignal);
  }
}
