/**
 * The plugins as one (kube's chainAdmissionHandler): `admit` runs every mutating plugin that
 * handles the operation, in order; `validate` runs every validating one. As kube's handlers do,
 * the verb handlers call `admit` before the write and hand `validate` to the storage, which calls
 * it right before the write (again, if a guarded key changed and the write is retried).
 */
import type { GuardedWrite } from "../storage/registry-store.js";
import type { AdmissionPlugin, Attributes } from "./interface.js";

export class AdmissionChain {
  constructor(readonly plugins: readonly AdmissionPlugin[]) {}

  async admit(a: Attributes): Promise<void> {
    for (const p of this.plugins) if (p.admit !== undefined && p.handles(a.operation)) await p.admit(a);
  }

  /** Runs the validating plugins; returns the writes they want in the object's transaction. */
  async validate(a: Attributes): Promise<GuardedWrite[]> {
    a.writes.length = 0; // a retry starts over
    for (const p of this.plugins) if (p.validate !== undefined && p.handles(a.operation)) await p.validate(a);
    return [...a.writes];
  }
}
