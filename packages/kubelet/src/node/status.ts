/**
 * Node registration and status (pkg/kubelet/kubelet_node_status.go): registerWithAPIServer
 * creates the Node or, on AlreadyExists, brings the existing one's default labels and
 * annotations up to date (tryRegisterWithAPIServer / updateDefaultLabels); then every
 * nodeStatusUpdateFrequency (10 s) the setters run against the Node read from the API, and the
 * result is patched only when it changed (heartbeat times aside: nodeStatusHasChanged) or when
 * nodeStatusReportFrequency (5 min) passed since the last write, as kube does with node Leases on.
 * A watch on its own Node (kube's node informer) hands spec.podCIDR to onPodCIDR once the
 * controller manager's node IPAM sets it.
 */
import type { ContainerImage, Node, NodeCondition, NodeStatus } from "@skiff/api";
import {
  type ClientInterface,
  type Clock,
  Informer,
  isAlreadyExists,
  isNotFound,
  type ResourceClient,
  realClock,
} from "@skiff/client";
import { type Logger, silentLogger } from "@skiff/component-base";
import { type ConditionEvent, networkNotReadyMessage, setConditions } from "./conditions.js";
import { defaultEvictionHard, parseEvictionHard, type Threshold } from "./eviction/thresholds.js";
import type { MachineInfo } from "./machine.js";
import {
  defaultLabels,
  initialNode,
  kubeletAddressAnnotation,
  type NodeIdentity,
  staticStatus,
} from "./node-object.js";
import { Periodic } from "./periodic.js";

/** The version the kubelet reports: the API server's (packages/apiserver routes/version.ts). */
export const kubeletVersion = "v1.32.4-skiff";

/** Node pressure as the eviction manager observes it. */
export interface NodePressure {
  memory: boolean;
  disk: boolean;
  pid: boolean;
}

export interface NodeStatusManagerOptions {
  client: ClientInterface;
  nodeName: string;
  machine: MachineInfo;
  /** The InternalIP address (read at each update, as kube's NodeAddress setter). */
  nodeIP: () => string;
  /** Default: nodeName (kube's --hostname-override). */
  hostname?: string;
  /** Default 10250. */
  kubeletPort?: number;
  /** Where the kubelet server is reachable, for the skiff.dev/kubelet-address annotation. */
  kubeletAddress: string;
  /** --node-labels. */
  labels?: Readonly<Record<string, string>>;
  /** Default 110. */
  maxPods?: number;
  /** e.g. "containerd://1.6.20". */
  runtimeVersion: string;
  /** Default kubeletVersion. */
  kubeletVersion?: string;
  /** Hard eviction thresholds (allocatable keeps them back); default kube's. */
  evictionHard?: readonly Threshold[];
  /** node.status.images (nodeImages() turns runtime.listImages() into them). */
  images?: () => Promise<readonly ContainerImage[]> | readonly ContainerImage[];
  /** Pressure conditions (the eviction manager's). */
  pressure?: () => NodePressure;
  /** False keeps the node NotReady with the runtime's network message. */
  networkReady?: () => boolean;
  /** More reasons to be NotReady, e.g. the shutdown manager's "node is shutting down". */
  readyErrors?: () => readonly string[];
  /** Called when spec.podCIDR is first seen set, and when it changes. */
  onPodCIDR?: (cidr: string) => void;
  /** A condition transition ("NodeReady", "NodeHasSufficientMemory"...), for an Event. */
  onEvent?: (reason: ConditionEvent, message: string) => void;
  clock?: Clock;
  logger?: Logger;
  /** Default 10 s (nodeStatusUpdateFrequency). */
  statusUpdateFrequencyMs?: number;
  /** Default 5 min (nodeStatusReportFrequency). */
  statusReportFrequencyMs?: number;
}

/** kube's nodeStatusUpdateRetry: attempts per update before waiting for the next period. */
const nodeStatusUpdateRetry = 5;

function withoutHeartbeats(s: NodeStatus | undefined): string {
  const conditions = (s?.conditions ?? [])
    .map((c: NodeCondition) => ({ ...c, lastHeartbeatTime: undefined }))
    .sort((a, b) => a.type.localeCompare(b.type));
  return JSON.stringify({ ...s, conditions });
}

/** nodeStatusHasChanged: anything but the conditions' lastHeartbeatTime differs. */
export function nodeStatusHasChanged(a: NodeStatus | undefined, b: NodeStatus | undefined): boolean {
  return withoutHeartbeats(a) !== withoutHeartbeats(b);
}

export class NodeStatusManager {
  private readonly nodes: ResourceClient<Node>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private registered = false;
  /** Clock time of the last status write; -Infinity: none yet. */
  private lastStatusReportTime = Number.NEGATIVE_INFINITY;
  private podCIDR = "";
  private informer: Informer<Node> | undefined;
  private readonly periodic: Periodic;

  constructor(private readonly o: NodeStatusManagerOptions) {
    this.nodes = o.client.resource<Node>("v1", "nodes");
    this.clock = o.clock ?? realClock;
    this.log = o.logger ?? silentLogger;
    this.periodic = new Periodic({
      clock: this.clock,
      periodMs: o.statusUpdateFrequencyMs ?? 10_000,
      run: () => this.syncNodeStatus(),
      onError: (e) =>
        this.log.warn({ node: o.nodeName, err: String(e) }, "Error updating node status, will retry"),
    });
  }

  get isRegistered(): boolean {
    return this.registered;
  }

  /** Starts the watch on the Node and the status loop (the first sync runs at once). */
  start(): void {
    this.informer = new Informer<Node>(this.nodes, {
      fieldSelector: `metadata.name=${this.o.nodeName}`,
      onAdd: (n) => this.checkPodCIDR(n),
      onUpdate: (_, n) => this.checkPodCIDR(n),
      onError: (e) => this.log.debug({ err: String(e) }, "node watch failed; retrying"),
    }).start();
    this.periodic.start();
  }

  async stop(): Promise<void> {
    // The loop stops before the watch does; its run in flight is awaited last.
    const stopping = this.periodic.stop();
    await this.informer?.stop();
    await stopping;
  }

  /** One period: register if not yet, then update the status (kube's syncNodeStatus). */
  async syncNodeStatus(): Promise<void> {
    if (!this.registered) await this.registerWithAPIServer();
    let lastErr: unknown;
    for (let i = 0; i < nodeStatusUpdateRetry; i++) {
      try {
        await this.tryUpdateNodeStatus();
        return;
      } catch (e) {
        lastErr = e;
        // Someone deleted the Node: register it again next period (kube's kubelet would only
        // after a restart; Skiff's tests and hollow nodes expect the Node back).
        if (isNotFound(e)) {
          this.registered = false;
          break;
        }
      }
    }
    throw lastErr;
  }

  private async identity(): Promise<{ id: NodeIdentity; images: readonly ContainerImage[] }> {
    const o = this.o;
    const id: NodeIdentity = {
      nodeName: o.nodeName,
      hostname: o.hostname ?? o.nodeName,
      machine: o.machine,
      nodeIP: o.nodeIP(),
      kubeletPort: o.kubeletPort ?? 10250,
      kubeletAddress: o.kubeletAddress,
      labels: o.labels ?? {},
      maxPods: o.maxPods ?? 110,
      runtimeVersion: o.runtimeVersion,
      kubeletVersion: o.kubeletVersion ?? kubeletVersion,
      evictionHard: o.evictionHard ?? parseEvictionHard(defaultEvictionHard),
    };
    return { id, images: (await o.images?.()) ?? [] };
  }

  private readyErrors(): string[] {
    const errs: string[] = [];
    if (this.o.networkReady !== undefined && !this.o.networkReady()) errs.push(networkNotReadyMessage);
    errs.push(...(this.o.readyErrors?.() ?? []));
    return errs;
  }

  private conditions(old: readonly NodeCondition[] | undefined): NodeCondition[] {
    const p = this.o.pressure?.() ?? { memory: false, disk: false, pid: false };
    const events: ConditionEvent[] = [];
    const out = setConditions(
      old,
      { memoryPressure: p.memory, diskPressure: p.disk, pidPressure: p.pid, readyErrors: this.readyErrors() },
      this.clock.now(),
      events,
    );
    for (const e of events) {
      this.log.info({ node: this.o.nodeName, event: e }, "Recording event message for node");
      this.o.onEvent?.(e, `Node ${this.o.nodeName} status is now: ${e}`);
    }
    return out;
  }

  /** registerWithAPIServer's one attempt: create, or reconcile the Node already there. */
  private async registerWithAPIServer(): Promise<void> {
    const { id, images } = await this.identity();
    const node = initialNode(id, images);
    node.status = { ...node.status, conditions: this.conditions(undefined) };
    try {
      await this.nodes.create(node);
      this.log.info({ node: id.nodeName }, "Successfully registered node");
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      // The Node is ours (a restart): bring the labels the kubelet owns and its annotation up
      // to date, as updateDefaultLabels does; the status update that follows does the rest.
      const existing = await this.nodes.get(id.nodeName);
      const labels = existing.metadata.labels ?? {};
      const want = { ...(this.o.labels ?? {}), ...defaultLabels(id) };
      const address = node.metadata.annotations?.[kubeletAddressAnnotation] ?? "";
      const stale = Object.entries(want).some(([k, v]) => labels[k] !== v);
      if (stale || existing.metadata.annotations?.[kubeletAddressAnnotation] !== address)
        await this.nodes.patch(
          id.nodeName,
          { metadata: { labels: want, annotations: { [kubeletAddressAnnotation]: address } } },
          "strategic",
        );
      this.lastStatusReportTime = Number.NEGATIVE_INFINITY;
      this.log.info({ node: id.nodeName }, "Node was previously registered");
    }
    this.registered = true;
  }

  /** tryUpdateNodeStatus: run the setters on the Node as the API has it; write if due. */
  private async tryUpdateNodeStatus(): Promise<void> {
    const original = await this.nodes.get(this.o.nodeName);
    this.checkPodCIDR(original);
    const { id, images } = await this.identity();
    const status: NodeStatus = {
      ...staticStatus(id, images),
      conditions: this.conditions(original.status?.conditions),
    };
    const now = this.clock.now();
    const o = this.o.statusReportFrequencyMs ?? 300_000;
    if (now < this.lastStatusReportTime + o && !nodeStatusHasChanged(original.status, status)) return;
    // The status as a strategic merge patch: conditions and addresses merge by type.
    await this.nodes.patch(this.o.nodeName, { status }, "strategic", { subresource: "status" });
    this.lastStatusReportTime = now;
  }

  private checkPodCIDR(node: Node): void {
    const cidr = node.spec?.podCIDR ?? "";
    if (cidr === "" || cidr === this.podCIDR) return;
    this.podCIDR = cidr;
    this.log.info({ node: this.o.nodeName, podCIDR: cidr }, "Updating Pod CIDR");
    this.o.onPodCIDR?.(cidr);
  }
}
