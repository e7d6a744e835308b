/**
 * How the verb handlers write objects (kube's rest.Creater, rest.Updater, rest.GracefulDeleter,
 * and genericregistry.Store in k8s.io/apiserver/pkg/registry/generic/registry/store.go, which
 * implements them for most kinds). A kind with special storage needs supplies a Strategy (its
 * hooks) or its own ResourceStorage (as kube's pkg/registry/core/<kind>/storage do); the handlers
 * never branch on the kind.
 */
import { type KindDef, type KubeObject, metav1Time } from "@skiff/api";
import { type StatusError, staleUpdate } from "../status.js";
import {
  type Claims,
  GuardChanged,
  type GuardedWrite,
  REGISTRY,
  type RegistryStore,
} from "../storage/registry-store.js";
import { versioner } from "../storage/versioner.js";
import type { WatchCache } from "../storage/watch-cache.js";
import type { QuotaUsage } from "./quota-usage.js";
import type { Strategy } from "./strategy.js";

/** metav1.DeleteOptions, the fields Skiff honours. */
export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

/**
 * Validating admission, run by the storage right before it writes (kube: rest.ValidateObjectFunc).
 * Returns the other keys to write in the same transaction (a quota's usage).
 */
export type ValidateObjectFunc = () => Promise<GuardedWrite[]>;

export interface WriteOptions {
  dryRun: boolean;
  validate: ValidateObjectFunc;
}

export interface ResourceStorage {
  /** Stores a new object; returns it with its resourceVersion. */
  create(obj: KubeObject, o: WriteOptions): Promise<KubeObject>;
  /** Replaces `old`, expected at revision `expected` (Conflict otherwise). */
  update(next: KubeObject, old: KubeObject, expected: number, o: WriteOptions): Promise<KubeObject>;
  /** Deletes `old`, or marks it for deletion (finalizers, a grace period); returns what the client gets. */
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

/** How often a write is tried again while a guarded key (a quota) changes under it. */
export const GUARD_RETRIES = 20;

/**
 * Runs `f` again while a guarded key (a quota) changed under it. A write that still loses gets
 * the Conflict kube's quota admission answers when its quota update keeps conflicting.
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

/** Deletes carry no guarded writes of admission: a plugin asking for one is a bug, not a no-op. */
function assertNoWrites(writes: GuardedWrite[], op: string): void {
  if (writes.length > 0) throw new Error(`admission asked for guarded writes on ${op}, which stores none`);
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
      return this.strategy.create !== undefined
        ? this.strategy.create(store, this.kind, obj, guarded)
        : store.create(this.kind, obj, { lease, guarded });
    });
    cache?.observe(this.kind, stored);
    return stored;
  }

  async update(next: KubeObject, old: KubeObject, expected: number, o: WriteOptions): Promise<KubeObject> {
    const { store, cache } = this.deps;
    if (o.dryRun) {
      await o.validate();
      return next;
    }
    let claims: Claims | undefined;
    let stored: KubeObject;
    try {
      // Usage an update takes (a Service turned NodePort) is written in the same transaction.
      stored = await withGuards(async () => {
        const guarded = await o.validate();
        claims ??= this.strategy.beginUpdate?.(this.kind, next, old) ?? {};
        return store.update(this.kind, next, expected, claims, guarded);
      });
    } catch (e) {
      throw this.strategy.updateError?.(this.kind, next, e) ?? e;
    }
    cache?.observe(this.kind, stored);
    // An object whose last finalizer was just removed goes away (kube: deleteWithoutFinalizers).
    if (next.metadata.deletionTimestamp !== undefined && (next.metadata.finalizers ?? []).length === 0)
      await this.deleteStored(stored);
    return stored;
  }

  async delete(old: KubeObject, opts: DeleteOptions, o: Omit<WriteOptions, "dryRun">): Promise<KubeObject> {
    assertNoWrites(await o.validate(), "delete");
    const dry = opts.dryRun?.includes("All") === true;
    const finalizers = [...(old.metadata.finalizers ?? [])];
    if (opts.propagationPolicy === "Foreground" && !finalizers.includes("foregroundDeletion"))
      finalizers.push("foregroundDeletion");
    // Graceful deletion: an object with finalizers waits for them, a bound pod for its kubelet.
    const grace = this.strategy.gracePeriodSeconds?.(old, opts) ?? 0;
    if (finalizers.length > 0 || grace > 0) {
      if (old.metadata.deletionTimestamp !== undefined) return old;
      const next: KubeObject = {
        ...old,
        metadata: {
          ...old.metadata,
          finalizers: finalizers.length > 0 ? finalizers : undefined,
          deletionTimestamp: metav1Time(this.deps.now()),
          deletionGracePeriodSeconds: grace,
        },
      };
      if (dry) return next;
      return this.deps.store.update(this.kind, next, versioner.objectResourceVersion(old));
    }
    if (!dry) await this.deleteStored(old);
    return old;
  }

  /** Removes a stored object, releasing its claims and giving its quota usage back. */
  protected async deleteStored(obj: KubeObject): Promise<void> {
    const { store, cache, quotaUsage } = this.deps;
    const release = this.strategy.releasedOnDelete?.(obj) ?? [];
    // Usage goes back in the same transaction; a delete never fails on quota (kube gives usage
    // back in its quota controller only): the last try goes without, and the controller, which
    // sees the delete, recalculates.
    const revision = await withGuards(async (lastTry) =>
      store.delete(
        this.kind,
        obj,
        versioner.objectResourceVersion(obj),
        release,
        lastTry ? [] : await quotaUsage.release(this.kind, obj),
      ),
    );
    cache?.observe(this.kind, obj, revision);
  }
}
