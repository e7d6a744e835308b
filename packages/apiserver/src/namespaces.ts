/**
 * Namespace lifecycle: the built-in namespaces exist from the start; nothing is created in a
 * namespace that does not exist or is terminating; deleting a namespace marks it Terminating,
 * removes everything in it, then removes it (the namespace controller's job in kube-controller-
 * manager; done here until the controller manager exists).
 */
import { type KindDef, type KubeObject, metav1Time, type Registry } from "@skiff/api";
import { forbidden, notFound, StatusError } from "./status.js";
import type { RegistryStore } from "./storage/registry-store.js";
import type { WatchCache } from "./storage/watch-cache.js";

export const BUILTIN_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export class NamespaceLifecycle {
  private readonly nsKind: KindDef;

  constructor(
    private readonly registry: Registry,
    private readonly store: RegistryStore,
    private readonly now: () => Date,
    private readonly cache?: WatchCache,
  ) {
    const k = registry.resource("", "v1", "namespaces");
    if (k === undefined) throw new Error("the registry has no namespaces");
    this.nsKind = k;
  }

  /** Creates the built-in namespaces that are missing. */
  async bootstrap(): Promise<void> {
    for (const name of BUILTIN_NAMESPACES) {
      const ns: KubeObject = {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
          name,
          uid: crypto.randomUUID(),
          creationTimestamp: metav1Time(this.now()),
          labels: { "kubernetes.io/metadata.name": name },
        },
        spec: { finalizers: ["kubernetes"] },
        status: { phase: "Active" },
      };
      try {
        await this.store.create(this.nsKind, ns);
      } catch (e) {
        if (!(e instanceof StatusError && e.reason === "AlreadyExists")) throw e;
      }
    }
  }

  /** Admission: the namespace of a new namespaced object must exist and be active. */
  async admitCreate(k: KindDef, obj: KubeObject): Promise<void> {
    if (k.kind === "Namespace") {
      obj.metadata.labels = {
        ...obj.metadata.labels,
        "kubernetes.io/metadata.name": obj.metadata.name as string,
      };
      return;
    }
    if (!k.namespaced) return;
    const name = obj.metadata.namespace as string;
    // The watch cache first (no store read per create); a miss may be lag: ask the store.
    const cached =
      this.cache === undefined ? undefined : (await this.cache.for(this.nsKind)).get(undefined, name);
    let ns: KubeObject;
    try {
      ns = cached ?? (await this.store.get(this.nsKind, undefined, name));
    } catch (e) {
      if (e instanceof StatusError && e.reason === "NotFound") throw notFound(this.nsKind, name);
      throw e;
    }
    if (
      ns.metadata.deletionTimestamp !== undefined ||
      (ns.status as { phase?: string })?.phase === "Terminating"
    )
      throw forbidden(
        `${k.resource} "${obj.metadata.name}" is forbidden: unable to create new content in namespace ${name} because it is being terminated`,
      );
  }

  /** Deletes a namespace: Terminating first, then its content, then the namespace itself. */
  async delete(name: string): Promise<KubeObject> {
    if (BUILTIN_NAMESPACES.slice(0, 3).includes(name))
      throw forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`);
    const ns = await this.store.get(this.nsKind, undefined, name);
    if (ns.metadata.deletionTimestamp !== undefined) return ns;
    const terminating: KubeObject = {
      ...ns,
      metadata: {
        ...ns.metadata,
        deletionTimestamp: metav1Time(this.now()),
        deletionGracePeriodSeconds: 0,
      },
      status: { ...(ns.status as object), phase: "Terminating" },
    };
    const stored = await this.store.update(this.nsKind, terminating, Number(ns.metadata.resourceVersion));
    this.cache?.observe(this.nsKind, stored); // creates in it are refused from now on
    void this.finalize(name).catch(() => undefined);
    return stored;
  }

  private async finalize(name: string): Promise<void> {
    for (const k of this.registry.kinds) {
      if (!k.namespaced) continue;
      const page = await this.store.list(k, name);
      for (const obj of page.items) {
        try {
          await this.store.delete(k, obj, Number(obj.metadata.resourceVersion));
        } catch {
          // Already gone, or changed: the next pass gets it.
        }
      }
    }
    const ns = await this.store.get(this.nsKind, undefined, name);
    await this.store.delete(this.nsKind, ns, Number(ns.metadata.resourceVersion));
  }
}
