/**
 * ResourceQuota (kube's plugin of that name, staging/.../admission/plugin/resourcequota): a write
 * in a namespace with quotas is admitted only if every quota that tracks it still has room for
 * what it adds: creates of every kind, and Service updates (a ClusterIP Service turned NodePort or
 * LoadBalancer takes node ports and a load balancer). The usage it takes is written in the
 * object's own transaction (attributes.writes, guarded by each quota's revision), so concurrent
 * writes cannot both take the last unit. Limits are status.hard (what the quota controller has
 * enforced); a tracked resource with no usage recorded yet is refused as kube does ("status
 * unknown"). A dry run is checked but charges nothing. A new ResourceQuota starts with the usage
 * of what its namespace already holds.
 */
import { formatQuantity, handlesOperation } from "@skiff/api";
import type { QuotaChange, QuotaUsage } from "../registry/quota-usage.js";
import type { StatusError } from "../status.js";
import type { AdmissionPlugin, Attributes, Operation } from "./interface.js";
import { forbidden } from "./shared.js";

/** kube's message, naming every exceeded resource of the first full quota, sorted. */
function exceeded(a: Attributes, c: QuotaChange): StatusError {
  const list = (f: (n: string) => string) => c.exceeded.map((n) => `${n}=${f(n)}`).join(",");
  return forbidden(
    a,
    `exceeded quota: ${c.quota.metadata.name}, requested: ${list((n) => formatQuantity(c.delta[n] ?? 0, n))}, used: ${list((n) => c.used[n] ?? "0")}, limited: ${list((n) => c.hard[n] ?? "")}`,
  );
}

export class ResourceQuota implements AdmissionPlugin {
  readonly name = "ResourceQuota";

  constructor(private readonly usage: QuotaUsage) {}

  handles(op: Operation): boolean {
    return op === "CREATE" || op === "UPDATE";
  }

  async admit(a: Attributes): Promise<void> {
    if (a.operation !== "CREATE") return;
    if (a.kind.group === "" && a.kind.kind === "ResourceQuota" && a.object !== undefined)
      await this.usage.initialize(a.object);
  }

  async validate(a: Attributes): Promise<void> {
    const op = a.operation;
    if (op !== "CREATE" && op !== "UPDATE") return;
    if (a.object === undefined || a.subresource !== undefined || !handlesOperation(a.kind, op)) return;
    const changes = await this.usage.changes(a.kind, a.object, op, op === "UPDATE" ? a.oldObject : undefined);
    for (const c of changes) {
      if (c.unknown.length > 0)
        throw forbidden(
          a,
          `status unknown for quota: ${c.quota.metadata.name}, resources: ${c.unknown.join(",")}`,
        );
      if (c.exceeded.length > 0) throw exceeded(a, c);
    }
    // A dry run stores nothing to count.
    if (a.dryRun) return;
    for (const c of changes) if (c.write !== undefined) a.writes.push(c.write);
  }
}
