/**
 * The kinds this API server serves, and lookups by group/version/resource and by kind. The
 * order of `allKinds` is the order of discovery documents.
 */
import { apiVersionOf, type KindDef } from "./kind.js";
import { deploymentKind, leaseKind, replicaSetKind } from "./kinds/apps.js";
import { reviewKinds } from "./kinds/authn.js";
import { cronJobKind, jobKind } from "./kinds/batch.js";
import {
  configMapKind,
  endpointsKind,
  eventKind,
  namespaceKind,
  nodeKind,
  secretKind,
  serviceAccountKind,
} from "./kinds/core.js";
import { endpointSliceKind } from "./kinds/discovery.js";
import { podKind } from "./kinds/pod.js";
import { podDisruptionBudgetKind } from "./kinds/policy.js";
import { limitRangeKind, resourceQuotaKind } from "./kinds/quota.js";
import { serviceKind } from "./kinds/service.js";
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
  ...reviewKinds,
];

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

  /** Group-versions in discovery order (core first). */
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
    return [...out.values()];
  }
}
