/**
 * The status a hollow node reports for a pod it "runs" without containers, as the kubelet's
 * generateAPIPodStatus would for a pod whose containers all started and passed readiness: phase
 * Running, the five pod conditions True, host and pod IPs, every container running and ready, init
 * containers completed (restartable sidecars running). Sent as the status manager sends it: a
 * strategic merge patch of pods/status carrying metadata.uid, so it cannot land on a pod recreated
 * under the same name.
 */
import { createHash } from "node:crypto";
import { type Container, metav1Time, type Pod, type PodCondition } from "@skiff/api";

export interface RunningPod {
  hostIP: string;
  podIP: string;
  /** When the hollow node took the pod (status.startTime, containers' startedAt). */
  startedAt: number;
}

const podConditionTypes = [
  "PodReadyToStartContainers",
  "Initialized",
  "Ready",
  "ContainersReady",
  "PodScheduled",
];

/** A container ID as a runtime would give it: "<runtime>://<64 hex>", stable per pod and container. */
function containerID(uid: string, name: string): string {
  return `fake://${createHash("sha256").update(`${uid}/${name}`).digest("hex")}`;
}

function containerStatus(pod: Pod, c: Container, started: string, init: boolean): object {
  const running = !init || c.restartPolicy === "Always";
  const id = containerID(pod.metadata.uid ?? "", c.name);
  const image = c.image ?? "";
  return {
    name: c.name,
    state: running
      ? { running: { startedAt: started } }
      : {
          terminated: {
            exitCode: 0,
            reason: "Completed",
            startedAt: started,
            finishedAt: started,
            containerID: id,
          },
        },
    lastState: {},
    ready: true,
    restartCount: 0,
    image,
    imageID: `fake://${image}`,
    containerID: id,
    started: running,
  };
}

/** The body of the status patch that makes `pod` Running and Ready. */
export function runningStatusPatch(pod: Pod, r: RunningPod, now: number): object {
  const started = metav1Time(new Date(r.startedAt));
  const since = metav1Time(new Date(now));
  const previous = new Map((pod.status?.conditions ?? []).map((c) => [c.type, c]));
  const conditions: PodCondition[] = podConditionTypes.map((type) => {
    const prior = previous.get(type);
    return {
      type,
      status: "True",
      lastProbeTime: null,
      // A condition that was already True keeps the time it became so.
      lastTransitionTime: prior?.status === "True" ? (prior.lastTransitionTime ?? since) : since,
    };
  });
  const status: Record<string, unknown> = {
    phase: "Running",
    conditions,
    hostIP: r.hostIP,
    hostIPs: [{ ip: r.hostIP }],
    podIP: r.podIP,
    podIPs: [{ ip: r.podIP }],
    startTime: started,
    containerStatuses: pod.spec.containers.map((c) => containerStatus(pod, c, started, false)),
  };
  const inits = pod.spec.initContainers ?? [];
  if (inits.length > 0)
    status.initContainerStatuses = inits.map((c) => containerStatus(pod, c, started, true));
  return { metadata: { uid: pod.metadata.uid }, status };
}

/** Whether the pod already shows what runningStatusPatch writes (nothing left to do). */
export function isRunningAndReady(pod: Pod): boolean {
  const s = pod.status;
  if (s?.phase !== "Running" || s.podIP === undefined || s.podIP === "") return false;
  if (!(s.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")) return false;
  const statuses = (s.containerStatuses ?? []) as { name?: string; ready?: boolean }[];
  return pod.spec.containers.every((c) => statuses.some((st) => st.name === c.name && st.ready === true));
}

/** Succeeded or Failed: the kubelet never starts such a pod again. */
export function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

/**
 * A test knob (no kubelet counterpart): a pod annotated `hollow.skiff.dev/exit-after-ms` "exits"
 * that long after it started, with `hollow.skiff.dev/exit-code` (default 0), so that Jobs can
 * finish on hollow nodes. Only for restartPolicy Never, or OnFailure with exit code 0: a real
 * kubelet would restart the other containers, which a hollow node does not model.
 */
export const EXIT_AFTER_MS_ANNOTATION = "hollow.skiff.dev/exit-after-ms";
export const EXIT_CODE_ANNOTATION = "hollow.skiff.dev/exit-code";

export interface ExitPlan {
  afterMs: number;
  code: number;
}

/** The pod's exit plan, if it asks for one the hollow node can honour. */
export function exitPlan(pod: Pod): ExitPlan | undefined {
  const a = pod.metadata.annotations ?? {};
  const after = a[EXIT_AFTER_MS_ANNOTATION];
  if (after === undefined || !/^\d+$/.test(after)) return undefined;
  const codeText = a[EXIT_CODE_ANNOTATION] ?? "0";
  if (!/^\d+$/.test(codeText)) return undefined;
  const code = Number(codeText);
  const policy = (pod.spec as { restartPolicy?: string }).restartPolicy ?? "Always";
  if (policy === "Never" || (policy === "OnFailure" && code === 0)) return { afterMs: Number(after), code };
  return undefined;
}

/**
 * The status patch of a pod whose containers all exited with `code` at `now`, as the kubelet
 * reports a terminal pod: phase Succeeded (0) or Failed, Ready and ContainersReady False with
 * reason PodCompleted (PodFailed), every container terminated (Completed or Error).
 */
export function terminatedStatusPatch(pod: Pod, r: RunningPod, now: number, code: number): object {
  const started = metav1Time(new Date(r.startedAt));
  const finished = metav1Time(new Date(now));
  const reason = code === 0 ? "PodCompleted" : "PodFailed";
  const previous = new Map((pod.status?.conditions ?? []).map((c) => [c.type, c]));
  const conditions: PodCondition[] = podConditionTypes.map((type) => {
    const prior = previous.get(type);
    const stays = type === "Initialized" || type === "PodScheduled";
    if (stays)
      return {
        type,
        status: "True",
        lastProbeTime: null,
        lastTransitionTime: prior?.lastTransitionTime ?? finished,
      };
    return { type, status: "False", reason, lastProbeTime: null, lastTransitionTime: finished };
  });
  const terminated = (c: Container) => ({
    name: c.name,
    state: {
      terminated: {
        exitCode: code,
        reason: code === 0 ? "Completed" : "Error",
        startedAt: started,
        finishedAt: finished,
        containerID: containerID(pod.metadata.uid ?? "", c.name),
      },
    },
    lastState: {},
    ready: false,
    restartCount: 0,
    image: c.image ?? "",
    imageID: `fake://${c.image ?? ""}`,
    containerID: containerID(pod.metadata.uid ?? "", c.name),
    started: false,
  });
  return {
    metadata: { uid: pod.metadata.uid },
    status: {
      phase: code === 0 ? "Succeeded" : "Failed",
      conditions,
      containerStatuses: pod.spec.containers.map(terminated),
    },
  };
}
