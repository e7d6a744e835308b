/**
 * The storage of every served kind, built once (kube: the map of rest.Storage each API group
 * installs, pkg/registry/<group>/rest). Kinds with storage needs of their own get their hooks
 * here; every other kind is stored by the generic store as it is.
 */
import type { KindDef, Registry } from "@skiff/api";
import type { LeaseManager } from "../storage/leases.js";
import { eventStrategy } from "./core/event.js";
import { NamespaceStorage } from "./core/namespace.js";
import { podStrategy } from "./core/pod.js";
import { serviceStrategy } from "./core/service.js";
import type { ServiceAllocator } from "./core/service-allocator.js";
import { ReviewStorage } from "./review.js";
import { PriorityClassStorage } from "./scheduling/priorityclass.js";
import { GenericStore, type ResourceStorage, type StoreDeps } from "./store.js";
import type { Strategy } from "./strategy.js";

export interface StorageConfig extends StoreDeps {
  registry: Registry;
  services: ServiceAllocator;
  eventLeases: LeaseManager;
}

/** kube's GroupKind.String(): "Pod", "Deployment.apps". */
const groupKind = (k: KindDef) => (k.group === "" ? k.kind : `${k.kind}.${k.group}`);

export class StorageMap {
  readonly namespaces: NamespaceStorage;
  private readonly byKind = new Map<KindDef, ResourceStorage>();

  constructor(c: StorageConfig) {
    const strategies: Record<string, Strategy> = {
      Pod: podStrategy,
      Service: serviceStrategy(c.services),
      Event: eventStrategy(c.eventLeases),
      "Event.events.k8s.io": eventStrategy(c.eventLeases),
    };
    this.namespaces = new NamespaceStorage(c.registry, c);
    for (const k of c.registry.kinds)
      this.byKind.set(
        k,
        k === this.namespaces.kind
          ? this.namespaces
          : k.verbs !== undefined && !k.verbs.includes("get")
            ? new ReviewStorage(k)
            : groupKind(k) === "PriorityClass.scheduling.k8s.io"
              ? new PriorityClassStorage(k, c)
              : new GenericStore(k, c, strategies[groupKind(k)]),
      );
  }

  for(kind: KindDef): ResourceStorage {
    const s = this.byKind.get(kind);
    if (s === undefined) throw new Error(`no storage for ${groupKind(kind)}`);
    return s;
  }
}
