/**
 * PriorityClass storage (kube: pkg/registry/scheduling/priorityclass): the system classes are
 * created at start when missing (kube's bootstrap post-start hook) and cannot be deleted.
 */
import { type KindDef, type KubeObject, metav1Time, type Registry, systemPriorityClasses } from "@skiff/api";
import { StatusError } from "../../status.js";
import type { RegistryStore } from "../../storage/registry-store.js";
import { type DeleteOptions, GenericStore, type WriteOptions } from "../store.js";

export class PriorityClassStorage extends GenericStore {
  override async delete(
    old: KubeObject,
    opts: DeleteOptions,
    o: Omit<WriteOptions, "dryRun">,
  ): Promise<KubeObject> {
    const name = old.metadata.name as string;
    if (systemPriorityClasses.some((s) => s.name === name))
      throw new StatusError(
        403,
        "Forbidden",
        `priorityclasses.scheduling.k8s.io "${name}" is forbidden: this is a system priority class and cannot be deleted`,
        { name, group: "scheduling.k8s.io", kind: "priorityclasses" },
      );
    return super.delete(old, opts, o);
  }
}

/** Creates the system priority classes that are missing. */
export async function bootstrapPriorityClasses(
  registry: Registry,
  store: RegistryStore,
  now: Date,
): Promise<void> {
  const kind: KindDef | undefined = registry.resource("scheduling.k8s.io", "v1", "priorityclasses");
  if (kind === undefined) return;
  for (const s of systemPriorityClasses) {
    const pc: KubeObject = {
      apiVersion: "scheduling.k8s.io/v1",
      kind: "PriorityClass",
      metadata: { name: s.name, uid: crypto.randomUUID(), creationTimestamp: metav1Time(now) },
      value: s.value,
      globalDefault: false,
      description: s.description,
      preemptionPolicy: "PreemptLowerPriority",
    };
    try {
      await store.create(kind, pc);
    } catch (e) {
      if (!(e instanceof StatusError && e.reason === "AlreadyExists")) throw e;
    }
  }
}
