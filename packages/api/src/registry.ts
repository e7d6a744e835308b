/**
 * The kinds this API server serves, and lookups by group/version/resource and by kind. The
 * order of `allKinds` is the order of discovery documents.
 */
import { apiVersionOf, type KindDef } from "./kind.js";
import { deploymentKind, leaseKind, replicaSetKind } from "./kinds/apps.js";
import { reviewKinds } from "./kinds/authn.js";
import { horizontalPodAutoscalerKind } from "./kinds/autoscaling.js";
import { horizontalPodAutoscalerV1Kind } from "./kinds/autoscalingv1.js";
import { cronJobKind, jobKind } from "./kinds/batch.js";
import { certificateSigningRequestKind } from "./kinds/certificates.js";
import { controllerRevisionKind } from "./kinds/controllerrevision.js";
import {
  configMapKind,
  endpointsKind,
  eventKind,
  namespaceKind,
  nodeKind,
  secretKind,
  serviceAccountKind,
} from "./kinds/core.js";
import { csiDriverKind, csiNodeKind, csiStorageCapacityKind } from "./kinds/csi.js";
import { endpointSliceKind } from "./kinds/discovery.js";
import { eventsEventKind } from "./kinds/events.js";
import { runtimeClassKind } from "./kinds/node.js";
import { persistentVolumeClaimKind } from "./kinds/persistentvolumeclaim.js";
import { podKind } from "./kinds/pod.js";
import { podDisruptionBudgetKind } from "./kinds/policy.js";
import { limitRangeKind, resourceQuotaKind } from "./kinds/quota.js";
import { priorityClassKind } from "./kinds/scheduling.js";
import { serviceKind } from "./kinds/service.js";
import { storageClassKind } from "./kinds/storage.js";
import { persistentVolumeKind } from "./kinds/volumes.js";
import { daemonSetKind, statefulSetKind } from "./kinds/workloads.js";

export const allKinds: readonly KindDef[] = [
  namespaceKind,
  podKind,
  serviceKind,
  endpointsKind,
  configMapKind,
  secretKind,
  serviceAccountKind,
  eventKind,
  nodeKind,
  deploymentKind,
  replicaSetKind,
  leaseKind,
  resourceQuotaKind,
  limitRangeKind,
  daemonSetKind,
  statefulSetKind,
  jobKind,
  cronJobKind,
  podDisruptionBudgetKind,
  endpointSliceKind,
  persistentVolumeKind,
  persistentVolumeClaimKind,
  controllerRevisionKind,
  horizontalPodAutoscalerKind,
  horizontalPodAutoscalerV1Kind,
  certificateSigningRequestKind,
  eventsEventKind,
  runtimeClassKind,
  priorityClassKind,
  storageClassKind,
  csiDriverKind,
  csiNodeKind,
  csiStorageCapacityKind,
  ...reviewKinds,
];

/**
 * Groups in kube-apiserver's discovery order (its APIService group priorities, highest first);
 * groups not named here follow in registration order.
 */
const GROUP_ORDER = [
  "",
  "apiregistration.k8s.io",
  "apps",
  "events.k8s.io",
  "authentication.k8s.io",
  "authorization.k8s.io",
  "autoscaling",
  "batch",
  "certificates.k8s.io",
  "networking.k8s.io",
  "policy",
  "rbac.authorization.k8s.io",
  "storage.k8s.io",
  "admissionregistration.k8s.io",
  "apiextensions.k8s.io",
  "scheduling.k8s.io",
  "coordination.k8s.io",
  "node.k8s.io",
  "discovery.k8s.io",
  "flowcontrol.apiserver.k8s.io",
];
const groupRank = (g: string) => {
  const i = GROUP_ORDER.indexOf(g);
  return i < 0 ? GROUP_ORDER.length : i;
};

export interface GroupVersion {
  group: string;
  version: string;
  kinds: KindDef[];
}

export class Registry {
  private readonly byResource = new Map<string, KindDef>();
  private readonly byKind = new Map<string, KindDef>();

  constructor(readonly kinds: readonly KindDef[] = allKinds) {
    for (const k of kinds) {
      this.byResource.set(`${k.group}/${k.version}/${k.resource}`, k);
      this.byKind.set(`${apiVersionOf(k)}/${k.kind}`, k);
    }
  }

  resource(group: string, version: string, resource: string): KindDef | undefined {
    return this.byResource.get(`${group}/${version}/${resource}`);
  }

  kind(apiVersion: string, kind: string): KindDef | undefined {
    return this.byKind.get(`${apiVersion}/${kind}`);
  }

  /** Group-versions in discovery order (core first, then kube's group order). */
  groupVersions(): GroupVersion[] {
    const out = new Map<string, GroupVersion>();
    for (const k of this.kinds) {
      const key = `${k.group}/${k.version}`;
      let gv = out.get(key);
      if (gv === undefined) {
        gv = { group: k.group, version: k.version, kinds: [] };
        out.set(key, gv);
      }
      gv.kinds.push(k);
    }
    return [...out.values()].sort((a, b) => groupRank(a.group) - groupRank(b.group));
  }
}
