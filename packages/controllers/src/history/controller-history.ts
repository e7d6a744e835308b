/**
 * kube's pkg/controller/history: the ControllerRevisions that record a controller's templates
 * (DaemonSet, StatefulSet). A revision is named `<owner>-<hash>` with the hash of its data and the
 * owner's collision count, so the same template always lands on the same name; when a different
 * revision already holds that name, the collision count is raised and the name changes. Revisions
 * are numbered: the newest has the largest number, and rolling back to an older template renumbers
 * its revision instead of creating a new one.
 */
import type { KubeObject } from "@skiff/api";
import {
  ApiError,
  type ClientInterface,
  cloneObject,
  isAlreadyExists,
  isConflict,
  isNotFound,
  type Lister,
  type ResourceClient,
  type Selector,
} from "@skiff/client";
import { type GroupVersionKind, getControllerOf, newControllerRef } from "../util/controller-ref.js";
import { canonicalJson, fnv32, safeEncodeString } from "../util/hash.js";
import type { ControllerRevision, TemplatePatch } from "./types.js";

/** history.ControllerRevisionHashLabel: the hash of a revision's data. */
export const CONTROLLER_REVISION_HASH_LABEL = "controller.kubernetes.io/hash";

/** How many names CreateControllerRevision tries before giving up (kube loops without bound). */
const MAX_CREATE_ATTEMPTS = 100;
/** Conflicts UpdateControllerRevision retries (retry.DefaultBackoff's 5 steps). */
const MAX_UPDATE_ATTEMPTS = 5;

/**
 * The data of a DaemonSet's and a StatefulSet's revisions (each controller's getPatch): a
 * strategic merge patch whose `$patch: replace` puts back the whole spec.template, which is what
 * `kubectl rollout undo` applies.
 */
export function getTemplatePatch(template: object): TemplatePatch {
  return { spec: { template: { ...cloneObject(template as Record<string, unknown>), $patch: "replace" } } };
}

/** history.ControllerRevisionName: prefix-hash, the prefix cut to 223 bytes (names are <= 253). */
export function controllerRevisionName(prefix: string, hash: string): string {
  return `${prefix.length > 223 ? prefix.slice(0, 223) : prefix}-${hash}`;
}

const utf8 = new TextEncoder();

/**
 * history.HashControllerRevision of a revision's data: FNV-1 of its canonical JSON bytes, then
 * the probe (the collision count) in decimal when set.
 */
export function hashControllerRevisionData(data: unknown, probe?: number): string {
  let h = fnv32(utf8.encode(canonicalJson(data)));
  if (probe !== undefined) h = fnv32(utf8.encode(String(probe)), h);
  return safeEncodeString(String(h));
}

/** history.HashControllerRevision. */
export function hashControllerRevision(revision: ControllerRevision, probe?: number): string {
  return hashControllerRevisionData(revision.data, probe);
}

/**
 * history.NewControllerRevision: owned by parent (a controller reference), labelled with the
 * template's labels and the hash label, named from the hash of data and collisionCount.
 */
export function newControllerRevision(
  parent: KubeObject,
  gvk: GroupVersionKind,
  templateLabels: Readonly<Record<string, string>> | undefined,
  data: unknown,
  revision: number,
  collisionCount: number,
): ControllerRevision {
  const cr: ControllerRevision = {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: {
      namespace: parent.metadata.namespace as string,
      labels: { ...templateLabels },
      ownerReferences: [newControllerRef(parent, gvk)],
    },
    data,
    revision,
  };
  const hash = hashControllerRevision(cr, collisionCount);
  cr.metadata.name = controllerRevisionName(parent.metadata.name as string, hash);
  (cr.metadata.labels as Record<string, string>)[CONTROLLER_REVISION_HASH_LABEL] = hash;
  return cr;
}

/** history.SortControllerRevisions (a sorted copy): by revision, then creation time, then name. */
export function sortControllerRevisions(revisions: readonly ControllerRevision[]): ControllerRevision[] {
  return [...revisions].sort((a, b) => {
    if (a.revision !== b.revision) return a.revision - b.revision;
    const ta = a.metadata.creationTimestamp ?? "";
    const tb = b.metadata.creationTimestamp ?? "";
    if (ta !== tb) return Date.parse(ta) - Date.parse(tb);
    return (a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1;
  });
}

/**
 * history.EqualRevision: both absent, or the same data. Hash labels that are both integers and
 * differ settle it at once (kube parses them with ParseInt; encoded hashes rarely parse).
 */
export function equalRevision(a: ControllerRevision | undefined, b: ControllerRevision | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const ha = a.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
  const hb = b.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
  const isInt = (s: string | undefined) => s !== undefined && /^-?\d+$/.test(s);
  if (isInt(ha) && isInt(hb) && Number(ha) !== Number(hb)) return false;
  return canonicalJson(a.data ?? null) === canonicalJson(b.data ?? null);
}

/** history.FindEqualRevisions: those equal to needle, in the given order. */
export function findEqualRevisions(
  revisions: readonly ControllerRevision[],
  needle: ControllerRevision,
): ControllerRevision[] {
  return revisions.filter((r) => equalRevision(r, needle));
}

/** nextRevision (statefulset): one more than the largest revision of a sorted list; 1 when empty. */
export function nextRevision(sorted: readonly ControllerRevision[]): number {
  const last = sorted[sorted.length - 1];
  return last === undefined ? 1 : last.revision + 1;
}

/**
 * The StatefulSet's truncateHistory rule: of the revisions (sorted oldest first) that are not
 * live (current, update, or some pod's), all but the newest `limit` are to be deleted.
 */
export function revisionsToTruncate(
  sorted: readonly ControllerRevision[],
  live: ReadonlySet<string>,
  limit: number,
): ControllerRevision[] {
  const history = sorted.filter((r) => !live.has(r.metadata.name ?? ""));
  if (limit < 0 || history.length <= limit) return [];
  return history.slice(0, history.length - limit);
}

/** history.Interface's realHistory: writes through the client, reads through the lister. */
export class History {
  constructor(
    private readonly client: ClientInterface,
    private readonly lister: Lister<ControllerRevision>,
  ) {}

  private revisions(namespace: string): ResourceClient<ControllerRevision> {
    return this.client.resource<ControllerRevision>("apps/v1", "controllerrevisions", namespace);
  }

  /** ListControllerRevisions: those in parent's namespace matching selector, owned by parent or by no controller. */
  listControllerRevisions(parent: KubeObject, selector: Selector): ControllerRevision[] {
    return this.lister
      .namespace(parent.metadata.namespace ?? "")
      .list(selector)
      .filter((r) => {
        const ref = getControllerOf(r);
        return ref === undefined || ref.uid === parent.metadata.uid;
      });
  }

  /**
   * CreateControllerRevision: creates revision under the name its hash and collisionCount give;
   * a name held by a revision with the same data is that revision; one held by other data raises
   * the collision count and tries the next name. Returns the revision and the final count.
   */
  async createControllerRevision(
    parent: KubeObject,
    revision: ControllerRevision,
    collisionCount: number,
  ): Promise<{ revision: ControllerRevision; collisionCount: number }> {
    const ns = parent.metadata.namespace as string;
    const clone = cloneObject(revision);
    clone.metadata.namespace = ns;
    for (let attempt = 0; attempt < MAX_CREATE_ATTEMPTS; attempt++) {
      const hash = hashControllerRevision(revision, collisionCount);
      clone.metadata.name = controllerRevisionName(parent.metadata.name as string, hash);
      try {
        return { revision: await this.revisions(ns).create(clone), collisionCount };
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        const exists = await this.revisions(ns).get(clone.metadata.name);
        if (canonicalJson(exists.data ?? null) === canonicalJson(clone.data ?? null))
          return { revision: exists, collisionCount };
        collisionCount++;
      }
    }
    throw new Error(
      `no free ControllerRevision name for ${ns}/${parent.metadata.name} after ${MAX_CREATE_ATTEMPTS} collisions`,
    );
  }

  /** UpdateControllerRevision: sets its revision number, retrying conflicts on a fresh read. */
  async updateControllerRevision(
    revision: ControllerRevision,
    newRevision: number,
  ): Promise<ControllerRevision> {
    let clone = cloneObject(revision);
    const ns = clone.metadata.namespace as string;
    for (let attempt = 0; ; attempt++) {
      if (clone.revision === newRevision) return clone;
      clone.revision = newRevision;
      try {
        return await this.revisions(ns).update(clone);
      } catch (e) {
        if (!isConflict(e) || attempt + 1 >= MAX_UPDATE_ATTEMPTS) throw e;
        clone = await this.revisions(ns).get(clone.metadata.name as string);
      }
    }
  }

  async deleteControllerRevision(revision: ControllerRevision): Promise<void> {
    await this.revisions(revision.metadata.namespace as string).delete(revision.metadata.name as string);
  }

  /** AdoptControllerRevision: a strategic merge patch adding parent's controller reference (uid-guarded). */
  async adoptControllerRevision(
    parent: KubeObject,
    gvk: GroupVersionKind,
    revision: ControllerRevision,
  ): Promise<ControllerRevision> {
    const owner = getControllerOf(revision);
    if (owner !== undefined)
      throw new Error(`attempt to adopt revision owned by ${owner.kind}/${owner.name}`);
    const patch = {
      metadata: { ownerReferences: [newControllerRef(parent, gvk)], uid: revision.metadata.uid },
    };
    return this.revisions(parent.metadata.namespace as string).patch(
      revision.metadata.name as string,
      patch,
      "strategic",
    );
  }

  /** ReleaseControllerRevision: removes parent's reference; gone or no longer owned is fine. */
  async releaseControllerRevision(
    parent: KubeObject,
    revision: ControllerRevision,
  ): Promise<ControllerRevision | undefined> {
    const patch = {
      metadata: {
        ownerReferences: [{ $patch: "delete", uid: parent.metadata.uid }],
        uid: revision.metadata.uid,
      },
    };
    try {
      return await this.revisions(revision.metadata.namespace as string).patch(
        revision.metadata.name as string,
        patch,
        "strategic",
      );
    } catch (e) {
      if (isNotFound(e) || (e instanceof ApiError && e.status === 422)) return undefined;
      throw e;
    }
  }
}
