/**
 * How the verb handlers write objects (kube's rest.Creater, rest.Updater, rest.GracefulDeleter,
 * and genericregistry.Store in k8s.io/apiserver/pkg/registry/generic/registry/store.go, which
 * implements them for most kinds). A kind with special storage needs supplies a Strategy (its
 * hooks) or its own ResourceStorage (as kube's pkg/registry/core/<kind>/storage do); the handlers
 * never branch on the kind.
 */
import type { KindDef, KubeObject } from "@skiff/api";
import { StatusError, staleUpdate } from "../status.js";
import { GuardChanged, type GuardedWrite, REGISTRY, type RegistryStore } from "../storage/registry-store.js";
import { versioner } from "../storage/versioner.js";
import type { WatchCache } from "../storage/watch-cache.js";
import { planDelete, shouldDeleteDuringUpdate } from "./graceful.js";
import { isNoOpUpdate } from "./noop.js";
import type { QuotaUsage } from "./quota-usage.js";
import { RETURNS_DELETED_OBJECT, type Strategy } from "./strategy.js";

/** metav1.DeleteOptions, the fields Skiff honours. */
export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  /** Deprecated (kube 1.7): true is Orphan, false is the kind's default; not with propagationPolicy. */
  orphanDependents?: boolean | null;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

/**
 * Validating admission, run by the storage right before it writes (kube: rest.ValidateObjectFunc).
 * Returns the other keys to write in the same transaction (a quota's usage, a PDB's status).
 */
export type ValidateObjectFunc = () => Promise<GuardedWrite[]>;

export interface WriteOptions {
  dryRun: boolean;
  validate: ValidateObjectFunc;
}

export interface ResourceStorage {
  /** Stores a new object; returns it with its resourceVersion. */
  create(obj: KubeObject, o: WriteOptions): Promise<KubeObject>;
  /**
   * Replaces `old`, expected at revision `expected` (Conflict otherwise). An update that changes
   * nothing writes nothing and returns `old`.
   */
  update(next: KubeObject, old: KubeObject, expected: number, o: WriteOptions): Promise<KubeObject>;
  /**
   * Deletes `old`, or marks it for deletion (finalizers, a grace period); returns what the client
   * gets: the object, or a Status Success for kinds that do not return deleted objects.
   */
  delete(old: KubeObject, opts: DeleteOptions, o: Omit<WriteOptions, "dryRun">): Promise<KubeObject>;
  /** Whether DELETE on the collection is served (kube: rest.CollectionDeleter). */
  readonly collectionDeleter: boolean;
}

export interface StoreDeps {
  store: RegistryStore;
  cache: WatchCache | undefined;
  quotaUsage: QuotaUsage;
  now: () => Date;
}

/** How often a write is tried again while a guarded key (a quota, a PDB) changes under it. */
export const GUARD_RETRIES = 20;

/**
 * Runs `f` again while a guarded key (a quota, a PDB) changed under it. A write that still loses
 * gets the Conflict kube's quota admission answers when its quota update keeps conflicting.
 */
async function withGuards<T>(f: (lastTry: boolean) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await f(attempt === GUARD_RETRIES);
    } catch (e) {
      if (!(e instanceof GuardChanged)) throw e;
      if (attempt >= GUARD_RETRIES) throw guardConflict(e);
    }
  }
}

/** `Operation cannot be fulfilled on resourcequotas "q": the object has been modified; ...`. */
function guardConflict(e: GuardChanged): StatusError {
  const parts = (e.keys[0] ?? "").slice(REGISTRY.length).split("/");
  return staleUpdate({ resource: parts[0] || "resourcequotas", group: "" }, parts.at(-1) ?? "");
}

/**
 * The store refuses values over its request limit (etcd: 1.5 MiB, "etcdserver: request is too
 * large"): a 413 the client can act on, not a 500.
 */
async function mapTooLarge<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (!(e instanceof StatusError) && /request is too large/.test(String((e as Error)?.message)))
      throw new StatusError(
        413,
        "RequestEntityTooLarge",
        "Request entity too large: etcdserver: request is too large",
      );
    throw e;
  }
}

export class GenericStore implements ResourceStorage {
  readonly collectionDeleter: boolean = true;

  constructor(
    readonly kind: KindDef,
    protected readonly deps: StoreDeps,
    protected readonly strategy: Strategy = {},
  ) {}

  async create(obj: KubeObject, o: WriteOptions): Promise<KubeObject> {
    const { store, cache } = this.deps;
    this.strategy.canonicalize?.(obj);
    if (o.dryRun) {
      await o.validate();
      return obj;
    }
    const lease = await this.strategy.lease?.();
    // Usage charged by admission is written in the same transaction; a concurrent charge makes
    // validation run again on the new usage.
    const stored = await withGuards(async () => {
      const guarded = await o.validate();
      return mapTooLarge(() =>
        this.strategy.create !== undefined
          ? this.strategy.create(store, this.kind, obj, guarded)
          : store.create(this.kind, obj, { lease, guarded }),
      );
    });
    cache?.observe(this.kind, stored);
    return stored;
  }

  async update(next: KubeObject, old: KubeObject, expected: number, o: WriteOptions): Promise<KubeObject> {
    const { store, cache } = this.deps;
    return withGuards(async () => {
      const guarded = await o.validate();
      // A terminating object without finalizers whose grace period is over goes (kube: Update
      // with ShouldDeleteDuringUpdate); the deleted object is the answer.
      if (shouldDeleteDuringUpdate(next) && old.metadata.deletionTimestamp !== undefined) {
        if (!o.dryRun)
          await this.deleteStored({ ...next, metadata: { ...next.metadata } }, expected, guarded);
        return next;
      }
      // A stale resourceVersion is a conflict even when nothing would change (kube checks it first).
      if (expected !== versioner.objectResourceVersion(old))
        throw staleUpdate(this.kind, old.metadata.name as string);
      if (isNoOpUpdate(next, old)) return old;
      if (o.dryRun) return next;
      const claims = this.strategy.beginUpdate?.(this.kind, next, old) ?? {};
      let stored: KubeObject;
      try {
        stored = await mapTooLarge(() => store.update(this.kind, next, expected, claims, guarded));
      } catch (e) {
        throw this.strategy.updateError?.(this.kind, next, e) ?? e;
      }
      cache?.observe(this.kind, stored);
      return stored;
    });
  }

  async delete(old: KubeObject, opts: DeleteOptions, o: Omit<WriteOptions, "dryRun">): Promise<KubeObject> {
    const dry = opts.dryRun?.includes("All") === true;
    return withGuards(async () => {
      const guarded = await o.validate();
      const plan = planDelete(this.strategy, old, opts, this.deps.now());
      if (plan.pending) return this.finalizeDelete(old);
      if (plan.deleteNow) {
        if (!dry) await this.deleteStored(old, versioner.objectResourceVersion(old), guarded);
        return this.finalizeDelete(old);
      }
      const marked = plan.marked as KubeObject;
      if (dry) return marked;
      const stored = await this.deps.store.update(
        this.kind,
        marked,
        versioner.objectResourceVersion(old),
        {},
        guarded,
      );
      this.deps.cache?.observe(this.kind, stored);
      return stored;
    });
  }

  /**
   * What a DELETE that removed the object answers (kube: Store.finalizeDelete): the object, or a
   * Status naming it for kinds whose storage does not return deleted objects.
   */
  protected finalizeDelete(obj: KubeObject): KubeObject {
    const k = this.kind;
    const gk = k.group === "" ? k.kind : `${k.kind}.${k.group}`;
    if (this.strategy.returnDeletedObject ?? RETURNS_DELETED_OBJECT.has(gk)) return obj;
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: {
        name: obj.metadata.name,
        ...(k.group === "" ? {} : { group: k.group }),
        kind: k.resource,
        uid: obj.metadata.uid,
      },
    } as unknown as KubeObject;
  }

  /** Removes a stored object, releasing its claims and giving its quota usage back. */
  protected async deleteStored(
    obj: KubeObject,
    modRevision = versioner.objectResourceVersion(obj),
    guarded: GuardedWrite[] = [],
  ): Promise<void> {
    const { store, cache, quotaUsage } = this.deps;
    const release = this.strategy.releasedOnDelete?.(obj) ?? [];
    // Usage goes back in the same transaction. A delete never fails on quota (kube gives usage back
    // in its quota controller only): the last try goes without, and the controller, which sees the
    // delete, recalculates.
    const attempt = async (lastTry: boolean) =>
      store.delete(this.kind, obj, modRevision, release, [
        ...guarded,
        ...(lastTry ? [] : await quotaUsage.release(this.kind, obj)),
      ]);
    // With the caller's guarded writes, a changed guard goes back to the caller (to check again).
    const revision = guarded.length > 0 ? await attempt(false) : await withGuards(attempt);
    cache?.observe(this.kind, obj, revision);
  }
}
