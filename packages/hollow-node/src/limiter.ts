/**
 * The one gate every API write of the hollow nodes passes: at most `concurrency` requests in
 * flight and, when `qps` > 0, a token bucket of `qps` per second holding up to `burst` (client-go's
 * flowcontrol.NewTokenBucketRateLimiter behind --kube-api-qps and --kube-api-burst). Two lanes:
 * node work (registration, Lease renewals, node status) goes before pod work, so a burst of pods
 * cannot make 5,000 Leases late and the nodes NotReady (kube-apiserver's priority and fairness
 * keeps the kubelets' leases in their own "node-high" level for the same reason).
 */
import type { Clock } from "./clock.js";
import { Deque } from "./deque.js";

export type Lane = "node" | "pod";

export interface LimiterOptions {
  /** Requests per second; 0: no rate limit. */
  qps: number;
  /** Tokens the bucket holds (requests that may go at once after a quiet spell). */
  burst: number;
  /** Requests in flight at most. */
  concurrency: number;
  clock: Clock;
}

/** What run() rejects with once the limiter is closed. */
export class LimiterClosed extends Error {
  override readonly name = "LimiterClosed";
  constructor() {
    super("the hollow nodes are stopping");
  }
}

interface Waiter {
  start(): void;
  reject(e: unknown): void;
}

export class RequestLimiter {
  private inFlight = 0;
  private tokens: number;
  private refilledAt: number;
  private timer: unknown;
  private closed = false;
  private readonly lanes: Record<Lane, Deque<Waiter>> = { node: new Deque(), pod: new Deque() };
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly o: LimiterOptions) {
    if (o.concurrency < 1) throw new Error("limiter: concurrency must be at least 1");
    this.tokens = Math.max(1, o.burst);
    this.refilledAt = o.clock.monotonic();
  }

  /** Requests waiting for their turn, per lane. */
  waiting(lane: Lane): number {
    return this.lanes[lane].length;
  }

  get active(): number {
    return this.inFlight;
  }

  /** Runs f when the lane's turn comes; rejects with LimiterClosed if closed before that. */
  run<T>(lane: Lane, f: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new LimiterClosed());
    return new Promise<T>((resolve, reject) => {
      this.lanes[lane].push({
        start: () => {
          this.inFlight++;
          (async () => f())()
            .then(resolve, reject)
            .finally(() => {
              this.inFlight--;
              if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
              this.pump();
            });
        },
        reject,
      });
      this.pump();
    });
  }

  /** Rejects everything waiting; what is in flight finishes. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    for (const lane of Object.values(this.lanes)) for (const w of lane.drain()) w.reject(new LimiterClosed());
  }

  /** Resolves once nothing is in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private nextLane(): Deque<Waiter> | undefined {
    if (this.lanes.node.length > 0) return this.lanes.node;
    if (this.lanes.pod.length > 0) return this.lanes.pod;
    return undefined;
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.o.concurrency) {
      const lane = this.nextLane();
      if (lane === undefined) return;
      if (!this.takeToken()) {
        this.wakeForToken();
        return;
      }
      lane.shift()?.start();
    }
  }

  private takeToken(): boolean {
    if (this.o.qps <= 0) return true;
    const now = this.o.clock.monotonic();
    this.tokens = Math.min(
      Math.max(1, this.o.burst),
      this.tokens + ((now - this.refilledAt) * this.o.qps) / 1000,
    );
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private wakeForToken(): void {
    if (this.timer !== undefined) return;
    const ms = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.o.qps));
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, ms);
  }
}
