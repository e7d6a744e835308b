/**
 * VolumeBinding (k8s.io/kubernetes/pkg/scheduler/framework/plugins/volumebinding), for claims that
 * are already bound: Skiff has no volume provisioner, so the scheduler never binds claims itself
 * (no Reserve/PreBind work). PreFilter requires every PersistentVolumeClaim the pod uses to exist
 * and be bound, and looks up the bound PersistentVolumes once; Filter checks each volume's
 * nodeAffinity against the node.
 */
import type { Node, Pod, Volume } from "@skiff/api";
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
import type { NodeInfo } from "../../framework/node-info.js";
import { Status } from "../../framework/status.js";
import { NodeSelectorMatcher } from "../helper/node-affinity.js";

export const Name = "VolumeBinding";

/** ConflictReasons of kube's volume binder, as FailedScheduling shows them. */
export const ErrReasonNodeConflict = "node(s) had volume node affinity conflict";
export const ErrReasonPVNotExist =
  "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";
/** PreFilter's reason when a claim is not bound (every unbound claim counts as immediate here). */
export const ErrReasonUnboundImmediate = "pod has unbound immediate PersistentVolumeClaims";

const stateKey = Name;

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/** A bound claim's volume: its node affinity, or "missing" when the PV does not exist. */
type BoundVolume = NodeSelectorMatcher | undefined | "missing";

class VolumeBindingState implements StateData {
  constructor(readonly volumes: readonly BoundVolume[]) {}
  clone(): StateData {
    return this;
  }
}

/** The claim a volume uses: its PVC, or the one a generic ephemeral volume gets (<pod>-<volume>). */
function claimOf(pod: Pod, vol: Volume): { name: string; ephemeral: boolean } | undefined {
  if (vol.persistentVolumeClaim !== undefined && vol.persistentVolumeClaim !== null)
    return { name: vol.persistentVolumeClaim.claimName, ephemeral: false };
  if (vol.ephemeral !== undefined && vol.ephemeral !== null)
    return { name: `${pod.metadata.name}-${vol.name}`, ephemeral: true };
  return undefined;
}

export class VolumeBinding implements PreFilterPlugin, FilterPlugin, EnqueueExtensions {
  readonly name = Name;

  constructor(private readonly handle: Handle) {}

  preFilter(state: CycleState, pod: Pod): { result?: PreFilterResult; status?: Status } {
    const ns = pod.metadata.namespace;
    const claims: { volumeName: string | undefined }[] = [];
    // kube's podHasPVCs: every claim must exist, not be lost, not be deleting.
    for (const vol of pod.spec.volumes ?? []) {
      const c = claimOf(pod, vol);
      if (c === undefined) continue;
      const pvc = this.handle.pvc(ns, c.name);
      if (pvc === undefined) {
        const msg = c.ephemeral
          ? `waiting for ephemeral volume controller to create the persistentvolumeclaim "${c.name}"`
          : `persistentvolumeclaim "${c.name}" not found`;
        return { status: Status.unresolvable(msg) };
      }
      if (pvc.phase === "Lost")
        return {
          status: Status.unresolvable(
            `persistentvolumeclaim "${c.name}" bound to non-existent persistentvolume "${pvc.volumeName ?? ""}"`,
          ),
        };
      if (pvc.deletionTimestamp !== undefined && pvc.deletionTimestamp !== null)
        return { status: Status.unresolvable(`persistentvolumeclaim "${c.name}" is being deleted`) };
      claims.push({ volumeName: pvc.volumeName === "" ? undefined : pvc.volumeName });
    }
    if (claims.length === 0) {
      state.write(stateKey, new VolumeBindingState([]));
      return { status: Status.skip() };
    }
    // Unbound claims wait for the PV controller; the pod is retried when a claim changes.
    if (claims.some((c) => c.volumeName === undefined))
      return { status: Status.unresolvable(ErrReasonUnboundImmediate) };
    const volumes: BoundVolume[] = claims.map((c) => {
      const pv = this.handle.pv(c.volumeName as string);
      if (pv === undefined) return "missing";
      const required = pv.nodeAffinity?.required;
      return required === undefined || required === null ? undefined : new NodeSelectorMatcher(required);
    });
    state.write(stateKey, new VolumeBindingState(volumes));
    return {};
  }

  filter(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): Status | undefined {
    const s = state.read<VolumeBindingState>(stateKey);
    if (s === undefined) return Status.error(`error reading "${stateKey}" from cycleState: not found`);
    const labels = (nodeInfo.node as Node).metadata.labels ?? NO_LABELS;
    // kube's checkBoundClaims: the first missing PV or mismatching affinity decides.
    for (const v of s.volumes) {
      if (v === undefined) continue;
      if (v === "missing") return Status.unresolvable(ErrReasonPVNotExist);
      // volume.CheckNodeAffinity matches labels only (matchFields on metadata.name are not checked).
      if (!v.matchLabels(labels)) return Status.unresolvable(ErrReasonNodeConflict);
    }
    return undefined;
  }

  eventsToRegister(): ClusterEventWithHint[] {
    return [
      { event: { resource: "StorageClass", actionType: ActionType.Add | ActionType.Update } },
      {
        event: { resource: "PersistentVolumeClaim", actionType: ActionType.Add | ActionType.Update },
        queueingHintFn: isSchedulableAfterPersistentVolumeClaimChange,
      },
      { event: { resource: "PersistentVolume", actionType: ActionType.Add | ActionType.Update } },
      {
        event: {
          resource: "Node",
          actionType: ActionType.Add | ActionType.UpdateNodeLabel | ActionType.UpdateNodeTaint,
        },
      },
    ];
  }
}

/** Queue when the added or updated claim is one the pod uses. */
export function isSchedulableAfterPersistentVolumeClaimChange(
  pod: Pod,
  _oldObj: unknown,
  newObj: unknown,
): QueueingHint {
  const pvc = newObj as { metadata?: { namespace?: string; name?: string } } | undefined | null;
  if (pvc === undefined || pvc === null) return "Queue";
  if (pvc.metadata?.namespace !== pod.metadata.namespace) return "QueueSkip";
  for (const vol of pod.spec.volumes ?? [])
    if (claimOf(pod, vol)?.name === pvc.metadata?.name) return "Queue";
  return "QueueSkip";
}

export function New(_args: Record<string, unknown> | undefined, handle: Handle): Plugin {
  return new VolumeBinding(handle);
}
