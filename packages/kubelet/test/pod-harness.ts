/**
 * A pod worker set-up over the fakes for unit tests: FakeRuntime, FakePodNetwork,
 * FakeUTSNamespaces, FakePodCgroups, a stub volume manager, a stub probe manager whose results the test emits,
 * @skiff/client's FakeClient and one FakeClock for all of them.
 */
import type { Container, Pod, PodStatus } from "@skiff/api";
import { FakeClient, FakeClock } from "@skiff/client";
import { waitFor } from "@skiff/testkit";
import type { KubeletPodStatus, ProbeManager, ProbeResultEvent, VolumeManager } from "../src/index.js";
import {
  FakePodCgroups,
  FakePodNetwork,
  FakeRuntime,
  FakeUTSNamespaces,
  PodWorkers,
  StatusManager,
} from "../src/index.js";
import type { ProcessBehaviour } from "../src/runtime/fake.js";

export const IMAGE = "docker.io/library/busybox:latest";

export function makePod(name: string, spec: Partial<Pod["spec"]> = {}, uid = `uid-${name}`): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid, resourceVersion: "1" },
    spec: {
      nodeName: "node-a",
      containers: [
        { name: "c", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] },
      ],
      terminationGracePeriodSeconds: 30,
      ...spec,
    },
    status: {
      phase: "Pending",
      conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" }],
      qosClass: "BestEffort",
    },
  };
}

export class StubProbes implements ProbeManager {
  private readonly listeners = new Set<(e: ProbeResultEvent) => void>();
  readonly added: string[] = [];
  addPod(pod: Pod): void {
    this.added.push(pod.metadata.uid ?? "");
  }
  removePod(): void {}
  updatePodStatus(_pod: Pod, _status: PodStatus): void {}
  onResult(l: (e: ProbeResultEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: ProbeResultEvent): void {
    for (const l of this.listeners) l(e);
  }
  stop(): void {}
}

export class StubVolumes implements VolumeManager {
  readonly setUp = new Set<string>();
  failWith: Error | undefined;
  async setUpPod(pod: Pod): Promise<Map<string, string>> {
    if (this.failWith !== undefined) throw this.failWith;
    this.setUp.add(pod.metadata.uid ?? "");
    return new Map([["data", `/pods/${pod.metadata.uid}/volumes/data`]]);
  }
  mountsFor(_pod: Pod, c: Container, volumes: ReadonlyMap<string, string>) {
    return c.name === "c"
      ? [{ hostPath: volumes.get("data") ?? "", containerPath: "/data", readOnly: false }]
      : [];
  }
  async tearDownPod(uid: string): Promise<void> {
    this.setUp.delete(uid);
  }
  async listPods(): Promise<string[]> {
    return [...this.setUp];
  }
}

export interface RecordedEvent {
  reason: string;
  type: string;
  message: string;
  fieldPath?: string;
}

export interface Harness {
  clock: FakeClock;
  runtime: FakeRuntime;
  network: FakePodNetwork;
  uts: FakeUTSNamespaces;
  cgroups: FakePodCgroups;
  volumes: StubVolumes;
  probes: StubProbes;
  client: FakeClient;
  events: RecordedEvent[];
  statusManager: StatusManager;
  workers: PodWorkers;
  /** The pod as the API holds it. */
  apiPod(name: string): Pod | undefined;
  status(name: string): KubeletPodStatus | undefined;
  /** Lets every worker and status write in flight finish. */
  settle(): Promise<void>;
  /** Moves the clock forward in steps of `stepMs`, settling after each. */
  advance(ms: number, stepMs?: number): Promise<void>;
  /** A new StatusManager and PodWorkers over the same runtime and API (an agent restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function harness(pods: Pod[], behaviour?: (name: string) => ProcessBehaviour): Promise<Harness> {
  const clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"));
  const uts = new FakeUTSNamespaces();
  const runtime = new FakeRuntime({
    clock,
    behaviour: (cfg) => behaviour?.(cfg.labels["io.kubernetes.container.name"] ?? "") ?? {},
    utsHostname: (path) => uts.hostnameAt(path),
  });
  runtime.addImage(IMAGE);
  const network = new FakePodNetwork();
  const cgroups = new FakePodCgroups("/skiff-node-a");
  const volumes = new StubVolumes();
  const probes = new StubProbes();
  const client = new FakeClient({ objects: pods, now: () => new Date(clock.now()) });
  const events: RecordedEvent[] = [];
  const recorder = {
    event(obj: { fieldPath?: string }, type: string, reason: string, message: string) {
      const e: RecordedEvent = { reason, type, message };
      if (obj.fieldPath !== undefined) e.fieldPath = obj.fieldPath;
      events.push(e);
    },
  };
  const make = () => {
    const statusManager = new StatusManager({ client, clock });
    const workers = new PodWorkers({
      runtime,
      network,
      uts,
      cgroups,
      volumes,
      probes,
      statusManager,
      recorder: recorder as never,
      makeEnvironment: async (_pod, c, podIP) => [
        { name: "CONTAINER", value: c.name },
        { name: "POD_IP", value: podIP },
      ],
      logPathFor: (pod, name, n) =>
        `/logs/${pod.metadata.namespace}_${pod.metadata.name}_${pod.metadata.uid}/${name}/${n}.log`,
      clock,
    });
    return { statusManager, workers };
  };
  const h = { clock, runtime, network, uts, cgroups, volumes, probes, client, events, ...make() } as Harness;
  h.apiPod = (name) => {
    try {
      return client.tracker.get("v1", "pods", "default", name) as Pod;
    } catch {
      return undefined;
    }
  };
  h.status = (name) => h.apiPod(name)?.status as KubeletPodStatus | undefined;
  h.settle = async () => {
    // Workers waiting on the fake clock (a grace period) never go idle by themselves: bound the
    // wait by event-loop turns, which is all in-memory work needs.
    const turns = async () => {
      for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    };
    for (let i = 0; i < 3; i++)
      await Promise.race([Promise.all([h.workers.idle(), h.statusManager.idle()]), turns()]);
  };
  h.advance = async (ms, stepMs = 1000) => {
    for (let done = 0; done < ms; done += stepMs) {
      clock.step(Math.min(stepMs, ms - done));
      await h.settle();
    }
  };
  h.restart = async () => {
    await h.workers.stop();
    h.statusManager.stop();
    Object.assign(h, make());
    await h.workers.start();
  };
  h.close = async () => {
    await h.workers.stop();
    h.statusManager.stop();
  };
  await h.workers.start();
  return h;
}

/** Waits (with a deadline) until the API's pod status satisfies `cond`. */
export function waitStatus(h: Harness, name: string, what: string, cond: (s: KubeletPodStatus) => boolean) {
  return waitFor(
    async () => {
      await h.settle();
      const s = h.status(name);
      return s !== undefined && cond(s) ? s : undefined;
    },
    { what, timeoutMs: 5000 },
  );
}

export const condition = (s: KubeletPodStatus, type: string) => s.conditions.find((c) => c.type === type);
