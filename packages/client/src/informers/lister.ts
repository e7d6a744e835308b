/**
 * Listers (client-go's generated listers and cache.GenericLister): read-only queries over an
 * informer's cache. Objects come back as the cache holds them, deep-frozen: clone before changing.
 * A namespace's objects are found through the NamespaceIndex when the cache has it (as
 * cache.ListAllByNamespace), by a scan otherwise.
 */
import type { KubeObject, LabelSelector } from "@skiff/api";
import { type Indexer, NamespaceIndex } from "./indexer.js";
import { type Selector, toSelector } from "./labels.js";

/** A label selector string (`app=web,tier in (a,b)`), a metav1.LabelSelector, or a parsed Selector. */
export type LabelSelectorInput = string | LabelSelector | Selector;

const select = <T extends KubeObject>(objs: Iterable<T>, selector?: LabelSelectorInput): T[] => {
  const sel = toSelector(selector);
  const out: T[] = [];
  for (const o of objs) if (sel.empty() || sel.matches(o.metadata?.labels)) out.push(o);
  return out;
};

export class Lister<T extends KubeObject = KubeObject> {
  readonly indexer: Indexer<T>;

  /** Over an Indexer, or anything holding one (an Informer). */
  constructor(source: Indexer<T> | { readonly indexer: Indexer<T> }) {
    this.indexer = "indexer" in source ? source.indexer : source;
  }

  /** Every cached object matching the selector (every object without one). */
  list(selector?: LabelSelectorInput): T[] {
    return select(this.indexer.list(), selector);
  }

  /** By key: namespace/name, or name for a cluster-scoped object. */
  get(key: string): T | undefined {
    return this.indexer.get(key);
  }

  byIndex(indexName: string, value: string): T[] {
    return this.indexer.byIndex(indexName, value);
  }

  /** The lister of one namespace (client-go's Pods(ns)). */
  namespace(namespace: string): NamespaceLister<T> {
    return new NamespaceLister(this.indexer, namespace);
  }
}

export class NamespaceLister<T extends KubeObject = KubeObject> {
  constructor(
    private readonly indexer: Indexer<T>,
    readonly namespace: string,
  ) {}

  list(selector?: LabelSelectorInput): T[] {
    if (this.indexer.hasIndex(NamespaceIndex))
      return select(this.indexer.byIndex(NamespaceIndex, this.namespace), selector);
    const inNamespace = this.indexer.list().filter((o) => (o.metadata?.namespace ?? "") === this.namespace);
    return select(inNamespace, selector);
  }

  get(name: string): T | undefined {
    return this.indexer.get(this.namespace === "" ? name : `${this.namespace}/${name}`);
  }
}
