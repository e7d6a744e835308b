/**
 * Objects in the store, as kube-apiserver keeps them: `/registry/<resource>/<namespace>/<name>`
 * (cluster-scoped: `/registry/<resource>/<name>`), JSON values, metadata.resourceVersion = the
 * key's mod revision. Writes are transactions comparing revisions, so a create of an existing
 * name is AlreadyExists, an update from a stale resourceVersion is a Conflict, and nothing
 * half-written is ever stored.
 */
import type { KindDef, KubeObject } from "@skiff/api";
import { alreadyExists, expired, notFound, staleUpdate } from "../status.js";
import { type EtcdKV, type Kv, prefixEnd, type WatchCallbacks, type WatchHandle } from "./etcd.js";
import { versioner } from "./versioner.js";

export const REGISTRY = "/registry/";

const expiredContinue = () =>
  expired(
    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
  );

/**
 * Keys an object holds besides its own, written in the same transaction (a Service's cluster IP
 * and node ports under /registry/ranges/...): two objects can never hold the same claim.
 */
export interface Claims {
  add?: string[];
  remove?: string[];
}

/** A claim key another object holds. */
export class ClaimTaken extends Error {
  constructor(readonly claim: string) {
    super(`${claim} is already allocated`);
    this.name = "ClaimTaken";
  }
}

/**
 * A write of another key in the same transaction, only if that key is still at `modRevision`
 * (a ResourceQuota's usage, charged together with the object it counts).
 */
export interface GuardedWrite {
  key: string;
  value: Buffer;
  modRevision: number;
}

/** A guarded key changed since it was read: read again and retry. */
export class GuardChanged extends Error {
  /** The guarded keys of the write that failed. */
  constructor(readonly keys: string[] = []) {
    super("a guarded key changed concurrently");
    this.name = "GuardChanged";
  }
}

export function encodeForStore(obj: KubeObject): Buffer {
  return encodeObject(obj);
}

const absent = (key: string) => ({ key, target: "create" as const, createRevision: 0 });
const claim = (key: string, owner: string) => ({ put: { key, value: Buffer.from(owner) } });

export function objectKey(k: KindDef, namespace: string | undefined, name: string): string {
  return k.namespaced ? `${REGISTRY}${k.resource}/${namespace}/${name}` : `${REGISTRY}${k.resource}/${name}`;
}

/** Every object of a resource (namespace undefined) or of one namespace. */
export function listPrefix(k: KindDef, namespace: string | undefined): string {
  return k.namespaced && namespace !== undefined
    ? `${REGISTRY}${k.resource}/${namespace}/`
    : `${REGISTRY}${k.resource}/`;
}

/** A stored value as an object of kind `k` (converted when `k` shares another kind's storage). */
export function decodeObject(kv: Kv, k?: KindDef): KubeObject {
  const obj = JSON.parse(kv.value.toString("utf8")) as KubeObject;
  obj.metadata.resourceVersion = versioner.storedResourceVersion(kv);
  return k?.storageConversion === undefined ? obj : k.storageConversion.fromStorage(obj);
}

/** An object of kind `k` in its stored form. */
const toStored = (k: KindDef, obj: KubeObject) => k.storageConversion?.toStorage(obj) ?? obj;

function encodeObject(obj: KubeObject): Buffer {
  // apiVersion, kind and metadata come first, so a list can splice the revision in without
  // parsing (rawWithVersion).
  const { apiVersion, kind, metadata, ...rest } = versioner.prepareObjectForStorage(obj);
  return Buffer.from(JSON.stringify({ apiVersion, kind, metadata, ...rest }));
}

/**
 * A stored value as JSON text with metadata.resourceVersion set, without parsing it: the value
 * starts with apiVersion and kind (strings, in which `"metadata":{` cannot occur unescaped), so
 * the first `"metadata":{` is the object's own.
 */
export function rawWithVersion(kv: Kv): string {
  const text = kv.value.toString("utf8");
  const at = text.indexOf('"metadata":{');
  if (at < 0 || text[at + 12] === "}") return JSON.stringify(decodeObject(kv));
  const cut = at + 12;
  const rv = JSON.stringify(versioner.storedResourceVersion(kv));
  return `${text.slice(0, cut)}"resourceVersion":${rv},${text.slice(cut)}`;
}

export interface ListResult {
  items: KubeObject[];
  /** The store revision the list was read at. */
  revision: number;
  /** The last key returned, when more remain (for `continue`). */
  nextKey: string | undefined;
  remaining: number;
}

export class RegistryStore {
  constructor(readonly kv: EtcdKV) {}

  async get(k: KindDef, namespace: string | undefined, name: string): Promise<KubeObject> {
    const r = await this.kv.range(objectKey(k, namespace, name));
    const kv = r.kvs[0];
    if (kv === undefined) throw notFound(k, name);
    return decodeObject(kv, k);
  }

  /** A consistent page: keys from `startKey` at `revision` (0 = latest), at most `limit` (0 = all). */
  async list(
    k: KindDef,
    namespace: string | undefined,
    opts: { limit?: number; startKey?: string; revision?: number } = {},
  ): Promise<ListResult> {
    const p = await this.page(k, namespace, opts);
    return { ...p, items: p.kvs.map((kv) => decodeObject(kv, k)) };
  }

  /** The same page as JSON texts (rawWithVersion), for lists that need no filtering or rendering. */
  async listRaw(
    k: KindDef,
    namespace: string | undefined,
    opts: { limit?: number; startKey?: string; revision?: number } = {},
  ): Promise<{ items: string[]; revision: number; nextKey: string | undefined; remaining: number }> {
    const p = await this.page(k, namespace, opts);
    const raw =
      k.storageConversion === undefined ? rawWithVersion : (kv: Kv) => JSON.stringify(decodeObject(kv, k));
    return { ...p, items: p.kvs.map(raw) };
  }

  private async page(
    k: KindDef,
    namespace: string | undefined,
    opts: { limit?: number; startKey?: string; revision?: number },
  ): Promise<{ kvs: Kv[]; revision: number; nextKey: string | undefined; remaining: number }> {
    const prefix = listPrefix(k, namespace);
    let r: Awaited<ReturnType<EtcdKV["range"]>>;
    try {
      r = await this.kv.range(opts.startKey ?? prefix, {
        end: prefixEnd(prefix),
        limit: opts.limit ?? 0,
        revision: opts.revision ?? 0,
      });
    } catch (e) {
      if (/compacted/.test(String((e as Error).message))) throw expiredContinue();
      throw e;
    }
    const last = r.kvs.at(-1);
    return {
      kvs: r.kvs,
      revision: opts.revision && opts.revision > 0 ? opts.revision : r.revision,
      nextKey: r.more && last !== undefined ? last.key.toString("latin1") : undefined,
      remaining: r.more ? r.count - r.kvs.length : 0,
    };
  }

  /** Stores a new object; AlreadyExists if the key exists. Returns it with its resourceVersion. */
  async create(
    k: KindDef,
    obj: KubeObject,
    opts: { lease?: string; claims?: Claims; guarded?: GuardedWrite[] } = {},
  ): Promise<KubeObject> {
    const key = objectKey(k, obj.metadata.namespace, obj.metadata.name as string);
    const add = opts.claims?.add ?? [];
    const guarded = opts.guarded ?? [];
    const r = await this.kv.txn(
      [
        { key, target: "create", createRevision: 0 },
        ...add.map((c) => absent(c)),
        ...guarded.map((g) => ({ key: g.key, target: "mod" as const, modRevision: g.modRevision })),
      ],
      [
        { put: { key, value: encodeObject(toStored(k, obj)), lease: opts.lease } },
        ...add.map((c) => claim(c, key)),
        ...guarded.map((g) => ({ put: { key: g.key, value: g.value, ignoreLease: true } })),
      ],
      [{ get: { key } }, ...add.map((c) => ({ get: { key: c } }))],
    );
    if (!r.succeeded) {
      if (r.gets[0] !== undefined) throw alreadyExists(k, obj.metadata.name as string);
      const taken = add.find((_, i) => r.gets[i + 1] !== undefined);
      if (taken !== undefined) throw new ClaimTaken(taken);
      throw new GuardChanged(guarded.map((g) => g.key));
    }
    return versioner.withRevision(obj, r.revision);
  }

  /**
   * Replaces an object stored at `modRevision`; Conflict if it changed since, NotFound if gone.
   * `guarded` writes go in the same transaction (GuardChanged if one of them moved).
   */
  async update(
    k: KindDef,
    obj: KubeObject,
    modRevision: number,
    claims: Claims = {},
    guarded: GuardedWrite[] = [],
  ): Promise<KubeObject> {
    const name = obj.metadata.name as string;
    const key = objectKey(k, obj.metadata.namespace, name);
    const add = claims.add ?? [];
    const r = await this.kv.txn(
      [
        { key, target: "mod", modRevision },
        ...add.map((c) => absent(c)),
        ...guarded.map((g) => ({ key: g.key, target: "mod" as const, modRevision: g.modRevision })),
      ],
      [
        // ignore_lease: an object written with a lease (an Event) keeps it across updates.
        { put: { key, value: encodeObject(toStored(k, obj)), ignoreLease: true } },
        ...add.map((c) => claim(c, key)),
        ...(claims.remove ?? []).map((c) => ({ delete: { key: c } })),
        ...guarded.map((g) => ({ put: { key: g.key, value: g.value, ignoreLease: true } })),
      ],
      [{ get: { key } }, ...add.map((c) => ({ get: { key: c } }))],
    );
    if (!r.succeeded) {
      const cur = r.gets[0];
      if (cur === undefined) throw notFound(k, name);
      if (versioner.modRevision(cur) !== modRevision) throw staleUpdate(k, name);
      const taken = add.find((_, i) => r.gets[i + 1] !== undefined);
      if (taken !== undefined) throw new ClaimTaken(taken);
      throw new GuardChanged(guarded.map((g) => g.key));
    }
    return versioner.withRevision(obj, r.revision);
  }

  /** Deletes the object stored at `modRevision` and releases its claims; returns the revision. */
  async delete(
    k: KindDef,
    obj: KubeObject,
    modRevision: number,
    release: string[] = [],
    guarded: GuardedWrite[] = [],
  ): Promise<number> {
    const name = obj.metadata.name as string;
    const key = objectKey(k, obj.metadata.namespace, name);
    const r = await this.kv.txn(
      [
        { key, target: "mod", modRevision },
        ...guarded.map((g) => ({ key: g.key, target: "mod" as const, modRevision: g.modRevision })),
      ],
      [
        { delete: { key } },
        ...release.map((c) => ({ delete: { key: c } })),
        ...guarded.map((g) => ({ put: { key: g.key, value: g.value, ignoreLease: true } })),
      ],
      [{ get: { key } }],
    );
    if (!r.succeeded) {
      const cur = r.gets[0];
      if (cur === undefined) throw notFound(k, name);
      if (versioner.modRevision(cur) !== modRevision) throw staleUpdate(k, name);
      throw new GuardChanged(guarded.map((g) => g.key));
    }
    return r.revision;
  }

  /** Reads a raw key with its mod revision (for guarded writes of other objects). */
  async raw(key: string): Promise<Kv | undefined> {
    return (await this.kv.range(key)).kvs[0];
  }

  watch(k: KindDef, namespace: string | undefined, fromRevision: number, cb: WatchCallbacks): WatchHandle {
    return this.kv.watch(listPrefix(k, namespace), fromRevision, cb);
  }
}
