/**
 * Owner references (kube's metav1.GetControllerOf / NewControllerRef) and the
 * ControllerRefManager's claim (pkg/controller/controller_ref_manager.go): of the objects in the
 * controller's namespace, keep those it owns that still match its selector, adopt orphans that
 * match (unless the controller is being deleted), and release owned ones that no longer match.
 * Adoption and release are strategic merge patches carrying the object's uid, so a patch never
 * lands on a newer object of the same name. Also the controllers' shared resolveControllerRef.
 */
import type { KubeObject, OwnerReference } from "@skiff/api";
import { ApiError, isNotFound, type ResourceClient } from "@skiff/client";

export interface GroupVersionKind {
  apiVersion: string;
  kind: string;
}

/** The owner reference that is the controller's, if any. */
export function getControllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/**
 * Each workload controller's resolveControllerRef: the owner a controller reference names, from
 * the controller's cache (anything keyed `namespace/name`), when the reference is to this kind
 * and still to the same object: a reference to a deleted owner whose name was reused (another
 * uid) resolves to nothing.
 */
export function resolveControllerRef<T extends KubeObject>(
  cache: { get(key: string): T | undefined },
  kind: string,
  namespace: string,
  ref: { kind: string; name: string; uid: string },
): T | undefined {
  if (ref.kind !== kind) return undefined;
  const owner = cache.get(`${namespace}/${ref.name}`);
  return owner?.metadata.uid === ref.uid ? owner : undefined;
}

/** kube's NewControllerRef: controller and blockOwnerDeletion true. */
export function newControllerRef(owner: KubeObject, gvk: GroupVersionKind): OwnerReference {
  return {
    apiVersion: gvk.apiVersion,
    kind: gvk.kind,
    name: owner.metadata.name as string,
    uid: owner.metadata.uid as string,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export interface ClaimOptions<T extends KubeObject> {
  /** The controller (from the cache). */
  controller: KubeObject;
  gvk: GroupVersionKind;
  /** Whether an object matches the controller's selector. */
  match(obj: T): boolean;
  /** Where adopt/release patches go (the objects' resource in their namespace). */
  client(namespace: string): ResourceClient<T>;
  /**
   * kube's canAdopt: a fresh read of the controller (not from the cache), refusing adoption if it
   * is gone, has another uid, or is being deleted. Called at most once per claim.
   */
  canAdopt(): Promise<void>;
  /**
   * Finalizers an adopted object gets and a released one loses, in the same patch (the
   * ControllerRefManager's finalizers: the Job's batch.kubernetes.io/job-tracking).
   */
  finalizers?: readonly string[];
}

/**
 * Claims the objects for the controller: returns those it owns after adoption and release.
 * Errors other than NotFound on a single object are thrown after the others are processed.
 */
export async function claimObjects<T extends KubeObject>(
  objs: readonly T[],
  o: ClaimOptions<T>,
): Promise<T[]> {
  const uid = o.controller.metadata.uid;
  const claimed: T[] = [];
  const errors: unknown[] = [];
  let adoptable: Promise<void> | undefined;
  for (const obj of objs) {
    const ref = getControllerOf(obj);
    try {
      if (ref !== undefined) {
        if (ref.uid !== uid) continue; // someone else's
        if (o.match(obj)) {
          claimed.push(obj);
          continue;
        }
        // Owned but no longer matching: release it (unless the controller is going away anyway).
        if (o.controller.metadata.deletionTimestamp !== undefined) continue;
        await releaseObject(obj, uid as string, o);
        continue;
      }
      // An orphan: adopt it if it matches and is not being deleted.
      if (o.controller.metadata.deletionTimestamp !== undefined || !o.match(obj)) continue;
      if (obj.metadata.deletionTimestamp !== undefined) continue;
      adoptable ??= o.canAdopt();
      await adoptable;
      const adopted = await adoptObject(obj, o);
      if (adopted !== undefined) claimed.push(adopted);
    } catch (e) {
      if (!isNotFound(e)) errors.push(e);
    }
  }
  if (errors.length > 0) throw errors[0];
  return claimed;
}

async function adoptObject<T extends KubeObject>(obj: T, o: ClaimOptions<T>): Promise<T | undefined> {
  const ref = newControllerRef(o.controller, o.gvk);
  const fin = o.finalizers ?? [];
  const patch = {
    metadata: {
      ownerReferences: [ref],
      uid: obj.metadata.uid,
      ...(fin.length > 0 ? { finalizers: fin } : {}),
    },
  };
  try {
    return await o
      .client(obj.metadata.namespace ?? "")
      .patch(obj.metadata.name as string, patch, "strategic");
  } catch (e) {
    if (isNotFound(e)) return undefined; // gone meanwhile: nothing to own
    throw e;
  }
}

async function releaseObject<T extends KubeObject>(
  obj: T,
  ownerUid: string,
  o: ClaimOptions<T>,
): Promise<void> {
  const fin = o.finalizers ?? [];
  const patch = {
    metadata: {
      ownerReferences: [{ $patch: "delete", uid: ownerUid }],
      uid: obj.metadata.uid,
      ...(fin.length > 0 ? { "$deleteFromPrimitiveList/finalizers": fin } : {}),
    },
  };
  try {
    await o.client(obj.metadata.namespace ?? "").patch(obj.metadata.name as string, patch, "strategic");
  } catch (e) {
    // Gone, or a newer object with that name (uid precondition, 422): nothing left to release.
    if (isNotFound(e) || (e instanceof ApiError && e.status === 422)) return;
    throw e;
  }
}

/**
 * kube's RecheckDeletionTimestamp-based canAdopt: reads the controller fresh and refuses adoption
 * if it is gone, was replaced (other uid) or is being deleted.
 */
export function recheckController(
  get: () => Promise<KubeObject>,
  controller: KubeObject,
): () => Promise<void> {
  return async () => {
    const fresh = await get();
    if (fresh.metadata.uid !== controller.metadata.uid)
      throw new Error(
        `original ${controller.metadata.namespace}/${controller.metadata.name} is gone: got uid ${fresh.metadata.uid}, wanted ${controller.metadata.uid}`,
      );
    if (fresh.metadata.deletionTimestamp !== undefined)
      throw new Error(`${controller.metadata.namespace}/${controller.metadata.name} has just been deleted`);
  };
}
