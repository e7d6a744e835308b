/**
 * Service storage hooks (kube: pkg/registry/core/service/storage, whose BeginCreate and BeginUpdate
 * allocate and AfterDelete releases): the cluster IP and node ports are claim keys written in the
 * Service's own transaction (service-allocator.ts).
 */
import type { Strategy } from "../strategy.js";
import type { ServiceAllocator } from "./service-allocator.js";

export function serviceStrategy(allocator: ServiceAllocator): Strategy {
  return {
    create: (store, kind, svc, guarded) => allocator.create(store, kind, svc, guarded),
    beginUpdate: (kind, next, old) => allocator.prepareUpdate(kind, next, old),
    updateError: (kind, next, e) => allocator.updateError(kind, next, e),
    releasedOnDelete: (svc) => allocator.claims(svc),
  };
}
