/**
 * What one sync must do to a pod's containers, decided from the spec and the runtime's
 * containers alone: kuberuntime_manager.go computePodActions with findNextInitContainerToRun and
 * container/helpers.go ShouldContainerBeRestarted. Pure; the pod worker carries it out.
 */
import type { Container, Pod } from "@skiff/api";
import { byName, hashContainer, type KubeContainer } from "./labels.js";

export interface ContainerToStart {
  spec: Container;
  type: "init" | "regular";
  /** The restartCount label of the new container: the latest one's plus one. */
  restartCount: number;
  /** The latest container of that name, if any (back-off counts from its exit). */
  latest?: KubeContainer;
}

export interface ContainerToKill {
  container: KubeContainer;
  spec: Container | undefined;
  message: string;
  reason: "liveness" | "startup" | "changed" | "unknown";
}

export interface PodActions {
  /** The init container to start next, one at a time in order. */
  nextInitContainerToStart?: ContainerToStart;
  containersToStart: ContainerToStart[];
  containersToKill: ContainerToKill[];
  /** Init failed and restartPolicy is Never, or nothing runs and nothing will: the pod is done. */
  killPod: boolean;
}

export interface ProbeFailures {
  /** Container id -> failed liveness. */
  liveness: ReadonlySet<string>;
  /** Container id -> failed startup. */
  startup: ReadonlySet<string>;
}

const restartPolicyOf = (pod: Pod): string => (pod.spec.restartPolicy as string | undefined) ?? "Always";

/** ShouldContainerBeRestarted. */
export function shouldContainerBeRestarted(pod: Pod, latest: KubeContainer | undefined): boolean {
  if (pod.metadata.deletionTimestamp !== undefined) return false;
  if (latest === undefined) return true;
  const state = latest.status.state;
  if (state === "running") return false;
  if (state === "unknown" || state === "created") return true;
  const policy = restartPolicyOf(pod);
  if (policy === "Never") return false;
  if (policy === "OnFailure" && latest.status.exitCode === 0) return false;
  return true;
}

const isInitContainerFailed = (c: KubeContainer): boolean =>
  (c.status.state === "exited" && c.status.exitCode !== 0) || c.status.state === "unknown";

function toStart(
  spec: Container,
  type: "init" | "regular",
  latest: KubeContainer | undefined,
): ContainerToStart {
  const s: ContainerToStart = {
    spec,
    type,
    restartCount: latest === undefined ? 0 : latest.restartCount + 1,
  };
  if (latest !== undefined) s.latest = latest;
  return s;
}

export function computePodActions(
  pod: Pod,
  containers: readonly KubeContainer[],
  probes: ProbeFailures,
): PodActions {
  const actions: PodActions = { containersToStart: [], containersToKill: [], killPod: false };
  const inits = byName(containers, "init");
  const apps = byName(containers, "regular");
  const initSpecs = pod.spec.initContainers ?? [];
  const anyAppRan = pod.spec.containers.some((c) => apps.has(c.name));
  if (initSpecs.length > 0 && !anyAppRan) {
    const next = nextInitContainerToRun(pod, initSpecs, inits);
    if (!next.done) {
      if (next.next !== undefined) {
        const failed = next.last !== undefined && isInitContainerFailed(next.last);
        if (failed && restartPolicyOf(pod) === "Never") actions.killPod = true;
        else actions.nextInitContainerToStart = toStart(next.next, "init", inits.get(next.next.name)?.[0]);
      }
      return actions;
    }
  }
  let keep = 0;
  for (const spec of pod.spec.containers) {
    const latest = apps.get(spec.name)?.[0];
    if (latest === undefined || latest.status.state !== "running") {
      if (shouldContainerBeRestarted(pod, latest)) {
        actions.containersToStart.push(toStart(spec, "regular", latest));
        if (latest?.status.state === "unknown")
          actions.containersToKill.push({ container: latest, spec, message: "", reason: "unknown" });
      }
      continue;
    }
    let restart = restartPolicyOf(pod) !== "Never";
    let message: string;
    let reason: ContainerToKill["reason"];
    if (latest.hash !== hashContainer(spec)) {
      message = `Container ${spec.name} definition changed`;
      reason = "changed";
      restart = true;
    } else if (probes.liveness.has(latest.status.id)) {
      message = `Container ${spec.name} failed liveness probe`;
      reason = "liveness";
    } else if (probes.startup.has(latest.status.id)) {
      message = `Container ${spec.name} failed startup probe`;
      reason = "startup";
    } else {
      keep++;
      continue;
    }
    if (restart) {
      message = `${message}, will be restarted`;
      actions.containersToStart.push(toStart(spec, "regular", latest));
    }
    actions.containersToKill.push({ container: latest, spec, message, reason });
  }
  if (keep === 0 && actions.containersToStart.length === 0) actions.killPod = true;
  return actions;
}

/** findNextInitContainerToRun for init containers that are not sidecars. */
function nextInitContainerToRun(
  _pod: Pod,
  specs: readonly Container[],
  inits: ReadonlyMap<string, KubeContainer[]>,
): { last?: KubeContainer; next?: Container; done: boolean } {
  for (let i = specs.length - 1; i >= 0; i--) {
    const spec = specs[i] as Container;
    const s = inits.get(spec.name)?.[0];
    if (s !== undefined && isInitContainerFailed(s)) return { last: s, next: spec, done: false };
  }
  for (let i = specs.length - 1; i >= 0; i--) {
    const spec = specs[i] as Container;
    const s = inits.get(spec.name)?.[0];
    if (s === undefined) continue;
    if (s.status.state === "running") return { done: false };
    if (s.status.state === "exited") {
      if (i === specs.length - 1) return { done: true };
      return { next: specs[i + 1] as Container, done: false };
    }
  }
  return { next: specs[0] as Container, done: false };
}
