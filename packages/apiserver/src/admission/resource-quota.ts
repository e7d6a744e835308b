/**
 * ResourceQuota (kube's plugin of that name, staging/.../admission/plugin/resourcequota): a create
 * in a namespace with quotas is admitted only if every quota still has room for what the object
 * counts. The usage it takes is written in the object's own transaction (attributes.writes,
 * guarded by each quota's revision), so concurrent creates cannot both take the last unit.
 * A new ResourceQuota starts with the usage of what its namespace already holds.
 */
import { formatQuantity, type QuotaChange, type QuotaUsage } from "../registry/quota-usage.js";
import { StatusError } from "../status.js";
import type { AdmissionPlugin, Attributes, Operation } from "./interface.js";

/** kube's message, naming every exceeded resource of the first full quota. */
function exceeded(a: Attributes, c: QuotaChange): StatusError {
  const list = (f: (n: string) => string) => c.exceeded.map((n) => `${n}=${f(n)}`).join(",");
  return new StatusError(
    403,
    "Forbidden",
    `${a.kind.resource} "${a.name}" is forbidden: exceeded quota: ${c.quota.metadata.name}, requested: ${list((n) => formatQuantity(c.delta[n] ?? 0))}, used: ${list((n) => c.used[n] ?? "0")}, limited: ${list((n) => c.hard[n] ?? "")}`,
  );
}

export class ResourceQuota implements AdmissionPlugin {
  readonly name = "ResourceQuota";

  constructor(private readonly usage: QuotaUsage) {}

  handles(op: Operation): boolean {
    return op === "CREATE";
  }

  async admit(a: Attributes): Promise<void> {
    if (a.kind.group === "" && a.kind.kind === "ResourceQuota" && a.object !== undefined)
      await this.usage.initialize(a.object);
  }

  async validate(a: Attributes): Promise<void> {
    // A dry run is neither checked nor charged (it stores nothing to count).
    if (a.dryRun || a.object === undefined || a.subresource !== undefined) return;
    const changes = await this.usage.changes(a.kind, a.object, 1);
    for (const c of changes) if (c.exceeded.length > 0) throw exceeded(a, c);
    for (const c of changes) if (c.write !== undefined) a.writes.push(c.write);
  }
}
