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

export const REGISTRY = "/registry/";

export function objectKey(k: KindDef, namespace: string | undefined, name: string): string {
  return k.namespaced ? `${REGISTRY}${k.resource}/${namespace}/${name}` : `${REGISTRY}${k.resource}/${name}`;
}

/** Every object of a resource (namespace undefined) or of one namespace. */
export function listPrefix(k: KindDef, namespace: string | undefined): string {
  return k.namespaced && namespace !== undefined
    ? `${REGISTRY}${k.resource}/${namespace}/`
    : `${REGISTRY}${k.resource}/`;
}

export function decodeObject(kv: Kv): KubeObject {
  const obj = JSON.parse(kv.value.toString("utf8")) as KubeObject;
  obj.metadata.resourceVersion = kv.mod_revision;
  return obj;
}

function encodeObject(obj: KubeObject): Buffer {
  // resourceVersion is the store's revision, never stored in the value.
  const { resourceVersion: _, ...metadata } = obj.metadata;
  return Buffer.from(JSON.stringify({ ...obj, metadata }));
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
    return decodeObject(kv);
  }

  /** A consistent page: keys from `startKey` at `revision` (0 = latest), at most `limit` (0 = all). */
  async list(
    k: KindDef,
    namespace: string | undefined,
    opts: { limit?: number; startKey?: string; revision?: number } = {},
  ): Promise<ListResult> {
    const prefix = listPrefix(k, namespace);
    const from = opts.startKey ?? prefix;
    let r: Awaited<ReturnType<EtcdKV["range"]>>;
    try {
      r = await this.kv.range(from, {
        end: prefixEnd(prefix),
        limit: opts.limit ?? 0,
        revision: opts.revision ?? 0,
      });
    } catch (e) {
      if (/compacted/.test(String((e as Error).message)))
        throw expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        );
      throw e;
    }
    const items = r.kvs.map(decodeObject);
    const last = r.kvs.at(-1);
    return {
      items,
      revision: opts.revision && opts.revision > 0 ? opts.revision : r.revision,
      nextKey: r.more && last !== undefined ? last.key.toString("latin1") : undefined,
      remaining: r.more ? r.count - r.kvs.length : 0,
    };
  }

  /** Stores a new object; AlreadyExists if the key exists. Returns it with its resourceVersion. */
  async create(k: KindDef, obj: KubeObject, lease?: string): Promise<KubeObject> {
    const key = objectKey(k, obj.metadata.namespace, obj.metadata.name as string);
    const r = await this.kv.txn(
      [{ key, target: "create", createRevision: 0 }],
      [{ put: { key, value: encodeObject(obj), lease } }],
    );
    if (!r.succeeded) throw alreadyExists(k, obj.metadata.name as string);
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(r.revision) } };
  }

  /** Replaces an object stored at `modRevision`; Conflict if it changed since, NotFound if gone. */
  async update(k: KindDef, obj: KubeObject, modRevision: number): Promise<KubeObject> {
    const name = obj.metadata.name as string;
    const key = objectKey(k, obj.metadata.namespace, name);
    const r = await this.kv.txn(
      [{ key, target: "mod", modRevision }],
      [{ put: { key, value: encodeObject(obj) } }],
      [{ get: { key } }],
    );
    if (!r.succeeded) throw r.gets[0] === undefined ? notFound(k, name) : staleUpdate(k, name);
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(r.revision) } };
  }

  /** Deletes the object stored at `modRevision`; returns the deletion's revision. */
  async delete(k: KindDef, obj: KubeObject, modRevision: number): Promise<number> {
    const name = obj.metadata.name as string;
    const key = objectKey(k, obj.metadata.namespace, name);
    const r = await this.kv.txn(
      [{ key, target: "mod", modRevision }],
      [{ delete: { key } }],
      [{ get: { key } }],
    );
    if (!r.succeeded) throw r.gets[0] === undefined ? notFound(k, name) : staleUpdate(k, name);
    return r.revision;
  }

  watch(k: KindDef, namespace: string | undefined, fromRevision: number, cb: WatchCallbacks): WatchHandle {
    return this.kv.watch(listPrefix(k, namespace), fromRevision, cb);
  }
}
