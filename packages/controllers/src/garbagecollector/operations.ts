/**
 * The garbage collector's API calls (kube's garbagecollector/operations.go and patch.go): every
 * read and write goes through the metadata client, to the resource the REST mapper names for the
 * node's apiVersion and kind, in the node's namespace when the kind is namespaced.
 */
import type { OwnerReference } from "@skiff/api";
import {
  type ClientInterface,
  type DeleteOptions,
  isConflict,
  isNotFound,
  type PartialObjectMetadata,
  type PatchType,
  type ResourceClient,
} from "@skiff/client";
import type { RestMapper } from "./discovery.js";
import { NamespacedOwnerOfClusterScopedObject } from "./errors.js";
import type { GraphNode, ObjectReference } from "./graph.js";

export type Propagation = NonNullable<DeleteOptions["propagationPolicy"]>;

/** A JSON merge patch built from the live object, when strategic merge patch is refused. */
export type JsonMergePatcher = (n: GraphNode) => Promise<unknown>;

/** client-go's retry.DefaultBackoff for conflicts: 4 tries, 10 ms growing fivefold. */
const CONFLICT_RETRY_DELAYS_MS = [10, 50, 250];

const isUnsupportedMediaType = (e: unknown) =>
  typeof e === "object" && e !== null && (e as { status?: unknown }).status === 415;

export class Operations {
  constructor(
    private readonly client: ClientInterface,
    private readonly mapper: () => RestMapper,
    private readonly sleep: (ms: number) => Promise<unknown>,
  ) {}

  /** kube's apiResource + resourceDefaultNamespace: the metadata client for an identity. */
  private resourceClient(item: ObjectReference): ResourceClient<PartialObjectMetadata> {
    const { resource, namespaced } = this.mapper().resourceFor(item.apiVersion, item.kind);
    return this.client.metadata(item.apiVersion, resource, namespaced ? item.namespace : undefined);
  }

  /** Whether the kind of a reference is namespaced (throws RestMappingError when unknown). */
  namespaced(apiVersion: string, kind: string): boolean {
    return this.mapper().resourceFor(apiVersion, kind).namespaced;
  }

  /**
   * kube's getObject. A namespaced kind without a namespace can only be a cluster-scoped object's
   * owner, which is invalid: the marker error, never a GET across namespaces.
   */
  async getObject(item: ObjectReference): Promise<PartialObjectMetadata> {
    if (item.namespace === "" && this.namespaced(item.apiVersion, item.kind))
      throw new NamespacedOwnerOfClusterScopedObject();
    return this.resourceClient(item).get(item.name);
  }

  /** An owner (reference coordinates) in the namespace it would be in. */
  getOwner(ref: OwnerReference, namespace: string): Promise<PartialObjectMetadata> {
    return this.getObject({ ...ref, namespace });
  }

  patchObject(item: ObjectReference, patch: unknown, type: PatchType): Promise<PartialObjectMetadata> {
    return this.resourceClient(item).patch(item.name, patch, type);
  }

  /**
   * kube's deleteObject: preconditions on uid and (when known) resourceVersion. If the object
   * changed since it was read but its ownerReferences did not, the delete is retried without
   * the resourceVersion; a changed object or ownerReferences means the caller reprocesses it.
   */
  async deleteObject(
    item: ObjectReference,
    resourceVersion: string | undefined,
    ownersAtResourceVersion: readonly OwnerReference[] | undefined,
    policy: Propagation,
  ): Promise<void> {
    const rc = this.resourceClient(item);
    const preconditions: { uid: string; resourceVersion?: string } = { uid: item.uid };
    if (resourceVersion !== undefined && resourceVersion !== "")
      preconditions.resourceVersion = resourceVersion;
    try {
      await rc.delete(item.name, { preconditions, propagationPolicy: policy });
    } catch (e) {
      if (!isConflict(e) || preconditions.resourceVersion === undefined) throw e;
      let live: PartialObjectMetadata;
      try {
        live = await rc.get(item.name);
      } catch (liveErr) {
        if (isNotFound(liveErr)) return; // gone: what we wanted
        throw e;
      }
      if (live.metadata.uid !== item.uid) return;
      if (!sameOwnerReferences(live.metadata.ownerReferences, ownersAtResourceVersion)) throw e;
      await rc.delete(item.name, { preconditions: { uid: item.uid }, propagationPolicy: policy });
    }
  }

  /**
   * kube's patch: a strategic merge patch, or, where the server does not take one (a 415, as
   * for custom resources), the JSON merge patch `jmp` computes from the live object.
   */
  async patch(item: GraphNode, smp: unknown, jmp: JsonMergePatcher): Promise<PartialObjectMetadata> {
    try {
      return await this.patchObject(item.identity, smp, "strategic");
    } catch (e) {
      if (!isUnsupportedMediaType(e)) throw e;
    }
    return this.patchObject(item.identity, await jmp(item), "merge");
  }

  /** kube's deleteOwnerRefJSONMergePatch: the live ownerReferences less those of these uids. */
  async deleteOwnerRefJsonMergePatch(item: GraphNode, ownerUids: readonly string[]): Promise<unknown> {
    const live = await this.getObject(item.identity);
    const refs = (live.metadata.ownerReferences ?? []).filter((r) => !ownerUids.includes(r.uid));
    return { metadata: { resourceVersion: live.metadata.resourceVersion, ownerReferences: refs } };
  }

  /** kube's unblockOwnerReferencesJSONMergePatch: every blocking reference made non-blocking. */
  async unblockOwnerReferencesJsonMergePatch(item: GraphNode): Promise<unknown> {
    const live = await this.getObject(item.identity);
    const refs = (live.metadata.ownerReferences ?? []).map((r) =>
      r.blockOwnerDeletion === true ? { ...r, blockOwnerDeletion: false } : r,
    );
    return { metadata: { resourceVersion: live.metadata.resourceVersion, ownerReferences: refs } };
  }

  /**
   * kube's removeFinalizer: read the owner, drop one finalizer with a JSON merge patch carrying
   * the resourceVersion read (so a concurrent change is a conflict), retried on conflict. An
   * owner already gone, or without the finalizer, is done.
   */
  async removeFinalizer(owner: GraphNode, finalizer: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let live: PartialObjectMetadata;
      try {
        live = await this.getObject(owner.identity);
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
      if (live.metadata.uid !== owner.identity.uid) return;
      const finalizers = live.metadata.finalizers ?? [];
      if (!finalizers.includes(finalizer)) return;
      const patch = {
        metadata: {
          resourceVersion: live.metadata.resourceVersion,
          finalizers: finalizers.filter((f) => f !== finalizer),
        },
      };
      try {
        await this.patchObject(owner.identity, patch, "merge");
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        const delay = CONFLICT_RETRY_DELAYS_MS[attempt];
        if (!isConflict(e)) throw e;
        if (delay === undefined)
          throw new Error(
            `updateMaxRetries(${attempt + 1}) has reached. The garbage collector will retry later for owner ${owner}`,
          );
        await this.sleep(delay);
      }
    }
  }
}

/**
 * kube's GenerateDeleteOwnerRefStrategicMergeBytes: `$patch: delete` of each owner's reference
 * (ownerReferences merge on uid), conditional on the dependent's uid.
 */
export function deleteOwnerRefStrategicMergePatch(
  dependentUid: string,
  ownerUids: readonly string[],
): unknown {
  return {
    metadata: {
      ownerReferences: ownerUids.map((uid) => ({ $patch: "delete", uid })),
      uid: dependentUid,
    },
  };
}

function sameOwnerReferences(
  a: readonly OwnerReference[] | undefined,
  b: readonly OwnerReference[] | undefined,
): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return (
    x.length === y.length &&
    x.every((r, i) => {
      const s = y[i] as OwnerReference;
      return (
        r.uid === s.uid &&
        r.name === s.name &&
        r.kind === s.kind &&
        r.apiVersion === s.apiVersion &&
        r.controller === s.controller &&
        r.blockOwnerDeletion === s.blockOwnerDeletion
      );
    })
  );
}
