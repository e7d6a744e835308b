/**
 * LimitRange admission (kube's LimitRanger): containers without resource requests or limits get
 * the namespace's Container defaults (`default` -> limits, `defaultRequest` -> requests), and a
 * container above a `max` or below a `min` is refused with kube-apiserver's message.
 */
import { type KindDef, type KubeObject, parseQuantity, type Registry } from "@skiff/api";
import { forbidden } from "../status.js";
import type { RegistryStore } from "../storage/registry-store.js";
import type { WatchCache } from "../storage/watch-cache.js";

type Json = Record<string, unknown>;

export class LimitRangeAdmission {
  private readonly kind: KindDef | undefined;

  constructor(
    registry: Registry,
    private readonly store: RegistryStore,
    private readonly cache?: WatchCache,
  ) {
    this.kind = registry.resource("", "v1", "limitranges");
  }

  /** Applies defaults and checks bounds on a new pod (in place). */
  async admitPod(pod: KubeObject): Promise<void> {
    if (this.kind === undefined) return;
    // From the watch cache when there is one: no store read per pod create.
    // From the watch cache, which includes this server's own recent writes (read your writes).
    const ranges =
      this.cache !== undefined
        ? (await this.cache.for(this.kind)).list(pod.metadata.namespace)
        : await this.store.list(this.kind, pod.metadata.namespace);
    for (const lr of ranges.items) {
      for (const item of (((lr.spec as Json | undefined)?.limits as Json[] | undefined) ?? []).filter(
        (l) => l.type === "Container",
      )) {
        for (const c of ((pod.spec as Json | undefined)?.containers as Json[] | undefined) ?? []) {
          const resources = (c.resources ?? {}) as Json;
          const limits = { ...((resources.limits ?? {}) as Json) };
          const requests = { ...((resources.requests ?? {}) as Json) };
          for (const [r, v] of Object.entries((item.default ?? {}) as Json)) limits[r] ??= v;
          for (const [r, v] of Object.entries((item.defaultRequest ?? {}) as Json))
            requests[r] ??= limits[r] ?? v;
          for (const [r, max] of Object.entries((item.max ?? {}) as Json)) {
            const l = limits[r];
            if (l !== undefined && parseQuantity(String(l)) > parseQuantity(String(max)))
              throw forbidden(
                `pods "${pod.metadata.name}" is forbidden: maximum ${r} usage per Container is ${max}, but limit is ${l}`,
              );
          }
          for (const [r, min] of Object.entries((item.min ?? {}) as Json)) {
            const q = requests[r];
            if (q !== undefined && parseQuantity(String(q)) < parseQuantity(String(min)))
              throw forbidden(
                `pods "${pod.metadata.name}" is forbidden: minimum ${r} usage per Container is ${min}, but request is ${q}`,
              );
          }
          c.resources = {
            ...resources,
            ...(Object.keys(limits).length > 0 ? { limits } : {}),
            ...(Object.keys(requests).length > 0 ? { requests } : {}),
          };
        }
      }
    }
  }
}
