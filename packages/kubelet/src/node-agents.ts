/**
 * The node-level managers of one kubelet, built and started together (kubelet.go's
 * NewMainKubelet part for them): the Node's registration and status, its Lease, the eviction
 * manager, the image garbage collector, graceful node shutdown, and static pods from
 * --pod-manifest-path with their mirror pods.
 */
import type { Pod, ResourceList } from "@skiff/api";
import type { ClientInterface } from "@skiff/client";
import type { Logger } from "@skiff/component-base";
import { EvictionManager } from "./node/eviction/manager.js";
import { nodeSignalObserver } from "./node/eviction/signals.js";
import { parseEvictionHard } from "./node/eviction/thresholds.js";
import { ImageGCManager } from "./node/image-gc.js";
import { NodeLeaseController } from "./node/lease.js";
import { fsStats, type MachineInfo, machineInfo } from "./node/machine.js";
import { MirrorPodManager } from "./node/mirror-pods.js";
import { capacityAndAllocatable, nodeImages } from "./node/node-object.js";
import { ShutdownManager } from "./node/shutdown.js";
import { StaticPodSource } from "./node/static-pods.js";
import { NodeStatusManager } from "./node/status.js";
import type { AgentOptions } from "./options.js";
import { parseSize } from "./options.js";
import type { ContainerRuntime } from "./runtime/runtime.js";

export interface NodeAgentsOptions {
  options: AgentOptions;
  client: ClientInterface;
  runtime: ContainerRuntime;
  runtimeVersion: string;
  logger: Logger;
  networkReady: () => boolean;
  nodeIP: () => string;
  kubeletPort: () => number;
  activePods: () => Pod[];
  evictPod: (pod: Pod, message: string, gracePeriodSeconds: number) => void;
  killPod: (pod: Pod, gracePeriodSeconds: number, reason: string, message: string) => Promise<void>;
  podMemoryWorkingSet: (uid: string) => Promise<number | undefined>;
  onPodCIDR: (cidr: string) => void;
  onStaticPods: (pods: Pod[]) => void;
}

/** --capacity cpu=2,memory=4Gi,ephemeral-storage=20Gi over what the machine says. */
function machineOverrides(capacity: Record<string, string>): Partial<MachineInfo> {
  const out: Partial<MachineInfo> = {};
  if (capacity.cpu !== undefined) out.cpus = Number(capacity.cpu);
  if (capacity.memory !== undefined) out.memoryBytes = parseSize("capacity", capacity.memory);
  if (capacity["ephemeral-storage"] !== undefined)
    out.ephemeralStorageBytes = parseSize("capacity", capacity["ephemeral-storage"]);
  return out;
}

export class NodeAgents {
  private readonly status: NodeStatusManager;
  private readonly lease: NodeLeaseController;
  private readonly eviction: EvictionManager;
  private readonly imageGC: ImageGCManager;
  private readonly shutdownManager: ShutdownManager;
  private readonly staticPods: StaticPodSource | undefined;
  private readonly mirrors: MirrorPodManager;
  private readonly thresholds: ReturnType<typeof parseEvictionHard>;
  private allocatableList: ResourceList | undefined;
  /** Pod memory usage seen by the last eviction observation, by uid. */
  private readonly memory = new Map<string, number>();

  private constructor(
    private readonly o: NodeAgentsOptions,
    private readonly machine: MachineInfo,
  ) {
    const a = o.options;
    const thresholds = parseEvictionHard(a.evictionHard);
    this.thresholds = thresholds;
    const log = o.logger;
    this.imageGC = new ImageGCManager({
      runtime: o.runtime,
      usedImages: async () => (await o.runtime.listContainers()).flatMap((c) => [c.image, c.imageId ?? ""]),
      imageFs: () => fsStats(a.dataDir),
      highThresholdPercent: a.imageGCHighThresholdPercent,
      lowThresholdPercent: a.imageGCLowThresholdPercent,
      logger: log,
    });
    this.eviction = new EvictionManager({
      thresholds,
      observe: nodeSignalObserver({ dataDir: a.dataDir, memoryCapacityBytes: machine.memoryBytes }),
      activePods: () => {
        const pods = o.activePods();
        for (const p of pods) {
          const uid = p.metadata.uid ?? "";
          void o
            .podMemoryWorkingSet(uid)
            .then((b) => (b === undefined ? undefined : this.memory.set(uid, b)));
        }
        return pods;
      },
      podMemoryUsage: (uid) => {
        const b = this.memory.get(uid);
        return b === undefined ? undefined : { "": b };
      },
      evictPod: o.evictPod,
      reclaimDisk: async () => {
        await this.imageGC.deleteUnusedImages();
      },
      logger: log,
    });
    this.shutdownManager = new ShutdownManager({
      shutdownGracePeriodSeconds: Math.round(a.shutdownGracePeriodMs / 1000),
      shutdownGracePeriodCriticalPodsSeconds: Math.round(a.shutdownGracePeriodCriticalPodsMs / 1000),
      activePods: o.activePods,
      killPod: o.killPod,
      logger: log,
    });
    this.status = new NodeStatusManager({
      client: o.client,
      nodeName: a.nodeName,
      machine,
      nodeIP: o.nodeIP,
      kubeletAddress: a.address === "0.0.0.0" ? "127.0.0.1" : a.address,
      kubeletPort: o.kubeletPort(),
      labels: a.nodeLabels,
      maxPods: a.maxPods,
      runtimeVersion: o.runtimeVersion,
      evictionHard: thresholds,
      images: async () => nodeImages(await o.runtime.listImages()),
      pressure: () => this.eviction.pressure(),
      networkReady: o.networkReady,
      readyErrors: () => this.shutdownManager.readyErrors(),
      onPodCIDR: o.onPodCIDR,
      logger: log,
    });
    this.lease = new NodeLeaseController({ client: o.client, nodeName: a.nodeName, logger: log });
    this.mirrors = new MirrorPodManager({ client: o.client, nodeName: a.nodeName, logger: log });
    if (a.podManifestPath !== undefined)
      this.staticPods = new StaticPodSource({
        path: a.podManifestPath,
        nodeName: a.nodeName,
        onChange: (pods) => {
          o.onStaticPods(pods);
          void this.mirrors.sync(pods).catch((e) => log.warn({ err: String(e) }, "mirror pods"));
        },
        logger: log,
      });
  }

  static async create(o: NodeAgentsOptions): Promise<NodeAgents> {
    const machine = await machineInfo(o.options.dataDir, machineOverrides(o.options.capacity));
    return new NodeAgents(o, machine);
  }

  /** The node's allocatable resources (capacity less the hard eviction thresholds). */
  allocatable(): ResourceList {
    // It depends only on the machine, --max-pods and the thresholds: computed once.
    if (this.allocatableList !== undefined) return this.allocatableList;
    const a = this.o.options;
    this.allocatableList = capacityAndAllocatable({
      nodeName: a.nodeName,
      hostname: a.nodeName,
      machine: this.machine,
      nodeIP: this.o.nodeIP(),
      kubeletPort: this.o.kubeletPort(),
      kubeletAddress: a.address,
      labels: a.nodeLabels,
      maxPods: a.maxPods,
      runtimeVersion: this.o.runtimeVersion,
      kubeletVersion: "",
      evictionHard: this.thresholds,
    }).allocatable;
    return this.allocatableList;
  }

  /** The eviction and shutdown managers' admission (kube's admit handlers). */
  admit(pod: Pod): { reason: string; message: string } | undefined {
    for (const r of [this.eviction.admit(pod), this.shutdownManager.admit(pod)])
      if (!r.admit) return { reason: r.reason, message: r.message };
    return undefined;
  }

  requestStatusUpdate(): void {
    void this.status.syncNodeStatus().catch(() => undefined);
  }

  async start(): Promise<void> {
    this.status.start();
    this.lease.start();
    this.eviction.start();
    this.imageGC.start();
    this.staticPods?.start();
  }

  /** Graceful node shutdown when --shutdown-grace-period is set (else nothing). */
  async shutdownPods(): Promise<void> {
    if (this.shutdownManager.enabled) await this.shutdownManager.shutdown();
  }

  async stop(): Promise<void> {
    await Promise.all([
      this.status.stop(),
      this.lease.stop(),
      this.eviction.stop(),
      this.imageGC.stop(),
      this.staticPods?.stop(),
    ]);
  }
}
