/**
 * The periodic loop of the node agents (status, lease, eviction, image GC, static pods), as kube
 * runs theirs with wait.Until: run at once, then wait the period after each run ends (the sliding
 * period), until stopped. The wait is on the agent's clock, so unit tests step it. stop() ends the
 * wait at once and resolves when the run in flight, if any, has ended; a run that throws is
 * reported to onError and the loop goes on.
 */
import { type Clock, sleep } from "@skiff/client";

export interface PeriodicOptions {
  clock: Clock;
  periodMs: number;
  /** One period's work. */
  run: () => Promise<unknown>;
  onError: (e: unknown) => void;
}

export class Periodic {
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  constructor(private readonly o: PeriodicOptions) {}

  get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** Aborts on stop(): for waits inside a run (a backoff) that must end with the loop. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Starts the loop; the first run begins before start returns (up to its first await). */
  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.o.run();
      } catch (e) {
        this.o.onError(e);
      }
      if (!(await sleep(this.o.clock, this.o.periodMs, this.abort.signal))) return;
    }
  }
}
