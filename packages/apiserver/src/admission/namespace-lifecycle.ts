/**
 * NamespaceLifecycle (kube's plugin of that name, staging/.../admission/plugin/namespace/lifecycle):
 * nothing is created in a namespace that does not exist or is terminating, and the immortal
 * namespaces (default, kube-system, kube-public) cannot be deleted. The namespace is read from the
 * watch cache; a miss may be the cache lagging behind a namespace just created, so the store is
 * asked before answering 404 (kube's live lookup). A refusal in a terminating namespace carries
 * kube's NamespaceTerminating cause, which controllers look for.
 */
import type { KindDef, KubeObject, Registry } from "@skiff/api";
import { forbidden, notFound, StatusError } from "../status.js";
import type { RegistryStore } from "../storage/registry-store.js";
import type { WatchCache } from "../storage/watch-cache.js";
import type { AdmissionPlugin, Attributes, Operation } from "./interface.js";

const IMMORTAL_NAMESPACES = new Set(["default", "kube-system", "kube-public"]);

export class NamespaceLifecycle implements AdmissionPlugin {
  readonly name = "NamespaceLifecycle";
  private readonly nsKind: KindDef;

  constructor(
    registry: Registry,
    private readonly store: RegistryStore,
    private readonly cache?: WatchCache,
  ) {
    const k = registry.resource("", "v1", "namespaces");
    if (k === undefined) throw new Error("the registry has no namespaces");
    this.nsKind = k;
  }

  /** Updates are not checked: an object being updated is in a namespace that exists. */
  handles(op: Operation): boolean {
    return op === "CREATE" || op === "DELETE";
  }

  private isNamespace(k: KindDef): boolean {
    return k.group === "" && k.kind === "Namespace";
  }

  async admit(a: Attributes): Promise<void> {
    if (a.operation === "DELETE") {
      if (this.isNamespace(a.kind) && IMMORTAL_NAMESPACES.has(a.name))
        throw forbidden(`namespaces "${a.name}" is forbidden: this namespace may not be deleted`);
      return;
    }
    if (this.isNamespace(a.kind) || !a.kind.namespaced) return;
    const name = a.namespace as string;
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
      throw new StatusError(
        403,
        "Forbidden",
        `${a.kind.resource} "${a.name}" is forbidden: unable to create new content in namespace ${name} because it is being terminated`,
        {
          name: a.name,
          group: a.kind.group,
          kind: a.kind.resource,
          causes: [
            {
              reason: "NamespaceTerminating",
              message: `namespace ${name} is being terminated`,
              field: "metadata.namespace",
            },
          ],
        },
      );
  }
}
