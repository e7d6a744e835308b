/**
 * NodePorts (k8s.io/kubernetes/pkg/scheduler/framework/plugins/nodeports): a pod's host ports must
 * be free on the node. PreFilter collects the pod's host ports once (and skips pods without any);
 * Filter checks them against NodeInfo.usedPorts.
 */
import type { ContainerPort, Pod } from "@skiff/api";
import type { CycleState, StateData } from "../../framework/cycle-state.js";
import {
  ActionType,
  type ClusterEventWithHint,
  type EnqueueExtensions,
  type FilterPlugin,
  type Handle,
  type Plugin,
  type PreFilterPlugin,
  type PreFilterResult,
  type QueueingHint,
} from "../../framework/interface.js";
import { getHostPorts, HostPortInfo, type NodeInfo } from "../../framework/node-info.js";
import { Status } from "../../framework/status.js";

export const Name = "NodePorts";

/** ErrReason: the message FailedScheduling events show. */
export const ErrReason = "node(s) didn't have free ports for the requested pod ports";

const preFilterStateKey = `PreFilter${Name}`;

/**
 * One wanted host port with its HostPortInfo keys built once per cycle, so that Filter only
 * looks them up: a specific address conflicts with itself or 0.0.0.0 on the same protocol/port;
 * 0.0.0.0 conflicts with any address on it (kube's HostPortInfo.CheckConflict).
 */
class WantedPort {
  readonly anyAddress: boolean;
  readonly key: string;
  readonly anyAddressKey: string;
  /** "/protocol/port": the end of every key on this protocol and port. */
  readonly suffix: string;

  constructor(p: ContainerPort) {
    const port = p.hostPort as number;
    this.key = HostPortInfo.key(p.hostIP, p.protocol, port);
    this.anyAddressKey = HostPortInfo.key(undefined, p.protocol, port);
    this.anyAddress = this.key === this.anyAddressKey;
    this.suffix = this.key.slice(this.key.indexOf("/"));
  }
}

/** The pod's wanted host ports; never changes within a cycle, so clone shares it. */
class PreFilterState implements StateData {
  readonly wanted: readonly WantedPort[];
  constructor(ports: readonly ContainerPort[]) {
    this.wanted = ports.map((p) => new WantedPort(p));
  }
  clone(): StateData {
    return this;
  }
}

/** fitsPorts over precomputed keys (no string is built per node). */
function fitsWanted(wanted: readonly WantedPort[], used: HostPortInfo): boolean {
  const m = used.used;
  if (m.size === 0) return true;
  for (const w of wanted) {
    if (w.anyAddress) {
      for (const k of m.keys()) if (k.endsWith(w.suffix)) return false;
    } else if (m.has(w.key) || m.has(w.anyAddressKey)) return false;
  }
  return true;
}

/** kube's fitsPorts: none of the wanted ports conflicts with one in use. */
export function fitsPorts(want: readonly ContainerPort[], used: HostPortInfo): boolean {
  for (const p of want) if (used.conflicts(p.hostIP, p.protocol, p.hostPort as number)) return false;
  return true;
}

export class NodePorts implements PreFilterPlugin, FilterPlugin, EnqueueExtensions {
  readonly name = Name;

  preFilter(state: CycleState, pod: Pod): { result?: PreFilterResult; status?: Status } {
    const ports = getHostPorts(pod);
    if (ports.length === 0) return { status: Status.skip() };
    state.write(preFilterStateKey, new PreFilterState(ports));
    return {};
  }

  filter(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): Status | undefined {
    const s = state.read<PreFilterState>(preFilterStateKey);
    if (s === undefined)
      return Status.error(`error reading "${preFilterStateKey}" from cycleState: not found`);
    // Unschedulable, not unresolvable: evicting the pod that holds the port frees it.
    return fitsWanted(s.wanted, nodeInfo.usedPorts) ? undefined : Status.unschedulable(ErrReason);
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      // Ports are immutable, so only a deleted pod frees one.
      {
        event: { resource: "Pod", actionType: ActionType.Delete },
        queueingHintFn: isSchedulableAfterPodDeleted,
      },
      // A new node has all its ports free (no hint needed: always Queue).
      { event: { resource: "Node", actionType: ActionType.Add } },
    ];
  }
}

/** Queue only when the deleted pod was (or was about to be) on a node and held a port this pod wants. */
export function isSchedulableAfterPodDeleted(pod: Pod, oldObj: unknown, _newObj: unknown): QueueingHint {
  const deleted = oldObj as Pod | undefined | null;
  if (deleted === undefined || deleted === null) return "Queue";
  if (!deleted.spec.nodeName && !deleted.status?.nominatedNodeName) return "QueueSkip";
  const ports = getHostPorts(deleted);
  if (ports.length === 0) return "QueueSkip";
  const freed = new HostPortInfo();
  for (const p of ports) freed.add(p.hostIP, p.protocol, p.hostPort as number);
  return fitsPorts(getHostPorts(pod), freed) ? "QueueSkip" : "Queue";
}

export function New(_args: Record<string, unknown> | undefined, _handle: Handle): Plugin {
  return new NodePorts();
}
