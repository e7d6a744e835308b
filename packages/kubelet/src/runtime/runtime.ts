/**
 * The kubelet's one door to containers, as CRI is upstream's (k8s.io/cri-api RuntimeService and
 * ImageService), cut to what Skiff's kubelet uses. The real implementation drives containerd
 * through its `ctr` CLI (runtime/ctr/); runtime/fake.ts serves fast unit tests; one contract
 * suite (test/runtime-contract.ts) runs against both.
 *
 * A pod "sandbox" is not a container here: the pod's network namespace, UTS namespace and
 * cgroup parent are made by network/, uts/ and cm/, and each container joins them through its
 * config.
 */
import type { Readable, Writable } from "node:stream";

/** An image the runtime holds (CRI's Image). */
export interface ImageRef {
  /** The reference it was imported under, e.g. "skiff.local/busybox:latest". */
  ref: string;
  /** The image id kube reports as imageID: the manifest's (or config's) digest, "sha256:...". */
  id: string;
  /** Bytes the image's content uses (for image garbage collection). */
  size: number;
}

export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

/** Everything needed to create one container (CRI's ContainerConfig + the sandbox parts). */
export interface ContainerConfig {
  /** Unique in the node's containerd namespace; the kubelet chooses it. */
  id: string;
  /** An image reference as listImages() reports it. */
  image: string;
  /**
   * The full argv, already resolved by the kubelet from command/args and the image's
   * Entrypoint/Cmd (empty: the image's own). Environment expansion $(VAR) is done before.
   */
  args: readonly string[];
  env: ReadonlyArray<{ name: string; value: string }>;
  workingDir?: string;
  mounts: readonly Mount[];
  /** The pod's network namespace (a path under /var/run/netns); absent: the host's. */
  netnsPath?: string;
  /** runc cgroups path, e.g. "/skiff-node-a/kubepods/burstable/pod<uid>/<id>". */
  cgroupsPath?: string;
  /** memory.limit_in_bytes; absent or 0: unlimited. */
  memoryLimitBytes?: number;
  /** CFS quota in cores (0.5 = 50 ms per 100 ms); absent or 0: unlimited. */
  cpuLimitCores?: number;
  /** cpu.shares (kube: milliCPU * 1024 / 1000, minimum 2). */
  cpuShares?: number;
  /** Written to containerd's container labels; listContainers() returns them. */
  labels: Readonly<Record<string, string>>;
  /** Where stdout and stderr go, in the CRI log format (logs/). */
  logPath: string;
  /**
   * The pod's UTS namespace (a bind-mounted namespace file, uts/), its hostname already set:
   * the container joins it, so it has that name from its first instruction on. Absent: the
   * container gets a UTS namespace of its own, named `hostname` once it runs (best effort), or
   * the host's with netnsPath absent too.
   */
  utsPath?: string;
  /** The hostname to set when there is no utsPath. */
  hostname?: string;
}

export type RuntimeContainerState = "created" | "running" | "exited" | "unknown";

/** CRI's ContainerStatus. Times are milliseconds since the epoch. */
export interface ContainerStatus {
  id: string;
  image: string;
  /** The image's id (see ImageRef.id), when known. */
  imageId?: string;
  labels: Readonly<Record<string, string>>;
  state: RuntimeContainerState;
  pid?: number;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  /** "OOMKilled" when containerd reported an OOM for it before the exit; else absent. */
  reason?: "OOMKilled";
  logPath?: string;
}

export type RuntimeEvent =
  | { type: "start"; id: string; at: number }
  | { type: "exit"; id: string; exitCode: number; at: number }
  | { type: "oom"; id: string; at: number };

export interface ExecOptions {
  cmd: readonly string[];
  tty?: boolean;
  stdin?: boolean;
  env?: ReadonlyArray<{ name: string; value: string }>;
}

/** A running exec (CRI's streaming Exec). */
export interface ExecSession {
  /** Present when opts.stdin was set; end() it to close the process's stdin. */
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  /** With a tty stderr is merged into stdout and this stream ends empty. */
  readonly stderr: Readable;
  /** Terminal size, with a tty only (best effort). */
  resize(cols: number, rows: number): void;
  /** Ends the exec's process (SIGKILL). */
  kill(): void;
  /** The process's exit code (128+signal when killed). */
  readonly exited: Promise<number>;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
}

export interface RuntimeVersion {
  runtimeName: string;
  runtimeVersion: string;
}

export interface ContainerRuntime {
  version(): Promise<RuntimeVersion>;

  listImages(): Promise<ImageRef[]>;
  /** Imports an OCI image layout tarball; returns the images it named. */
  importImage(tarPath: string): Promise<ImageRef[]>;
  /** Idempotent. */
  removeImage(ref: string): Promise<void>;

  /** Creates the container (and its snapshot); fails if the id exists or the image is absent. */
  createContainer(cfg: ContainerConfig): Promise<void>;
  /** Starts a created container's process; resolves once it runs. */
  startContainer(id: string): Promise<void>;
  /** Sends a signal to the container's main process; no-op when it is not running. */
  signalContainer(id: string, signal: NodeJS.Signals): Promise<void>;
  /** Removes the container, its task and its snapshot; kills it first if it runs. Idempotent. */
  removeContainer(id: string): Promise<void>;
  /**
   * Every container in this runtime's namespace, with state and, for exited ones, exit code,
   * finishedAt and reason. Survives a restart of the runtime object (the agent's restart):
   * exits seen while nobody watched are still reported.
   */
  listContainers(): Promise<ContainerStatus[]>;
  containerStatus(id: string): Promise<ContainerStatus | undefined>;

  /** Starts a process in a running container. */
  exec(id: string, opts: ExecOptions): Promise<ExecSession>;
  /** Runs a command to completion (exec probes, preStop hooks); kills it at the timeout. */
  execSync(id: string, cmd: readonly string[], timeoutMs: number): Promise<ExecResult>;

  /** Subscribes to container events; returns the unsubscribe function. */
  onEvent(listener: (e: RuntimeEvent) => void): () => void;
  /** Stops event streams and helper processes it started (not the containers). */
  close(): Promise<void>;
}
