/**
 * The results cache of one probe kind (pkg/kubelet/prober/results): the latest result per
 * container id, with an update pushed on every change. `force` pushes an unchanged result too:
 * the manager uses it for liveness and startup failures, which mean "restart this container"
 * each time the failure threshold is crossed.
 */
import type { ProbeResult } from "./prober.js";

export interface ResultUpdate {
  containerID: string;
  result: ProbeResult;
  podUID: string;
  containerName: string;
  message?: string;
}

export class ResultsManager {
  private readonly cache = new Map<string, ProbeResult>();

  constructor(private readonly onUpdate: (u: ResultUpdate) => void) {}

  get(containerID: string): ProbeResult | undefined {
    return this.cache.get(containerID);
  }

  set(update: ResultUpdate, force = false): void {
    const prev = this.cache.get(update.containerID);
    this.cache.set(update.containerID, update.result);
    if (prev !== update.result || force) this.onUpdate(update);
  }

  remove(containerID: string): void {
    this.cache.delete(containerID);
  }
}
