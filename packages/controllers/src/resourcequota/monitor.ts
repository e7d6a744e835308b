/**
 * Replenishment (kube's QuotaMonitor, pkg/controller/resourcequota/resource_quota_monitor.go):
 * informers on the kinds quota counts, telling the controller when usage may have dropped
 * without an admission charge: any delete, a pod turning terminal (kube's QuotaV1Pod going
 * false), a Service changing type. Pods and Services use the shared full informers (their spec
 * matters); the other counted core kinds metadata-only informers. Other `count/<resource>`
 * usage is given back by the API server when the object is deleted and recalculated at each
 * resync.
 */
import { type KindDef, type KubeObject, podCountsForQuota, Registry } from "@skiff/api";
import type { Clock, SharedInformerFactory } from "@skiff/client";
import { deletedObject } from "../controller.js";

/** The kinds watched for replenishment: the core kinds quota also counts by their plain names. */
const MONITORED: readonly [resource: string, metadataOnly: boolean][] = [
  ["pods", false],
  ["services", false],
  ["configmaps", true],
  ["secrets", true],
  ["persistentvolumeclaims", true],
  ["replicationcontrollers", true],
];

const registry = new Registry();

const serviceType = (s: KubeObject) => (s.spec as { type?: string } | undefined)?.type ?? "ClusterIP";

/** Calls replenish(kind, namespace) when usage of that kind in that namespace may have dropped. */
export function startQuotaMonitors(
  informers: SharedInformerFactory,
  clock: Clock,
  replenish: (kind: KindDef, namespace: string) => void,
): void {
  for (const [resource, metadataOnly] of MONITORED) {
    // Only the kinds this API serves (replicationcontrollers may not be).
    const kind = registry.resource("", "v1", resource);
    if (kind === undefined) continue;
    const informer = informers.informerFor("v1", resource, metadataOnly ? { metadataOnly } : {});
    informer.addEventHandler({
      onUpdate: (old, cur) => {
        const dropped =
          resource === "pods"
            ? podCountsForQuota(old, clock.now()) && !podCountsForQuota(cur, clock.now())
            : resource === "services" && serviceType(old) !== serviceType(cur);
        if (dropped) replenish(kind, cur.metadata.namespace as string);
      },
      onDelete: (obj, tombstone) =>
        replenish(kind, deletedObject(obj, tombstone).metadata.namespace as string),
    });
  }
}
