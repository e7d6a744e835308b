/**
 * What one pod worker run does, as kubelet.go SyncPod, SyncTerminatingPod and SyncTerminatedPod
 * with kuberuntime_manager.go SyncPod: status first, then the sandbox (pod cgroup, volumes,
 * network and UTS namespaces), then the container actions computePodActions decided: kills, the next init
 * container, app containers, each start behind its CrashLoopBackOff (kube's doBackOff).
 */
import type { Container, ObjectReference, Pod } from "@skiff/api";
import type { Clock } from "@skiff/client";
import type { KubeletContainer, KubeletPodStatus } from "../api-types.js";
import type { ImageRef } from "../runtime/runtime.js";
import { podHostnameAndDomain } from "../volume/hosts.js";
import { VolumeError } from "../volume/volumes.js";
import { Backoff } from "./backoff.js";
import { generateContainerConfig } from "./container-config.js";
import { ensureImageExists, imageBackoffKey } from "./images.js";
import { killContainer } from "./kill.js";
import {
  byName,
  formatPod,
  fromRuntime,
  type KubeContainer,
  newContainerId,
  POD_UID_LABEL,
} from "./labels.js";
import { type ContainerToStart, computePodActions } from "./pod-actions.js";
import { generateAPIPodStatus } from "./status.js";
import type { PodLogger, PodState, PodWorkersOptions } from "./types.js";

export interface SyncResult {
  /** The pod's phase is terminal: move it to terminating. */
  terminal: boolean;
  /** When a back-off ends and the pod should be synced again. */
  wakeAt?: number;
}

export class PodSyncer {
  readonly backoff: Backoff;
  readonly imageBackoff: Backoff;

  constructor(
    private readonly o: PodWorkersOptions,
    private readonly clock: Clock,
    private readonly log: PodLogger,
  ) {
    this.backoff = new Backoff(clock);
    this.imageBackoff = new Backoff(clock);
  }

  /** The runtime's containers of one pod. */
  async podContainers(uid: string): Promise<KubeContainer[]> {
    const all = await this.o.runtime.listContainers();
    return all.filter((s) => s.labels[POD_UID_LABEL] === uid).flatMap((s) => fromRuntime(s) ?? []);
  }

  status(st: PodState, containers: readonly KubeContainer[], podIsTerminal = false): KubeletPodStatus {
    const input: Parameters<typeof generateAPIPodStatus>[0] = {
      pod: st.pod,
      containers,
      reasons: st.reasons,
      startErrors: st.startErrors,
      hostIP: this.o.network.nodeIP(),
      sandboxReady: st.sandboxReady,
      podIsTerminal,
      now: this.clock.now(),
    };
    if (st.podIP !== undefined) input.podIP = st.podIP;
    if (st.terminalReason !== undefined) Object.assign(input, st.terminalReason);
    const probes = this.o.probes;
    if (probes !== undefined) input.updatePodStatus = (pod, s) => probes.updatePodStatus(pod, s);
    return generateAPIPodStatus(input);
  }

  /** SyncPod: one step of a pod that should run. */
  async syncPod(st: PodState): Promise<SyncResult> {
    const pod = st.pod;
    let containers = await this.podContainers(st.uid);
    const before = this.status(st, containers);
    this.o.statusManager.setPodStatus(pod, before);
    if (before.phase === "Succeeded" || before.phase === "Failed") return { terminal: true };

    const cgroupParent = await this.o.cgroups.ensurePod(pod);
    let volumes: Map<string, string>;
    try {
      volumes = await this.o.volumes.setUpPod(pod);
    } catch (e) {
      if (e instanceof VolumeError) this.podEvent(pod, "Warning", e.reason, e.message);
      throw e;
    }
    let netnsPath: string | undefined;
    let utsPath: string | undefined;
    if (pod.spec.hostNetwork === true) st.podIP = this.o.network.nodeIP();
    else {
      try {
        const net = await this.o.network.setUpPod(st.uid, pod.metadata.name, pod.metadata.namespace);
        st.podIP = net.ip;
        netnsPath = net.netnsPath;
        // The sandbox's hostname is set before any container starts (kube: the pause container's).
        utsPath = await this.o.uts.setUpPod(st.uid, podHostnameAndDomain(pod).hostname);
      } catch (e) {
        this.podEvent(
          pod,
          "Warning",
          "FailedCreatePodSandBox",
          `Failed to create pod sandbox: ${errText(e)}`,
        );
        throw e;
      }
    }
    st.sandboxReady = true;
    if (this.o.probes !== undefined) this.o.probes.addPod(pod);

    const actions = computePodActions(pod, containers, {
      liveness: st.livenessFailed,
      startup: st.startupFailed,
    });
    for (const k of actions.containersToKill) {
      const msg = k.message || `Stopping container ${k.container.name}`;
      this.containerEvent(pod, k.container.name, k.container.type, "Normal", "Killing", msg);
      await killContainer(this.killDeps(), {
        pod,
        spec: k.spec,
        containerId: k.container.status.id,
        reason: k.reason,
      });
      st.livenessFailed.delete(k.container.status.id);
      st.startupFailed.delete(k.container.status.id);
    }
    if (actions.containersToKill.length > 0) containers = await this.podContainers(st.uid);
    const toStart = actions.nextInitContainerToStart
      ? [actions.nextInitContainerToStart]
      : actions.containersToStart;
    let wakeAt: number | undefined;
    const images = await this.o.runtime.listImages();
    const sandbox = { volumes, netnsPath, utsPath, cgroupParent };
    for (const s of toStart) {
      const latest = byName(containers, s.type).get(s.spec.name)?.[0];
      const w = await this.startContainer(
        st,
        { ...s, ...(latest ? { latest, restartCount: latest.restartCount + 1 } : {}) },
        images,
        sandbox,
      );
      if (w !== undefined) wakeAt = Math.min(wakeAt ?? w, w);
    }
    await this.removeOldContainers(st.uid);
    containers = await this.podContainers(st.uid);
    this.o.statusManager.setPodStatus(pod, this.status(st, containers));
    const result: SyncResult = { terminal: false };
    if (wakeAt !== undefined) result.wakeAt = wakeAt;
    return result;
  }

  /** startContainer behind doBackOff and the image check; returns when to try again, if backed off. */
  private async startContainer(
    st: PodState,
    s: ContainerToStart,
    images: readonly ImageRef[],
    sandbox: {
      volumes: Map<string, string>;
      netnsPath: string | undefined;
      utsPath: string | undefined;
      cgroupParent: string;
    },
  ): Promise<number | undefined> {
    const pod = st.pod;
    const c = s.spec as KubeletContainer;
    const key = `${formatPod(pod)}_${c.name}`;
    const event = (type: "Normal" | "Warning", reason: string, message: string) =>
      this.containerEvent(pod, c.name, s.type, type, reason, message);
    const exited = s.latest?.status.state === "exited" ? s.latest : undefined;
    if (exited !== undefined) {
      const ts = exited.status.finishedAt ?? exited.status.createdAt;
      if (this.backoff.isInBackOffSince(key, ts)) {
        const delay = this.backoff.get(key) / 1000;
        event(
          "Warning",
          "BackOff",
          `Back-off restarting failed container ${c.name} in pod ${formatPod(pod)}`,
        );
        st.reasons.set(c.name, {
          reason: "CrashLoopBackOff",
          message: `back-off ${delay}s restarting failed container=${c.name} pod=${formatPod(pod)}`,
        });
        return this.backoff.endsAt(key, ts);
      }
      this.backoff.next(key, ts);
    }
    const img = ensureImageExists(pod, c, images, this.imageBackoff, this.clock.now(), event);
    if (!img.ok) {
      st.reasons.set(c.name, { reason: img.reason, message: img.message });
      if (img.reason !== "ErrImageNeverPull") event("Warning", "Failed", `Error: ${img.reason}`);
      if (img.reason === "ErrImageNeverPull") return undefined;
      // As kube's worker re-queues a failed sync: within the back-off the status says ImagePullBackOff.
      const end =
        this.imageBackoff.endsAtSinceUpdate(imageBackoffKey(pod, c.image ?? "")) ?? this.clock.now();
      return Math.min(end, this.clock.now() + (this.o.syncErrorBackoffMs ?? 10_000));
    }
    const id = newContainerId();
    try {
      const env = await this.o.makeEnvironment(pod, c, st.podIP ?? "");
      const cfg = generateContainerConfig({
        pod,
        container: c,
        type: s.type,
        id,
        imageRef: img.image.ref,
        restartCount: s.restartCount,
        env,
        mounts: this.o.volumes.mountsFor(pod, c, sandbox.volumes, {
          ...(st.podIP === undefined ? {} : { podIPs: [st.podIP] }),
          env,
        }),
        ...(sandbox.netnsPath === undefined ? {} : { netnsPath: sandbox.netnsPath }),
        ...(sandbox.utsPath === undefined ? {} : { utsPath: sandbox.utsPath }),
        podCgroupParent: sandbox.cgroupParent,
        logPath: this.o.logPathFor(pod, c.name, s.restartCount),
      });
      await this.o.runtime.createContainer(cfg);
    } catch (e) {
      st.reasons.set(c.name, { reason: "CreateContainerConfigError", message: errText(e) });
      event("Warning", "Failed", `Error: ${errText(e)}`);
      return this.clock.now() + (this.o.syncErrorBackoffMs ?? 10_000);
    }
    event("Normal", "Created", `Created container ${c.name}`);
    try {
      await this.o.runtime.startContainer(id);
    } catch (e) {
      st.startErrors.set(id, errText(e));
      st.reasons.delete(c.name);
      event("Warning", "Failed", `Error: ${errText(e)}`);
      return undefined;
    }
    st.reasons.delete(c.name);
    event("Normal", "Started", `Started container ${c.name}`);
    const postStart = c.lifecycle?.postStart;
    if (postStart !== undefined && this.o.runHandler !== undefined) {
      try {
        await this.o.runHandler(pod, c, id, postStart, (pod.spec.terminationGracePeriodSeconds ?? 30) * 1000);
      } catch (e) {
        event("Warning", "FailedPostStartHook", errText(e));
        await killContainer(this.killDeps(), { pod, spec: c, containerId: id, reason: "terminate" });
      }
    }
    return undefined;
  }

  /** Keeps the newest two containers per name (current and previous), removes older exited ones. */
  private async removeOldContainers(uid: string): Promise<void> {
    const containers = await this.podContainers(uid);
    for (const type of ["init", "regular"] as const) {
      for (const list of byName(containers, type).values()) {
        for (const old of list.slice(2))
          if (old.status.state !== "running") await this.o.runtime.removeContainer(old.status.id);
      }
    }
  }

  /** SyncTerminatingPod: stops every running container (preStop, SIGTERM, grace, SIGKILL). */
  async syncTerminatingPod(st: PodState): Promise<void> {
    const pod = st.pod;
    const containers = await this.podContainers(st.uid);
    this.o.statusManager.setPodStatus(pod, this.status(st, containers));
    const running = containers.filter((c) => c.status.state === "running" || c.status.state === "unknown");
    await Promise.all(
      running.map((c) => {
        const spec = specOf(pod, c);
        this.containerEvent(pod, c.name, c.type, "Normal", "Killing", `Stopping container ${c.name}`);
        const opts: Parameters<typeof killContainer>[1] = {
          pod,
          spec,
          containerId: c.status.id,
          reason: "terminate",
        };
        if (st.gracePeriodOverride !== undefined) opts.gracePeriodOverride = st.gracePeriodOverride;
        const label = Number(c.status.labels["io.kubernetes.pod.terminationGracePeriod"]);
        if (Number.isFinite(label)) opts.labelGracePeriod = label;
        return killContainer(this.killDeps(), opts);
      }),
    );
    if (this.o.probes !== undefined) this.o.probes.removePod(pod);
  }

  /**
   * SyncTerminatedPod: the final status, then the pod's cgroup, network, UTS namespace and
   * volumes go (every container has stopped: none joins them again). Exited
   * containers stay (for logs) until the pod is deleted; then they are removed too.
   */
  async syncTerminatedPod(st: PodState): Promise<void> {
    const pod = st.pod;
    const containers = await this.podContainers(st.uid);
    st.sandboxReady = false;
    this.o.statusManager.setPodStatus(pod, this.status(st, containers, true));
    if (!st.cleanedUp) {
      await this.o.cgroups.removePod(st.uid);
      if (pod.spec.hostNetwork !== true) await this.o.network.tearDownPod(st.uid);
      await this.o.uts.tearDownPod(st.uid);
      await this.o.volumes.tearDownPod(st.uid);
      st.cleanedUp = true;
    }
    if ((pod.metadata.deletionTimestamp !== undefined || st.removed) && !st.containersRemoved) {
      for (const c of containers) await this.o.runtime.removeContainer(c.status.id);
      st.containersRemoved = true;
    }
  }

  private killDeps() {
    return {
      runtime: this.o.runtime,
      clock: this.clock,
      ...(this.o.runHandler ? { runHandler: this.o.runHandler } : {}),
      log: this.log,
    };
  }

  podEvent(pod: Pod, type: "Normal" | "Warning", reason: string, message: string): void {
    this.o.recorder.event(podRef(pod), type, reason, message);
  }

  /** An event about one container: kube's GenerateContainerRef fieldPath. */
  containerEvent(
    pod: Pod,
    name: string,
    type: "init" | "regular",
    etype: "Normal" | "Warning",
    reason: string,
    message: string,
  ): void {
    const field = type === "init" ? "initContainers" : "containers";
    this.o.recorder.event({ ...podRef(pod), fieldPath: `spec.${field}{${name}}` }, etype, reason, message);
  }
}

function podRef(pod: Pod): ObjectReference {
  const ref: ObjectReference = {
    apiVersion: "v1",
    kind: "Pod",
    name: pod.metadata.name,
    namespace: pod.metadata.namespace,
  };
  if (pod.metadata.uid !== undefined) ref.uid = pod.metadata.uid;
  if (pod.metadata.resourceVersion !== undefined) ref.resourceVersion = pod.metadata.resourceVersion;
  return ref;
}

function specOf(pod: Pod, c: KubeContainer): Container | undefined {
  const list = c.type === "init" ? (pod.spec.initContainers ?? []) : pod.spec.containers;
  return list.find((s) => s.name === c.name);
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
