/**
 * Fixture builders for plugin and framework tests, in the spirit of kube-scheduler's
 * testing/wrappers.go (st.MakePod(), st.MakeNode()): small objects with only what a test sets.
 */
import type { Node, Pod, PodSpec, ResourceList, Taint, Toleration } from "@skiff/api";
import type { CycleState } from "../src/framework/cycle-state.js";
import type { Handle, PodNominator, SchedulerApi } from "../src/framework/interface.js";
import { NodeInfo } from "../src/framework/node-info.js";
import { PodInfo } from "../src/framework/pod-info.js";
import { Snapshot } from "../src/framework/snapshot.js";

let uid = 0;

export function makePod(
  name: string,
  opts: {
    namespace?: string;
    labels?: Record<string, string>;
    requests?: ResourceList;
    nodeName?: string;
    priority?: number;
    spec?: Partial<PodSpec>;
    tolerations?: Toleration[];
  } = {},
): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: opts.namespace ?? "default",
      uid: `uid-${name}-${++uid}`,
      ...(opts.labels === undefined ? {} : { labels: opts.labels }),
      creationTimestamp: new Date(1_700_000_000_000 + uid).toISOString(),
    },
    spec: {
      containers: [
        {
          name: "c",
          image: "busybox",
          ...(opts.requests === undefined ? {} : { resources: { requests: opts.requests } }),
        },
      ],
      ...(opts.nodeName === undefined ? {} : { nodeName: opts.nodeName }),
      ...(opts.priority === undefined ? {} : { priority: opts.priority }),
      ...(opts.tolerations === undefined ? {} : { tolerations: opts.tolerations }),
      ...opts.spec,
    },
    status: { phase: opts.nodeName === undefined ? "Pending" : "Running" },
  };
}

export function makeNode(
  name: string,
  opts: {
    allocatable?: ResourceList;
    labels?: Record<string, string>;
    taints?: Taint[];
    unschedulable?: boolean;
  } = {},
): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, uid: `uid-node-${name}`, labels: { "kubernetes.io/hostname": name, ...opts.labels } },
    spec: {
      ...(opts.taints === undefined ? {} : { taints: opts.taints }),
      ...(opts.unschedulable === undefined ? {} : { unschedulable: opts.unschedulable }),
    },
    status: { allocatable: opts.allocatable ?? { cpu: "4", memory: "16Gi", pods: "110" } },
  };
}

/** A NodeInfo holding the node and the given (bound) pods. */
export function nodeInfo(node: Node, ...pods: Pod[]): NodeInfo {
  const ni = new NodeInfo(node);
  for (const p of pods) ni.addPod(new PodInfo(p));
  return ni;
}

/** A Handle over a fixed snapshot; `api` records the calls made through it. */
export function fakeHandle(
  nodeInfos: NodeInfo[],
  overrides: Partial<Handle> = {},
): Handle & { calls: string[] } {
  const calls: string[] = [];
  const snapshot = Snapshot.of(nodeInfos);
  const api: SchedulerApi = {
    async bind(pod, node) {
      calls.push(`bind ${pod.metadata.namespace}/${pod.metadata.name} ${node}`);
    },
    async deletePod(pod) {
      calls.push(`delete ${pod.metadata.namespace}/${pod.metadata.name}`);
    },
    async setNominatedNodeName(pod, node) {
      calls.push(`nominate ${pod.metadata.namespace}/${pod.metadata.name} ${node}`);
    },
  };
  const nominated = new Map<string, PodInfo[]>();
  const podNominator: PodNominator = {
    nominatedPodsForNode: (n) => nominated.get(n) ?? [],
    addNominatedPod: (pi, n) => nominated.set(n, [...(nominated.get(n) ?? []), pi]),
    deleteNominatedPodIfExists: () => {},
  };
  return {
    calls,
    snapshotSharedLister: () => snapshot,
    api,
    eventRecorder: {
      eventf: (_r, _rel, type, reason, _a, note) => calls.push(`event ${type} ${reason} ${note}`),
    },
    podNominator,
    namespaceLabels: () => ({}),
    pdbs: () => [],
    pvc: () => undefined,
    pv: () => undefined,
    runFilterPlugins: (_s: CycleState) => undefined,
    runPreFilterExtensionAddPod: () => undefined,
    runPreFilterExtensionRemovePod: () => undefined,
    now: () => 1_700_000_000_000,
    ...overrides,
  };
}
