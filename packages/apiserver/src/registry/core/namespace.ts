/**
 * Namespace storage (kube: pkg/registry/core/namespace/storage, a REST of its own): the built-in
 * namespaces exist from the start; a new namespace carries the kubernetes.io/metadata.name label;
 * deleting one marks it Terminating, removes everything in it, then removes it (the namespace
 * controller's job in kube-controller-manager; done here until the controller manager exists).
 * There is no DELETE on the collection: each namespace goes through this lifecycle.
 */
import { type KubeObject, metav1Time, type Registry } from "@skiff/api";
import { StatusError } from "../../status.js";
import { versioner } from "../../storage/versioner.js";
import { type DeleteOptions, GenericStore, type StoreDeps, type WriteOptions } from "../store.js";

export const BUILTIN_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

const METADATA_NAME_LABEL = "kubernetes.io/metadata.name";

export class NamespaceStorage extends GenericStore {
  override readonly collectionDeleter = false;

  constructor(
    private readonly registry: Registry,
    deps: StoreDeps,
  ) {
    const kind = registry.resource("", "v1", "namespaces");
    if (kind === undefined) throw new Error("the registry has no namespaces");
    super(kind, deps, {
      // kube's namespaceStrategy.Canonicalize: the label always names the namespace.
      canonicalize: (ns) => {
        ns.metadata.labels = { ...ns.metadata.labels, [METADATA_NAME_LABEL]: ns.metadata.name as string };
      },
    });
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
          creationTimestamp: metav1Time(this.deps.now()),
          labels: { [METADATA_NAME_LABEL]: name },
        },
        spec: { finalizers: ["kubernetes"] },
        status: { phase: "Active" },
      };
      try {
        await this.deps.store.create(this.kind, ns);
      } catch (e) {
        if (!(e instanceof StatusError && e.reason === "AlreadyExists")) throw e;
      }
    }
  }

  /** Terminating first (creates in it are refused from then on), then its content, then itself. */
  override async delete(
    ns: KubeObject,
    opts: DeleteOptions,
    o: Omit<WriteOptions, "dryRun">,
  ): Promise<KubeObject> {
    await o.validate();
    if (ns.metadata.deletionTimestamp !== undefined) return ns;
    const terminating: KubeObject = {
      ...ns,
      metadata: {
        ...ns.metadata,
        deletionTimestamp: metav1Time(this.deps.now()),
        deletionGracePeriodSeconds: 0,
      },
      status: { ...(ns.status as object), phase: "Terminating" },
    };
    if (opts.dryRun?.includes("All")) return terminating;
    const stored = await this.deps.store.update(this.kind, terminating, versioner.objectResourceVersion(ns));
    this.deps.cache?.observe(this.kind, stored);
    void this.finalize(ns.metadata.name as string).catch(() => undefined);
    return stored;
  }

  private async finalize(name: string): Promise<void> {
    const { store } = this.deps;
    for (const k of this.registry.kinds) {
      if (!k.namespaced) continue;
      const page = await store.list(k, name);
      for (const obj of page.items) {
        try {
          await store.delete(k, obj, versioner.objectResourceVersion(obj));
        } catch {
          // Already gone, or changed: the next pass gets it.
        }
      }
    }
    const ns = await store.get(this.kind, undefined, name);
    await store.delete(this.kind, ns, versioner.objectResourceVersion(ns));
  }
}
