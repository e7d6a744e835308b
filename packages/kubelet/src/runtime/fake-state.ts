/**
 * The fake's containerd: images, containers and their simulated processes, shared by every
 * FakeRuntime over it, as containers live in containerd rather than in a CtrRuntime object. Exits
 * happen here on the clock whether or not a runtime is open.
 */
import { type Clock, realClock, type TimerHandle } from "@skiff/client";
import type { ProcessBehaviour } from "./fake-programs.js";
import type { ContainerConfig, ContainerStatus, ImageRef, RuntimeEvent } from "./runtime.js";

export interface FakeContainer {
  cfg: ContainerConfig;
  status: ContainerStatus;
  behaviour: ProcessBehaviour;
  timer?: TimerHandle;
}

/** What one node's containerd holds: images, containers and their simulated processes. */
export class FakeRuntimeState {
  readonly images = new Map<string, ImageRef>();
  readonly containers = new Map<string, FakeContainer>();
  /** The open runtimes over this state; each passes its events to its listeners. */
  readonly runtimes = new Set<{ deliver(e: RuntimeEvent): void }>();
  private nextPid = 1000;

  constructor(readonly clock: Clock = realClock) {}

  pid(): number {
    return this.nextPid++;
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

  emit(e: RuntimeEvent): void {
    for (const rt of [...this.runtimes]) rt.deliver(e);
  }
}
