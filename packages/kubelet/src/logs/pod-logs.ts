/**
 * Which container and which log files a `kubectl logs` request means, as the kubelet's
 * GetContainerLogs decides it: the current instance from the pod's status, or with `previous`
 * the last terminated one (lastState); the files are that instance's log with its rotations.
 */
import type { Writable } from "node:stream";
import type { Pod } from "@skiff/api";
import type { KubeletPodStatus, V1ContainerStatus } from "../api-types.js";
import type { ContainerRuntime } from "../runtime/runtime.js";
import type { LogOptions } from "./logs.js";
import { containerLogPath, logFilesFor } from "./paths.js";
import { readContainerLog } from "./reader.js";

const bare = (id: string | undefined) => id?.replace(/^containerd:\/\//, "");

export class PodLogs {
  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly root: string,
    private readonly podStatus: (uid: string) => KubeletPodStatus | undefined,
  ) {}

  private status(uid: string, name: string): V1ContainerStatus | undefined {
    const s = this.podStatus(uid);
    return [...(s?.containerStatuses ?? []), ...(s?.initContainerStatuses ?? [])].find(
      (c) => c.name === name,
    );
  }

  containerID(uid: string, name: string, previous: boolean): string | undefined {
    const s = this.status(uid, name);
    if (s === undefined) return undefined;
    if (!previous) return bare(s.containerID);
    return bare(s.lastState.terminated?.containerID);
  }

  logFiles(pod: Pod, name: string, previous: boolean): string[] | undefined {
    const uid = pod.metadata.uid ?? "";
    const s = this.status(uid, name);
    if (s === undefined || (s.containerID === undefined && !previous)) return undefined;
    const restartCount = previous ? s.restartCount - 1 : s.restartCount;
    if (restartCount < 0 || (previous && s.lastState.terminated === undefined)) return undefined;
    const path = containerLogPath(
      this.root,
      pod.metadata.namespace,
      pod.metadata.name,
      uid,
      name,
      restartCount,
    );
    return logFilesFor(path);
  }

  read(
    files: readonly string[],
    opts: LogOptions,
    out: Writable,
    stop: { containerDone: Promise<void>; signal: AbortSignal },
  ): Promise<void> {
    return readContainerLog(files, opts, out, { follow: { until: stop.containerDone }, signal: stop.signal });
  }

  /** Resolves when the container is not running (at once if it already stopped). */
  running(id: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const off = this.runtime.onEvent((e) => {
        if (e.id === id && e.type === "exit") {
          off();
          resolve();
        }
      });
      void this.runtime.containerStatus(id).then(
        (s) => {
          if (s?.state !== "running" && s?.state !== "created") {
            off();
            resolve();
          }
        },
        () => {
          off();
          resolve();
        },
      );
    });
  }
}
