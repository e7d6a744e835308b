/**
 * Service storage hooks (kube: pkg/registry/core/service/storage, whose BeginCreate and BeginUpdate
 * allocate and AfterDelete releases): the cluster IP and node ports are claim keys written in the
 * Service's own transaction (service-allocator.ts).
 */
import type { KubeObject } from "@skiff/api";
import type { Strategy } from "../strategy.js";
import type { ServiceAllocator } from "./service-allocator.js";

/**
 * The IP families on a single-stack IPv4 cluster, as kube's service REST fills them in: every
 * Service but ExternalName gets ipFamilies [IPv4] and ipFamilyPolicy SingleStack unless given.
 */
function ipFamilies(svc: KubeObject): void {
  const spec = (svc.spec ?? {}) as Record<string, unknown>;
  if (spec.type === "ExternalName") return;
  spec.ipFamilyPolicy ??= "SingleStack";
  spec.ipFamilies ??= ["IPv4"];
  svc.spec = spec;
}

export function serviceStrategy(allocator: ServiceAllocator): Strategy {
  return {
    create: (store, kind, svc, guarded) => {
      ipFamilies(svc);
      return allocator.create(store, kind, svc, guarded);
    },
    beginUpdate: (kind, next, old) => {
      ipFamilies(next);
      return allocator.prepareUpdate(kind, next, old);
    },
    updateError: (kind, next, e) => allocator.updateError(kind, next, e),
    releasedOnDelete: (svc) => allocator.claims(svc),
  };
}
