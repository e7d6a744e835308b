/**
 * The scheduling framework's plugin interfaces (k8s.io/kubernetes/pkg/scheduler/framework/
 * interface.go): one small interface per extension point. A plugin implements the ones it needs;
 * the runtime (runtime.ts) calls them in the profile's order. Filter and Score run for many nodes
 * per pod, so they are synchronous; the binding cycle's points (PreBind, Bind) and PostFilter
 * (preemption deletes victims) are asynchronous.
 */
import type { Node, NodeSelector, ObjectReference, Pod, PodDisruptionBudget } from "@skiff/api";
import type { CycleState } from "./cycle-state.js";
import type { NodeInfo } from "./node-info.js";
import type { PodInfo, QueuedPodInfo } from "./pod-info.js";
import type { Status } from "./status.js";

/** framework.MaxNodeScore: every NormalizeScore maps scores into 0..100. */
export const MAX_NODE_SCORE = 100;
export const MIN_NODE_SCORE = 0;

export interface Plugin {
  readonly name: string;
}

export interface NodeScore {
  name: string;
  score: number;
}

/** PreFilterResult: the nodes the pod may go to at all (undefined: all of them). */
export interface PreFilterResult {
  nodeNames?: ReadonlySet<string>;
}

/** Why each node was rejected (the FailedScheduling message is built from it). */
export type NodeToStatus = Map<string, Status>;

export interface PreEnqueuePlugin extends Plugin {
  preEnqueue(pod: Pod): Status | undefined;
}

export interface QueueSortPlugin extends Plugin {
  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean;
}

/** Incremental updates of PreFilter state when preemption adds or removes pods on a node. */
export interface PreFilterExtensions {
  addPod(
    state: CycleState,
    podToSchedule: Pod,
    podInfoToAdd: PodInfo,
    nodeInfo: NodeInfo,
  ): Status | undefined;
  removePod(
    state: CycleState,
    podToSchedule: Pod,
    podInfoToRemove: PodInfo,
    nodeInfo: NodeInfo,
  ): Status | undefined;
}

export interface PreFilterPlugin extends Plugin {
  preFilter(
    state: CycleState,
    pod: Pod,
    nodes: readonly NodeInfo[],
  ): { result?: PreFilterResult; status?: Status };
  preFilterExtensions?(): PreFilterExtensions | undefined;
}

export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status | undefined;
}

export interface PostFilterResult {
  nominatedNodeName?: string;
}

export interface PostFilterPlugin extends Plugin {
  postFilter(
    state: CycleState,
    pod: Pod,
    filteredNodeStatus: NodeToStatus,
  ): Promise<{ result?: PostFilterResult; status?: Status }>;
}

export interface PreScorePlugin extends Plugin {
  preScore(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): Status | undefined;
}

export interface ScoreExtensions {
  normalizeScore(state: CycleState, pod: Pod, scores: NodeScore[]): Status | undefined;
}

export interface ScorePlugin extends Plugin {
  /** A score for one node, 0..MAX_NODE_SCORE after normalization. */
  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): { score: number; status?: Status };
  scoreExtensions?(): ScoreExtensions | undefined;
}

export interface ReservePlugin extends Plugin {
  reserve(state: CycleState, pod: Pod, nodeName: string): Status | undefined;
  /** Undoes reserve; must be idempotent and must not fail. */
  unreserve(state: CycleState, pod: Pod, nodeName: string): void;
}

export interface PermitPlugin extends Plugin {
  /** Success, a rejection, or Wait with a timeout (ms) after which the pod is rejected. */
  permit(state: CycleState, pod: Pod, nodeName: string): { status?: Status; timeoutMs?: number };
}

export interface PreBindPlugin extends Plugin {
  preBind(state: CycleState, pod: Pod, nodeName: string): Promise<Status | undefined>;
}

/** Bind: the first plugin that does not return Skip binds. */
export interface BindPlugin extends Plugin {
  bind(state: CycleState, pod: Pod, nodeName: string): Promise<Status | undefined>;
}

export interface PostBindPlugin extends Plugin {
  postBind(state: CycleState, pod: Pod, nodeName: string): void;
}

/** framework.ClusterEvent: what changed in the cluster; unschedulable pods wait for one. */
export type EventResource =
  | "Pod"
  | "AssignedPod"
  | "UnscheduledPod"
  | "Node"
  | "PersistentVolume"
  | "PersistentVolumeClaim"
  | "StorageClass"
  | "Namespace"
  | "*";

export enum ActionType {
  Add = 1,
  Delete = 1 << 1,
  UpdateNodeAllocatable = 1 << 2,
  UpdateNodeLabel = 1 << 3,
  UpdateNodeTaint = 1 << 4,
  UpdateNodeCondition = 1 << 5,
  UpdateNodeAnnotation = 1 << 6,
  UpdatePodLabel = 1 << 7,
  UpdatePodScaleDown = 1 << 8,
  UpdatePodTolerations = 1 << 9,
  UpdatePodSchedulingGatesEliminated = 1 << 10,
  /** Any other update. */
  UpdateOther = 1 << 11,
  Update = (1 << 2) |
    (1 << 3) |
    (1 << 4) |
    (1 << 5) |
    (1 << 6) |
    (1 << 7) |
    (1 << 8) |
    (1 << 9) |
    (1 << 10) |
    (1 << 11),
  All = (1 << 12) - 1,
}

export interface ClusterEvent {
  resource: EventResource;
  actionType: ActionType;
  /** For logs and metrics (kube's event label, e.g. "NodeAdd"). */
  label?: string;
}

/** Queueing hint: whether an event may make this pod schedulable (kube's QueueingHintFn). */
export type QueueingHint = "Queue" | "QueueSkip";
export type QueueingHintFn = (pod: Pod, oldObj: unknown, newObj: unknown) => QueueingHint;

export interface ClusterEventWithHint {
  event: ClusterEvent;
  queueingHintFn?: QueueingHintFn;
}

/** EnqueueExtensions: the events that may make a pod this plugin rejected schedulable. */
export interface EnqueueExtensions {
  eventsToRegister(): ClusterEventWithHint[];
}

/** The cluster as this cycle sees it (an immutable snapshot taken at the start of the cycle). */
export interface SharedLister {
  nodeInfos(): NodeInfoLister;
}

export interface NodeInfoLister {
  list(): readonly NodeInfo[];
  havePodsWithAffinityList(): readonly NodeInfo[];
  havePodsWithRequiredAntiAffinityList(): readonly NodeInfo[];
  get(nodeName: string): NodeInfo | undefined;
}

/** What plugins may do with the API (the scheduler's client, narrowed). */
export interface SchedulerApi {
  bind(pod: Pod, nodeName: string): Promise<void>;
  /** Graceful delete with the pod's uid as precondition (preemption's victims). */
  deletePod(pod: Pod, reason: string): Promise<void>;
  /** Sets status.nominatedNodeName ("" clears it). */
  setNominatedNodeName(pod: Pod, nodeName: string): Promise<void>;
  /** Adds the DisruptionTarget condition before a victim is deleted. */
  patchPodCondition?(pod: Pod, condition: Record<string, unknown>): Promise<void>;
}

export interface EventRecorderLike {
  eventf(
    regarding: ObjectReference,
    related: ObjectReference | undefined,
    type: "Normal" | "Warning",
    reason: string,
    action: string,
    note: string,
  ): void;
}

/** Pods nominated to run on a node after preemption (kube's PodNominator). */
export interface PodNominator {
  nominatedPodsForNode(nodeName: string): readonly PodInfo[];
  addNominatedPod(pi: PodInfo, nodeName: string): void;
  deleteNominatedPodIfExists(pod: Pod): void;
}

/** framework.Handle: what the framework gives every plugin. */
export interface Handle {
  snapshotSharedLister(): SharedLister;
  api: SchedulerApi;
  eventRecorder: EventRecorderLike;
  podNominator: PodNominator;
  /** Labels of a namespace (for namespaceSelector in affinity terms); undefined when unknown. */
  namespaceLabels(namespace: string): Record<string, string> | undefined;
  /** PodDisruptionBudgets for preemption (empty when none are known). */
  pdbs(): readonly PodDisruptionBudget[];
  /**
   * A PersistentVolumeClaim by namespace and name (VolumeBinding): spec.volumeName, status.phase
   * and metadata.deletionTimestamp.
   */
  pvc(
    namespace: string,
    name: string,
  ): { volumeName?: string; phase?: string; deletionTimestamp?: string } | undefined;
  /** A PersistentVolume by name: its spec.nodeAffinity (VolumeBinding's node affinity check). */
  pv(name: string): { nodeAffinity?: { required?: NodeSelector } } | undefined;
  /** Runs the profile's Filter plugins for a pod on a node (preemption re-checks after removing victims). */
  runFilterPlugins(state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status | undefined;
  runPreFilterExtensionAddPod(
    state: CycleState,
    pod: Pod,
    pi: PodInfo,
    nodeInfo: NodeInfo,
  ): Status | undefined;
  runPreFilterExtensionRemovePod(
    state: CycleState,
    pod: Pod,
    pi: PodInfo,
    nodeInfo: NodeInfo,
  ): Status | undefined;
  /** True when every NodeInfo's imageStates is kept by the cache (ImageLocality needs no fallback). */
  imageStatesFilled?: boolean;
  /** Clock (ms), injectable for tests. */
  now(): number;
}

/** A plugin factory: registered by name in the registry (plugins/registry.ts). */
export type PluginFactory = (args: Record<string, unknown> | undefined, handle: Handle) => Plugin;

export type { Node };
