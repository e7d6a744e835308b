/**
 * LimitRanger (kube's plugin of that name, plugin/pkg/admission/limitranger): on a pod create,
 * `admit` gives containers without resource requests or limits their namespace's Container
 * defaults (`default` -> limits, `defaultRequest` -> requests); `validate` refuses a container
 * above a `max` or below a `min`, with kube-apiserver's message. Pod updates are not checked, as
 * kube's (a pod's containers cannot change).
 */
import { type KindDef, type KubeObject, parseQuantity, type Registry } from "@skiff/api";
import { forbidden } from "../status.js";
import type { RegistryStore } from "../storage/registry-store.js";
import type { WatchCache } from "../storage/watch-cache.js";
import type { AdmissionPlugin, Attributes, Operation } from "./interface.js";
import { listForAdmission } from "./shared.js";

type Json = Record<string, unknown>;

const containersOf = (pod: KubeObject) =>
  ((pod.spec as Json | undefined)?.containers as Json[] | undefined) ?? [];
const resourcesOf = (c: Json) => (c.resources ?? {}) as Json;

export class LimitRanger implements AdmissionPlugin {
  readonly name = "LimitRanger";
  private readonly kind: KindDef | undefined;

  constructor(
    registry: Registry,
    private readonly store: RegistryStore,
    private readonly cache?: WatchCache,
  ) {
    this.kind = registry.resource("", "v1", "limitranges");
  }

  handles(op: Operation): boolean {
    return op === "CREATE";
  }

  /** The Container items of the namespace's LimitRanges, in order. */
  private async containerLimits(a: Attributes): Promise<Json[]> {
    if (
      this.kind === undefined ||
      a.kind.group !== "" ||
      a.kind.kind !== "Pod" ||
      a.subresource !== undefined
    )
      return [];
    const ranges = await listForAdmission(this.store, this.cache, this.kind, a.namespace);
    return ranges.flatMap((lr) =>
      (((lr.spec as Json | undefined)?.limits as Json[] | undefined) ?? []).filter(
        (l) => l.type === "Container",
      ),
    );
  }

  async admit(a: Attributes): Promise<void> {
    if (a.object === undefined) return;
    for (const item of await this.containerLimits(a)) {
      for (const c of containersOf(a.object)) {
        const resources = resourcesOf(c);
        const limits = { ...((resources.limits ?? {}) as Json) };
        const requests = { ...((resources.requests ?? {}) as Json) };
        for (const [r, v] of Object.entries((item.default ?? {}) as Json)) limits[r] ??= v;
        for (const [r, v] of Object.entries((item.defaultRequest ?? {}) as Json))
          requests[r] ??= limits[r] ?? v;
        c.resources = {
          ...resources,
          ...(Object.keys(limits).length > 0 ? { limits } : {}),
          ...(Object.keys(requests).length > 0 ? { requests } : {}),
        };
      }
    }
  }

  async validate(a: Attributes): Promise<void> {
    if (a.object === undefined) return;
    for (const item of await this.containerLimits(a)) {
      for (const c of containersOf(a.object)) {
        const resources = resourcesOf(c);
        const limits = (resources.limits ?? {}) as Json;
        const requests = (resources.requests ?? {}) as Json;
        for (const [r, max] of Object.entries((item.max ?? {}) as Json)) {
          const l = limits[r];
          if (l !== undefined && parseQuantity(String(l)) > parseQuantity(String(max)))
            throw forbidden(
              `pods "${a.name}" is forbidden: maximum ${r} usage per Container is ${max}, but limit is ${l}`,
            );
        }
        for (const [r, min] of Object.entries((item.min ?? {}) as Json)) {
          const q = requests[r];
          if (q !== undefined && parseQuantity(String(q)) < parseQuantity(String(min)))
            throw forbidden(
              `pods "${a.name}" is forbidden: minimum ${r} usage per Container is ${min}, but request is ${q}`,
            );
        }
      }
    }
  }
}
