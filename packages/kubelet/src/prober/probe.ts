/**
 * One probe of one container, as pkg/kubelet/prober/prober.go: choose the handler (exec,
 * httpGet, tcpSocket, grpc), retry it on prober errors (not on failures) up to 3 times, record
 * kube's events (Unhealthy: `Liveness probe failed: <output>`, `... probe errored and resulted
 * in unknown state: <err>`; ProbeWarning for unfollowed redirects) and map the outcome to a
 * result. A prober error comes back as `error`; the worker throws that result away.
 */
import type { ObjectReference, Pod } from "@skiff/api";
import type { KubeletContainer, KubeletPodStatus, Probe } from "../api-types.js";
import { doExecProbe } from "./exec.js";
import { doGRPCProbe } from "./grpc.js";
import { doHTTPProbe, newRequestForHTTPGetAction } from "./http.js";
import { expandStatic, resolveContainerPort } from "./port.js";
import type { ProbeType } from "./prober.js";
import { doTCPProbe } from "./tcp.js";
import type { Dialer, ExecSync, ProbeReply, ProberLogger } from "./types.js";
import { bareContainerID } from "./types.js";

const MAX_PROBE_RETRIES = 3;

/** What probes record events through: client's EventRecorder fits. */
export interface ProbeEventRecorder {
  event(object: ObjectReference, eventtype: string, reason: string, message: string): void;
}

export interface ProbeOutcomeResult {
  result: "success" | "failure";
  /** The probe's output on failure (the text after `Liveness probe failed: `). */
  output: string;
  /** A prober error: the result is to be ignored. */
  error?: Error;
}

/** probeType.String(): Liveness, Readiness, Startup. */
export const probeTypeName = (t: ProbeType): string => t.charAt(0).toUpperCase() + t.slice(1);

export function probeSpecOf(container: KubeletContainer, t: ProbeType): Probe | undefined {
  if (t === "liveness") return container.livenessProbe;
  if (t === "readiness") return container.readinessProbe;
  return container.startupProbe;
}

/** kubecontainer.GenerateContainerRef: the pod, with the container as fieldPath. */
export function containerRef(pod: Pod, container: KubeletContainer): ObjectReference {
  const isInit = (pod.spec.initContainers ?? []).some((c) => c.name === container.name);
  return {
    apiVersion: "v1",
    kind: "Pod",
    namespace: pod.metadata.namespace,
    name: pod.metadata.name,
    uid: pod.metadata.uid,
    resourceVersion: pod.metadata.resourceVersion,
    fieldPath: `${isInit ? "spec.initContainers" : "spec.containers"}{${container.name}}`,
  };
}

export class Prober {
  constructor(
    private readonly dial: Dialer,
    private readonly execSync: ExecSync,
    private readonly recorder: ProbeEventRecorder | undefined,
    private readonly logger: ProberLogger | undefined,
  ) {}

  async probe(
    probeType: ProbeType,
    pod: Pod,
    status: KubeletPodStatus,
    container: KubeletContainer,
    containerID: string,
  ): Promise<ProbeOutcomeResult> {
    const spec = probeSpecOf(container, probeType);
    if (spec === undefined) return { result: "success", output: "" };
    const name = probeTypeName(probeType);
    let reply: ProbeReply = { result: "unknown", output: "" };
    let error: Error | undefined;
    for (let i = 0; i < MAX_PROBE_RETRIES; i++) {
      try {
        reply = await this.runProbe(spec, pod, status, container, containerID);
        error = undefined;
      } catch (err) {
        reply = { result: "unknown", output: "" };
        error = err instanceof Error ? err : new Error(String(err));
      }
      if (error === undefined) break;
    }
    const ref = containerRef(pod, container);
    if (error !== undefined) {
      this.logger?.warn(
        { probeType, pod: podKey(pod), containerName: container.name, err: error.message },
        "Probe errored",
      );
      this.event(
        ref,
        "Unhealthy",
        `${name} probe errored and resulted in ${reply.result} state: ${error.message}`,
      );
      return { result: "failure", output: error.message, error };
    }
    switch (reply.result) {
      case "success":
        return { result: "success", output: reply.output };
      case "warning":
        this.event(ref, "ProbeWarning", `${name} probe warning: ${reply.output}`);
        return { result: "success", output: reply.output };
      case "failure":
        this.logger?.info(
          { probeType, pod: podKey(pod), containerName: container.name, output: reply.output },
          "Probe failed",
        );
        this.event(ref, "Unhealthy", `${name} probe failed: ${reply.output}`);
        return { result: "failure", output: reply.output };
      default:
        return { result: "failure", output: reply.output };
    }
  }

  private event(ref: ObjectReference, reason: string, message: string): void {
    this.recorder?.event(ref, "Warning", reason, message);
  }

  /** prober.runProbe: the handler the spec names; a spec error is thrown (a prober error). */
  private async runProbe(
    spec: Probe,
    pod: Pod,
    status: KubeletPodStatus,
    container: KubeletContainer,
    containerID: string,
  ): Promise<ProbeReply> {
    const timeoutMs = (spec.timeoutSeconds ?? 1) * 1000;
    const podIP = status.podIP ?? "";
    if (spec.exec !== undefined) {
      const cmd = expandStatic(spec.exec.command ?? [], container.env);
      return doExecProbe(this.execSync, bareContainerID(containerID), cmd, timeoutMs);
    }
    if (spec.httpGet !== undefined) {
      const req = newRequestForHTTPGetAction(spec.httpGet, container, podIP, "probe");
      return doHTTPProbe(this.dial, req, timeoutMs);
    }
    if (spec.tcpSocket !== undefined) {
      const port = resolveContainerPort(spec.tcpSocket.port, container);
      const host =
        spec.tcpSocket.host !== undefined && spec.tcpSocket.host !== "" ? spec.tcpSocket.host : podIP;
      return doTCPProbe(this.dial, host, port, timeoutMs);
    }
    if (spec.grpc !== undefined)
      return doGRPCProbe(this.dial, podIP, spec.grpc.service ?? "", spec.grpc.port, timeoutMs);
    throw new Error(`missing probe handler for ${podKey(pod)}:${container.name}`);
  }
}

/** format.Pod: `name_namespace(uid)`. */
export function podKey(pod: Pod): string {
  return `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid ?? ""})`;
}
