/**
 * Emptying a terminating namespace (kube's namespacedResourcesDeleter,
 * pkg/controller/namespace/deletion): every namespaced kind is deleted through the normal API
 * (DeleteCollection, or each item where the collection cannot be deleted), what remains is
 * counted, and the namespace's conditions say why it is still there (kube's
 * namespaceConditionUpdater: NamespaceDeletionDiscoveryFailure, NamespaceDeletionGroupVersionParsingFailure,
 * NamespaceDeletionContentFailure, NamespaceContentRemaining, NamespaceFinalizersRemaining).
 * Once nothing remains, the `kubernetes` finalizer is removed through namespaces/finalize.
 */
import { type KindDef, type KubeObject, metav1Time } from "@skiff/api";
import { StatusError } from "../status.js";
import type { LoopbackClient } from "./loopback.js";

type Json = Record<string, unknown>;
type Condition = {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime?: string;
};

export const FINALIZER_KUBERNETES = "kubernetes";
/** kube's finalizerEstimateSeconds: how long objects with finalizers are assumed to take. */
export const FINALIZER_ESTIMATE_SECONDS = 15;

const CONDITION_TYPES = [
  "NamespaceDeletionDiscoveryFailure",
  "NamespaceDeletionGroupVersionParsingFailure",
  "NamespaceDeletionContentFailure",
  "NamespaceContentRemaining",
  "NamespaceFinalizersRemaining",
];
const OK: Record<string, [reason: string, message: string]> = {
  NamespaceDeletionDiscoveryFailure: ["ResourcesDiscovered", "All resources successfully discovered"],
  NamespaceDeletionGroupVersionParsingFailure: [
    "ParsedGroupVersions",
    "All legacy kube types successfully parsed",
  ],
  NamespaceDeletionContentFailure: [
    "ContentDeleted",
    "All content successfully deleted, may be waiting on finalization",
  ],
  NamespaceContentRemaining: ["ContentRemoved", "All content successfully removed"],
  NamespaceFinalizersRemaining: ["ContentRemoved", "All content successfully removed"],
};

/** Seconds until the namespace's graceful pods are expected gone (kube: estimateGracefulTerminationForPods). */
function podEstimate(pods: KubeObject[], deletedAt: string, now: number): number {
  let estimate = 0;
  for (const pod of pods) {
    const phase = (pod.status as Json | undefined)?.phase;
    if (phase === "Succeeded" || phase === "Failed") continue;
    const grace =
      pod.metadata.deletionGracePeriodSeconds ??
      ((pod.spec as Json | undefined)?.terminationGracePeriodSeconds as number | undefined) ??
      30;
    const remaining = Math.ceil((Date.parse(deletedAt) + grace * 1000 - now) / 1000);
    if (remaining > estimate) estimate = remaining;
  }
  return estimate;
}

interface KindResult {
  remaining: number;
  finalizers: Map<string, number>;
  estimate: number;
}

export class NamespaceDeleter {
  constructor(
    private readonly client: LoopbackClient,
    private readonly now: () => number,
  ) {}

  private async deleteKind(k: KindDef, ns: string, deletedAt: string): Promise<KindResult> {
    let estimate = 0;
    if (k.group === "" && k.kind === "Pod")
      estimate = podEstimate(await this.client.list(k, ns), deletedAt, this.now());
    try {
      await this.client.deleteCollection(k, ns, { propagationPolicy: "Background" });
    } catch (e) {
      if (!(e instanceof StatusError && (e.code === 405 || e.code === 404))) throw e;
      for (const obj of await this.client.list(k, ns)) {
        try {
          await this.client.delete(k, ns, obj.metadata.name as string, { propagationPolicy: "Background" });
        } catch (err) {
          if (!(err instanceof StatusError && err.code === 404)) throw err;
        }
      }
    }
    const left = await this.client.list(k, ns);
    const finalizers = new Map<string, number>();
    for (const obj of left)
      for (const f of obj.metadata.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
    if (left.length === 0 || estimate > 0) return { remaining: left.length, finalizers, estimate };
    if (finalizers.size > 0)
      return { remaining: left.length, finalizers, estimate: FINALIZER_ESTIMATE_SECONDS };
    throw new Error(
      `unexpected items still remain in namespace: ${ns} for gvr: ${k.group}/${k.version}, Resource=${k.resource}`,
    );
  }

  /** Deletes what the namespace holds; returns kube's estimate in seconds (0: it is empty). */
  async deleteAllContent(ns: KubeObject): Promise<number> {
    const name = ns.metadata.name as string;
    const deletedAt = ns.metadata.deletionTimestamp as string;
    const errors: string[] = [];
    const remaining = new Map<string, number>();
    const byFinalizer = new Map<string, number>();
    let estimate = 0;
    for (const k of this.client.kinds) {
      if (!k.namespaced) continue;
      try {
        const r = await this.deleteKind(k, name, deletedAt);
        estimate = Math.max(estimate, r.estimate);
        if (r.remaining > 0) {
          remaining.set(`${k.resource}.${k.group}`, r.remaining);
          for (const [f, n] of r.finalizers) byFinalizer.set(f, (byFinalizer.get(f) ?? 0) + n);
        }
      } catch (e) {
        errors.push(e instanceof Error ? e.message : String(e));
      }
    }
    const failed: Condition[] = [];
    if (errors.length > 0)
      failed.push({
        type: "NamespaceDeletionContentFailure",
        status: "True",
        reason: "ContentDeletionFailed",
        message: `Failed to delete all resource types, ${errors.length} remaining: ${errors.sort().join(", ")}`,
      });
    if (remaining.size > 0)
      failed.push({
        type: "NamespaceContentRemaining",
        status: "True",
        reason: "SomeResourcesRemain",
        message: `Some resources are remaining: ${[...remaining]
          .map(([r, n]) => `${r} has ${n} resource instances`)
          .sort()
          .join(", ")}`,
      });
    if (byFinalizer.size > 0)
      failed.push({
        type: "NamespaceFinalizersRemaining",
        status: "True",
        reason: "SomeFinalizerRemain",
        message: `Some finalizers are remaining: ${[...byFinalizer]
          .map(([f, n]) => `${f} in ${n} resource instances`)
          .sort()
          .join(", ")}`,
      });
    await this.updateConditions(ns, failed);
    if (errors.length > 0) throw new Error(errors.join("; "));
    return estimate;
  }

  /** Sets every deleter condition (the "ok" variant when nothing failed), if any changed. */
  private async updateConditions(ns: KubeObject, failed: Condition[]): Promise<void> {
    const status = { ...(ns.status as Json) };
    const conditions = [...((status.conditions as Condition[] | undefined) ?? [])].map((c) => ({ ...c }));
    const now = metav1Time(new Date(this.now()));
    let changed = false;
    for (const type of CONDITION_TYPES) {
      const [reason, message] = OK[type] as [string, string];
      const want = failed.find((c) => c.type === type) ?? { type, status: "False", reason, message };
      const have = conditions.find((c) => c.type === type);
      if (have === undefined) {
        conditions.push({ ...want, lastTransitionTime: now });
        changed = true;
      } else if (
        have.status !== want.status ||
        have.reason !== want.reason ||
        have.message !== want.message
      ) {
        if (have.status !== want.status) have.lastTransitionTime = now;
        Object.assign(have, { status: want.status, reason: want.reason, message: want.message });
        changed = true;
      }
    }
    if (!changed) return;
    const kind = this.client.kind("", "v1", "namespaces");
    try {
      await this.client.update(kind, { ...ns, status: { ...status, conditions } }, "status");
    } catch {
      // kube logs and goes on: the conditions are written on the next pass.
    }
  }
}
