/**
 * The informer's cache: client-go's cache.Indexer over its threadSafeMap. Objects are kept by key
 * (namespace/name, as MetaNamespaceKeyFunc) and, for each named index function, an index from
 * each value the function returns to the set of keys of the objects that returned it. Adding,
 * updating or deleting one object touches only the index entries of that object (as
 * storeIndex.updateIndices), so the cost of a change does not grow with the number of objects.
 * Objects are deep-frozen when they enter (readonly.ts).
 */
import type { KubeObject } from "@skiff/api";
import { keyOf } from "./key.js";
import { deepFreeze } from "./readonly.js";

/** client-go's IndexFunc: the index values of an object (none: the object is not in the index). */
export type IndexFunc<T extends KubeObject = KubeObject> = (obj: T) => string[];

/** client-go's Indexers: index name -> index function. */
export type Indexers<T extends KubeObject = KubeObject> = Record<string, IndexFunc<T>>;

/** client-go's cache.NamespaceIndex, the index every generated informer has. */
export const NamespaceIndex = "namespace";

/** client-go's MetaNamespaceIndexFunc: an object's namespace ("" for cluster-scoped objects). */
export const MetaNamespaceIndexFunc: IndexFunc = (obj) => [obj.metadata?.namespace ?? ""];

/** Pods by the node they are bound to (spec.nodeName), as kube's PodNodeNameKeyIndex. */
export const NodeNameIndex = "nodeName";

/** spec.nodeName when set; a pod not yet bound is in no entry, as kube's AddPodNodeNameIndexer. */
export const NodeNameIndexFunc: IndexFunc = (obj) => {
  const nodeName = (obj.spec as { nodeName?: unknown } | undefined)?.nodeName;
  return typeof nodeName === "string" && nodeName !== "" ? [nodeName] : [];
};

/** Objects by the uid of each of their owners (what the garbage collector and controllers ask). */
export const OwnerUidIndex = "ownerUid";

export const OwnerUidIndexFunc: IndexFunc = (obj) => (obj.metadata?.ownerReferences ?? []).map((r) => r.uid);

export class Indexer<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index name -> index value -> keys. Invariant: no value maps to an empty set. */
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  constructor(
    indexers: Indexers<T> = {},
    private readonly keyFunc: (obj: T) => string = keyOf,
  ) {
    this.addIndexers(indexers);
  }

  get size(): number {
    return this.items.size;
  }

  /** Adds or replaces the object under its key (client-go's Add and Update are the same). */
  add(obj: T): void {
    this.put(this.keyFunc(obj), obj);
  }

  update(obj: T): void {
    this.put(this.keyFunc(obj), obj);
  }

  /** Removes the object with obj's key; returns the object that was stored, if any. */
  delete(obj: T): T | undefined {
    return this.deleteByKey(this.keyFunc(obj));
  }

  deleteByKey(key: string): T | undefined {
    const old = this.items.get(key);
    if (old === undefined) return undefined;
    for (const [name, fn] of this.indexers) this.unindex(name, fn(old), key);
    this.items.delete(key);
    return old;
  }

  /** Makes the store hold exactly objs (client-go's Replace after a list); indexes are rebuilt. */
  replace(objs: Iterable<T>): void {
    const fresh = new Map<string, T>();
    for (const o of objs) fresh.set(this.keyFunc(o), deepFreeze(o));
    const rebuilt = new Map<string, Map<string, Set<string>>>();
    for (const [name, fn] of this.indexers) rebuilt.set(name, this.build(fn, fresh));
    this.items.clear();
    for (const [k, o] of fresh) this.items.set(k, o);
    for (const [name, index] of rebuilt) this.indices.set(name, index);
  }

  /** client-go's GetByKey. */
  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  listKeys(): string[] {
    return [...this.items.keys()];
  }

  /** The objects whose index function `indexName` returned `value`. */
  byIndex(indexName: string, value: string): T[] {
    const keys = this.indexOf(indexName).get(value);
    if (keys === undefined) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.items.get(k);
      if (o !== undefined) out.push(o);
    }
    return out;
  }

  /** The keys of the objects whose index function `indexName` returned `value`. */
  indexKeys(indexName: string, value: string): string[] {
    return [...(this.indexOf(indexName).get(value) ?? [])];
  }

  /** Every value of index `indexName` that at least one object has. */
  listIndexFuncValues(indexName: string): string[] {
    return [...this.indexOf(indexName).keys()];
  }

  /** client-go's Index: the objects sharing at least one value of index `indexName` with obj. */
  index(indexName: string, obj: T): T[] {
    const fn = this.indexers.get(indexName);
    if (fn === undefined) throw new Error(`Index with name ${indexName} does not exist`);
    const values = fn(obj);
    if (values.length === 1) return this.byIndex(indexName, values[0] as string);
    const keys = new Set<string>();
    for (const v of values) for (const k of this.indexOf(indexName).get(v) ?? []) keys.add(k);
    return [...keys].flatMap((k) => this.items.get(k) ?? []);
  }

  hasIndex(indexName: string): boolean {
    return this.indexers.has(indexName);
  }

  getIndexers(): Readonly<Indexers<T>> {
    return Object.fromEntries(this.indexers);
  }

  /**
   * Adds index functions, indexing the objects already stored (as client-go since 1.26). A name
   * already taken by the same function is ignored (two components asking for the same built-in
   * index share it); by another function, it throws, as client-go's "indexer conflict".
   */
  addIndexers(indexers: Indexers<T>): void {
    const added: [string, IndexFunc<T>][] = [];
    for (const [name, fn] of Object.entries(indexers)) {
      const have = this.indexers.get(name);
      if (have === fn) continue;
      if (have !== undefined) throw new Error(`indexer conflict: ${name}`);
      added.push([name, fn]);
    }
    // Build every new index before installing any: an index function that throws changes nothing.
    const built = added.map(([name, fn]) => [name, fn, this.build(fn, this.items)] as const);
    for (const [name, fn, index] of built) {
      this.indexers.set(name, fn);
      this.indices.set(name, index);
    }
  }

  private indexOf(indexName: string): Map<string, Set<string>> {
    const index = this.indices.get(indexName);
    if (index === undefined) throw new Error(`Index with name ${indexName} does not exist`);
    return index;
  }

  private build(fn: IndexFunc<T>, items: ReadonlyMap<string, T>): Map<string, Set<string>> {
    const index = new Map<string, Set<string>>();
    for (const [key, o] of items)
      for (const v of fn(o)) {
        const keys = index.get(v);
        if (keys === undefined) index.set(v, new Set([key]));
        else keys.add(key);
      }
    return index;
  }

  private put(key: string, obj: T): void {
    deepFreeze(obj);
    const old = this.items.get(key);
    // Every new index value is computed before anything changes: an index function that throws
    // leaves the store as it was (the old values were computed once already, without throwing).
    const changes: [string, string[], string[]][] = [];
    for (const [name, fn] of this.indexers) {
      const next = fn(obj);
      const prev = old === undefined ? [] : fn(old);
      if (prev.length === next.length && prev.every((v, i) => v === next[i])) continue;
      changes.push([name, prev, next]);
    }
    this.items.set(key, obj);
    for (const [name, prev, next] of changes) {
      this.unindex(
        name,
        prev.filter((v) => !next.includes(v)),
        key,
      );
      const index = this.indices.get(name) as Map<string, Set<string>>;
      for (const v of next) {
        const keys = index.get(v);
        if (keys === undefined) index.set(v, new Set([key]));
        else keys.add(key);
      }
    }
  }

  private unindex(name: string, values: readonly string[], key: string): void {
    const index = this.indices.get(name) as Map<string, Set<string>>;
    for (const v of values) {
      const keys = index.get(v);
      if (keys === undefined) continue;
      keys.delete(key);
      if (keys.size === 0) index.delete(v);
    }
  }
}
