/**
 * What the kubelet's API reads from the rest of the kubelet: its pods, their containers, their
 * log files, the runtime's exec, and a dialer into pod network namespaces. The integrator wires
 * these to the pod manager, the runtime (runtime/runtime.ts), logs/ and network/.
 */
import type { Duplex, Writable } from "node:stream";
import type { Pod } from "@skiff/api";
import type { Logger } from "@skiff/component-base";
import type { LogOptions } from "../logs/logs.js";
import type { ExecOptions, ExecSession } from "../runtime/runtime.js";

/** When a log read stops following. */
export interface LogStop {
  /** Resolves when the container stops: a follow ends once the rest of the file is written. */
  containerDone: Promise<void>;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

export interface KubeletServerDeps {
  /** A pod this kubelet runs (kube: the pod manager's GetPodByName). */
  getPod(namespace: string, name: string): Pod | undefined;
  /** Every pod this kubelet runs, for GET /pods. */
  listPods(): Pod[];
  /**
   * The runtime id of the container's current instance, or of the one before it with
   * `previous`; undefined when there is none (not started yet, or no earlier instance).
   */
  containerID(podUID: string, containerName: string, opts: { previous: boolean }): string | undefined;
  /** The log files of that instance, oldest first (rotated ones, then the live one); undefined: none. */
  logFiles(pod: Pod, containerName: string, previous: boolean): string[] | undefined;
  /** Writes the log to `out` with kube's options; with opts.follow, until `stop` says so. */
  readLogs(files: readonly string[], opts: LogOptions, out: Writable, stop: LogStop): Promise<void>;
  /** Resolves when the container stops (at once if it is not running). */
  containerRunning(id: string): Promise<void>;
  exec(containerID: string, opts: ExecOptions): Promise<ExecSession>;
  /** A TCP connection to `port` in the pod's network namespace (network/'s dialer). */
  dial(pod: Pod, port: number): Promise<Duplex>;
  logger: Logger;
}
