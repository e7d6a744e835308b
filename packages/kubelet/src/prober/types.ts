/**
 * What the probers need from the rest of the kubelet, and the result of one probe as
 * pkg/probe's Result (success, warning, failure, unknown) with its output text.
 */
import type { Duplex } from "node:stream";

/** Opens a TCP connection from inside the node's network namespace (PodNetwork.dial). */
export type Dialer = (host: string, port: number, timeoutMs: number) => Promise<Duplex>;

/** The runtime's ExecResult, with stdout/stderr as Buffers or strings. */
export interface ExecSyncResult {
  exitCode: number;
  stdout: Buffer | string;
  stderr: Buffer | string;
  timedOut: boolean;
}

/** ContainerRuntime.execSync: `containerID` is the bare runtime id (no `containerd://`). */
export type ExecSync = (
  containerID: string,
  cmd: readonly string[],
  timeoutMs: number,
) => Promise<ExecSyncResult>;

/** pkg/probe Result. */
export type ProbeOutcome = "success" | "warning" | "failure" | "unknown";

export interface ProbeReply {
  result: ProbeOutcome;
  output: string;
}

/** Where the kubelet logs: a pino Logger fits. */
export interface ProberLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

/** The Kubernetes minor the User-Agent names, as kube's `kube-probe/<major>.<minor>`. */
export const KUBE_VERSION = "1.32";

/** The container id without its runtime scheme: kubecontainer.ParseContainerID's ID. */
export function bareContainerID(containerID: string): string {
  const i = containerID.indexOf("://");
  return i < 0 ? containerID : containerID.slice(i + 3);
}

/** net.JoinHostPort: brackets around IPv6 literals. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A whole number of seconds as Go's time.Duration String() writes it (1s, 1m30s, 1h0m0s). */
export function goDuration(seconds: number): string {
  if (seconds === 0) return "0s";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Go's %q for a string: JSON's escaping matches it for the characters probes meet. */
export const goQuote = (s: string): string => JSON.stringify(s);
