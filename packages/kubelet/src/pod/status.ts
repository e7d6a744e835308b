/**
 * The pod status the kubelet computes, never accumulates: kubelet_pods.go generateAPIPodStatus,
 * convertToAPIContainerStatuses and getPhase over the runtime's containers of the pod, plus what
 * the last sync could not do (kube's reasonCache: CrashLoopBackOff, ErrImageNeverPull ...). A pure
 * function of its input; the probe manager's readiness comes in through a callback as
 * kube's probeManager.UpdatePodStatus.
 */
import type { Pod, PodCondition, PodStatus } from "@skiff/api";
import type { ContainerState, KubeletPodStatus, V1ContainerStatus } from "../api-types.js";
import { getPodQOS } from "../cm/qos.js";
import {
  containersReadyCondition,
  KUBELET_CONDITIONS,
  podInitializedCondition,
  podReadyCondition,
  readyToStartContainersCondition,
} from "./conditions.js";
import { byName, type KubeContainer } from "./labels.js";

/** Why the last sync could not run a container (kube's reasonCache entry). */
export interface SyncReason {
  reason: string;
  message: string;
}

export interface PodStatusInput {
  pod: Pod;
  /** The runtime's containers of this pod (any state). */
  containers: readonly KubeContainer[];
  /** Container name -> why the last sync did not (re)start it. */
  reasons?: ReadonlyMap<string, SyncReason>;
  /** Container id -> the runtime's error when starting it failed. */
  startErrors?: ReadonlyMap<string, string>;
  podIP?: string;
  hostIP?: string;
  /** Network, cgroup and volumes are set up (PodReadyToStartContainers). */
  sandboxReady: boolean;
  /** The pod worker has finished the pod: its containers will not run again. */
  podIsTerminal?: boolean;
  /** Terminal reason and message (e.g. Evicted, as the eviction manager sets them). */
  reason?: string;
  message?: string;
  now: number;
  /** Sets ready/started of container statuses (ProbeManager.updatePodStatus). */
  updatePodStatus?: (pod: Pod, status: PodStatus) => void;
}

/** RFC 3339 with seconds precision, as kube writes metav1.Time. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

export function generateAPIPodStatus(input: PodStatusInput): KubeletPodStatus {
  const { pod } = input;
  const old = (pod.status ?? {}) as Partial<KubeletPodStatus>;
  const initNames = (pod.spec.initContainers ?? []).map((c) => c.name);
  const appNames = pod.spec.containers.map((c) => c.name);
  const initStatuses = convertStatuses(input, "init", initNames, old.initContainerStatuses, false);
  const appStatuses = convertStatuses(
    input,
    "regular",
    appNames,
    old.containerStatuses,
    initNames.length > 0,
  );
  const s: KubeletPodStatus = {
    phase: getPhase(pod, initStatuses, appStatuses, input.podIsTerminal === true),
    conditions: [],
    qosClass: getPodQOS(pod),
    containerStatuses: appStatuses,
  };
  if (initNames.length > 0) s.initContainerStatuses = initStatuses;
  // A pod never leaves a terminal phase (kube: "prevent the pod from regressing from a terminal phase").
  if (old.phase === "Failed" || old.phase === "Succeeded") s.phase = old.phase;
  const hostIP = input.hostIP ?? old.hostIP;
  if (hostIP !== undefined) Object.assign(s, { hostIP, hostIPs: [{ ip: hostIP }] });
  const podIP = pod.spec.hostNetwork === true ? hostIP : (input.podIP ?? old.podIP);
  if (podIP !== undefined) Object.assign(s, { podIP, podIPs: [{ ip: podIP }] });
  s.startTime = old.startTime ?? rfc3339(input.now);
  const reason = input.reason ?? old.reason;
  if (reason !== undefined) s.reason = reason;
  const message = input.message ?? old.message;
  if (message !== undefined) s.message = message;
  for (const cs of [...(s.initContainerStatuses ?? []), ...appStatuses]) {
    const running = cs.state.running !== undefined;
    cs.started = running;
    cs.ready = running;
  }
  if (input.updatePodStatus !== undefined) input.updatePodStatus(pod, s as unknown as PodStatus);
  for (const cs of s.initContainerStatuses ?? []) if (cs.state.terminated?.exitCode === 0) cs.ready = true;
  s.conditions = [
    ...((old.conditions ?? []) as PodCondition[]).filter((c) => !KUBELET_CONDITIONS.has(c.type)),
    readyToStartContainersCondition(input.sandboxReady),
    podInitializedCondition(initNames, s.initContainerStatuses, s.phase),
    containersReadyCondition(appNames, appStatuses, s.phase),
    podReadyCondition(appNames, appStatuses, s.phase),
  ];
  return s;
}

function convertStatuses(
  input: PodStatusInput,
  type: "init" | "regular",
  names: readonly string[],
  oldStatuses: readonly V1ContainerStatus[] | undefined,
  hasInitContainers: boolean,
): V1ContainerStatus[] {
  const { pod } = input;
  const specs = type === "init" ? (pod.spec.initContainers ?? []) : pod.spec.containers;
  const runtime = byName(input.containers, type);
  return names.map((name) => {
    const spec = specs.find((c) => c.name === name);
    const oldStatus = oldStatuses?.find((o) => o.name === name);
    const history = runtime.get(name) ?? [];
    const current = history[0];
    let status: V1ContainerStatus;
    if (current === undefined) {
      status = {
        name,
        state: { waiting: { reason: hasInitContainers ? "PodInitializing" : "ContainerCreating" } },
        lastState: oldStatus?.lastState ?? {},
        ready: false,
        restartCount: oldStatus?.restartCount ?? 0,
        image: spec?.image ?? "",
        imageID: "",
      };
      // The runtime no longer has it (removed at termination): keep what the API last showed.
      if (oldStatus?.state.terminated !== undefined)
        status = { ...status, ...oldStatus, state: oldStatus.state };
      else if (oldStatus?.state.running !== undefined && input.podIsTerminal === true)
        status.state = {
          terminated: {
            exitCode: 137,
            reason: "ContainerStatusUnknown",
            message: "The container could not be located when the pod was terminated",
          },
        };
    } else {
      status = {
        name,
        state: stateOf(current, input.startErrors),
        lastState: {},
        ready: false,
        restartCount: current.restartCount,
        image: spec?.image ?? current.status.image,
        imageID: current.status.imageId ?? "",
        containerID: `containerd://${current.status.id}`,
      };
      const previous = history[1];
      if (previous !== undefined) {
        const st = stateOf(previous, input.startErrors);
        if (st.terminated !== undefined) status.lastState = st;
      } else if (oldStatus?.lastState.terminated !== undefined && current.restartCount > 0) {
        status.lastState = oldStatus.lastState;
      }
    }
    const why = input.reasons?.get(name);
    if (why !== undefined && status.state.running === undefined) {
      if (status.state.terminated !== undefined) status.lastState = status.state;
      status.state = { waiting: { reason: why.reason, message: why.message } };
    }
    return status;
  });
}

/** convertContainerStatus: the API state of one runtime container. */
function stateOf(c: KubeContainer, startErrors: ReadonlyMap<string, string> | undefined): ContainerState {
  const s = c.status;
  const id = `containerd://${s.id}`;
  const startError = startErrors?.get(s.id);
  if (startError !== undefined && s.state !== "running") {
    return {
      terminated: {
        exitCode: s.exitCode ?? 128,
        reason: "StartError",
        message: startError,
        startedAt: rfc3339(s.startedAt ?? s.createdAt),
        finishedAt: rfc3339(s.finishedAt ?? s.createdAt),
        containerID: id,
      },
    };
  }
  switch (s.state) {
    case "running":
      return { running: { startedAt: rfc3339(s.startedAt ?? s.createdAt) } };
    case "exited": {
      const exitCode = s.exitCode ?? 0;
      const reason = s.reason === "OOMKilled" ? "OOMKilled" : exitCode === 0 ? "Completed" : "Error";
      return {
        terminated: {
          exitCode,
          reason,
          startedAt: rfc3339(s.startedAt ?? s.createdAt),
          finishedAt: rfc3339(s.finishedAt ?? s.createdAt),
          containerID: id,
        },
      };
    }
    case "created":
      return { waiting: { reason: "ContainerCreating" } };
    default:
      return { waiting: {} };
  }
}

/** kube's getPhase (kubelet_pods.go), restartable (sidecar) init containers aside. */
export function getPhase(
  pod: Pod,
  initStatuses: readonly V1ContainerStatus[],
  appStatuses: readonly V1ContainerStatus[],
  podIsTerminal: boolean,
): KubeletPodStatus["phase"] {
  const restartPolicy = (pod.spec.restartPolicy as string | undefined) ?? "Always";
  let pendingInitialization = 0;
  let failedInitialization = 0;
  for (const c of pod.spec.initContainers ?? []) {
    const s = initStatuses.find((x) => x.name === c.name);
    if (s === undefined || s.state.running !== undefined) pendingInitialization++;
    else if (s.state.terminated !== undefined) {
      if (s.state.terminated.exitCode !== 0) failedInitialization++;
    } else if (s.state.waiting !== undefined) {
      const last = s.lastState.terminated;
      if (last !== undefined) {
        if (last.exitCode !== 0) failedInitialization++;
      } else pendingInitialization++;
    } else pendingInitialization++;
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of pod.spec.containers) {
    const s = appStatuses.find((x) => x.name === c.name);
    if (s === undefined) unknown++;
    else if (s.state.running !== undefined) running++;
    else if (s.state.terminated !== undefined) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state.waiting !== undefined) {
      if (s.lastState.terminated !== undefined) stopped++;
      else waiting++;
    } else unknown++;
  }
  if (failedInitialization > 0 && restartPolicy === "Never") return "Failed";
  const anyRegularStarted = appStatuses.some(
    (s) =>
      s.state.running !== undefined ||
      s.state.terminated !== undefined ||
      s.lastState.terminated !== undefined,
  );
  if ((pendingInitialization > 0 && !anyRegularStarted) || waiting > 0) return "Pending";
  if (running > 0 && unknown === 0) return "Running";
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? "Succeeded" : "Failed";
    if (restartPolicy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (restartPolicy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}
