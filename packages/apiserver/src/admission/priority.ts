/**
 * Priority (kube's plugin of that name, plugin/pkg/admission/priority): a new pod gets
 * spec.priority and spec.preemptionPolicy from its priorityClassName, or from the global default
 * PriorityClass (priority 0, PreemptLowerPriority when there is none); an unknown class, or a
 * priority that disagrees with the class, is Forbidden. An update keeps what creation set. Only
 * one PriorityClass may be the global default. The scheduler orders and preempts by these.
 */
import type { KindDef, KubeObject, Registry } from "@skiff/api";
import type { RegistryStore } from "../storage/registry-store.js";
import type { WatchCache } from "../storage/watch-cache.js";
import type { AdmissionPlugin, Attributes, Operation } from "./interface.js";
import { forbidden, listForAdmission } from "./shared.js";

type Json = Record<string, unknown>;

export class Priority implements AdmissionPlugin {
  readonly name = "Priority";
  private readonly kind: KindDef | undefined;

  constructor(
    registry: Registry,
    private readonly store: RegistryStore,
    private readonly cache?: WatchCache,
  ) {
    this.kind = registry.resource("scheduling.k8s.io", "v1", "priorityclasses");
  }

  handles(op: Operation): boolean {
    return op === "CREATE" || op === "UPDATE";
  }

  private async classes(): Promise<KubeObject[]> {
    if (this.kind === undefined) return [];
    return listForAdmission(this.store, this.cache, this.kind, undefined);
  }

  /** getDefaultPriorityClass: the global default with the lowest value, if any. */
  private async globalDefault(): Promise<KubeObject | undefined> {
    let found: KubeObject | undefined;
    for (const pc of await this.classes())
      if (pc.globalDefault === true && (found === undefined || Number(pc.value) < Number(found.value)))
        found = pc;
    return found;
  }

  async admit(a: Attributes): Promise<void> {
    if (a.kind.group !== "" || a.kind.kind !== "Pod" || a.subresource !== undefined || a.object === undefined)
      return;
    const spec = (a.object.spec ?? {}) as Json;
    if (a.operation === "UPDATE") {
      const old = (a.oldObject?.spec ?? {}) as Json;
      if (spec.priority === undefined && old.priority !== undefined) spec.priority = old.priority;
      if (spec.preemptionPolicy === undefined && old.preemptionPolicy !== undefined)
        spec.preemptionPolicy = old.preemptionPolicy;
      return;
    }
    let priority = 0;
    let policy: unknown = "PreemptLowerPriority";
    const className = spec.priorityClassName;
    if (typeof className !== "string" || className === "") {
      const pc = await this.globalDefault();
      if (pc !== undefined) {
        spec.priorityClassName = pc.metadata.name;
        priority = Number(pc.value ?? 0);
        policy = pc.preemptionPolicy;
      }
    } else {
      const pc = (await this.classes()).find((c) => c.metadata.name === className);
      if (pc === undefined) throw forbidden(a, `no PriorityClass with name ${className} was found`);
      priority = Number(pc.value ?? 0);
      policy = pc.preemptionPolicy;
    }
    if (spec.priority !== undefined && spec.priority !== priority)
      throw forbidden(
        a,
        `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`,
      );
    spec.priority = priority;
    if (policy !== undefined) {
      if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== policy)
        throw forbidden(
          a,
          `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`,
        );
      spec.preemptionPolicy = policy;
    }
    a.object.spec = spec;
  }

  async validate(a: Attributes): Promise<void> {
    if (a.kind !== this.kind || a.object === undefined || a.object.globalDefault !== true) return;
    const current = await this.globalDefault();
    if (current === undefined) return;
    if (a.operation === "CREATE" || current.metadata.name !== a.object.metadata.name)
      throw forbidden(
        a,
        `PriorityClass ${current.metadata.name} is already marked as default. Only one default can exist`,
      );
  }
}
