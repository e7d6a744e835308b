/**
 * One resource (e.g. v1 pods, apps/v1 deployments), optionally in one namespace: the verbs, with
 * paths as kube-apiserver serves them. A namespaced resource without a namespace lists and watches
 * across all namespaces, and takes an object's own metadata.namespace for create and update.
 */
import { type KubeObject, Registry } from "@skiff/api";
import type { Http, Query } from "./http.js";

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: "Exact" | "NotOlderThan";
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** "" or "0": synthetic ADDED events for the current state first; N: changes after N. */
  resourceVersion?: string;
  /** The server ends the stream after this many seconds. */
  timeoutSeconds?: number;
  allowWatchBookmarks?: boolean;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  /** The object; for ERROR, a metav1.Status. */
  object: T;
}

export interface Watch {
  /** Resolves when the stream ends (server timeout, stop()); rejects on HTTP or network errors. */
  done: Promise<void>;
  stop(): void;
}

export interface ObjectList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  items: T[];
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
}

/** meta.k8s.io/v1 PartialObjectMetadata: an object's metadata only (the metadata client's objects). */
export interface PartialObjectMetadata extends KubeObject {
  apiVersion: "meta.k8s.io/v1";
  kind: "PartialObjectMetadata";
}

/**
 * The Accept headers of client-go's metadata client (k8s.io/client-go/metadata), JSON only: an
 * object (get, watch events, write answers) as PartialObjectMetadata, a list as
 * PartialObjectMetadataList. A server without the conversion answers plain JSON.
 */
export const PARTIAL_OBJECT_METADATA_ACCEPT =
  "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";
export const PARTIAL_OBJECT_METADATA_LIST_ACCEPT =
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

export type FieldValidation = "Ignore" | "Warn" | "Strict";

export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  /** The field manager of the write (required for "apply" patches). */
  fieldManager?: string;
}

/** "apply": server-side apply, the body being the whole configuration of the caller's fields. */
export type PatchType = "merge" | "json" | "strategic" | "apply";

export interface PatchOptions extends WriteOptions {
  subresource?: "status" | "scale";
  /** Server-side apply: take the fields other managers own instead of failing with a conflict. */
  force?: boolean;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface ResourceClient<T extends KubeObject = KubeObject> {
  readonly apiVersion: string;
  readonly resource: string;
  readonly namespace: string | undefined;
  get(name: string): Promise<T>;
  list(opts?: ListOptions): Promise<ObjectList<T>>;
  /** Every page (following `continue`); the items of all pages, the last page's metadata. */
  listAll(opts?: Omit<ListOptions, "continue">): Promise<ObjectList<T>>;
  create(obj: T, opts?: WriteOptions): Promise<T>;
  update(obj: T, opts?: WriteOptions): Promise<T>;
  updateStatus(obj: T, opts?: WriteOptions): Promise<T>;
  patch(name: string, patch: unknown, type: PatchType, opts?: PatchOptions): Promise<T>;
  /** The deleted object (or the object marked for deletion, when finalizers or grace hold it). */
  delete(name: string, opts?: DeleteOptions): Promise<T>;
  watch(opts: WatchOptions & { onEvent(e: WatchEvent<T>): void }): Watch;
}

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
  // JSON is YAML: the body is sent as JSON.
  apply: "application/apply-patch+yaml",
};

const registry = new Registry();

/** Whether a resource is namespaced; unknown resources (e.g. custom ones) are taken as namespaced. */
function isNamespaced(apiVersion: string, resource: string): boolean {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return registry.resource(group, version, resource)?.namespaced ?? true;
}

const writeQuery = (o: WriteOptions | undefined): Query => ({
  dryRun: o?.dryRun === true ? "All" : undefined,
  fieldValidation: o?.fieldValidation,
  fieldManager: o?.fieldManager,
});

/** A resource's path prefix: /api/v1 for the core group, /apis/<group>/<version> otherwise. */
export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

export class HttpResourceClient<T extends KubeObject = KubeObject> implements ResourceClient<T> {
  private readonly namespaced: boolean;
  /** Metadata-only: the Accept headers asking for PartialObjectMetadata(List); unset otherwise. */
  private readonly accept: { object?: string; list?: string };

  constructor(
    private readonly http: Http,
    private readonly onWatch: (w: AbortController) => () => void,
    readonly apiVersion: string,
    readonly resource: string,
    readonly namespace: string | undefined,
    metadataOnly = false,
  ) {
    this.namespaced = isNamespaced(apiVersion, resource);
    this.accept = metadataOnly
      ? { object: PARTIAL_OBJECT_METADATA_ACCEPT, list: PARTIAL_OBJECT_METADATA_LIST_ACCEPT }
      : {};
  }

  private collection(namespace: string | undefined = this.namespace): string {
    const ns =
      this.namespaced && namespace !== undefined && namespace !== ""
        ? `/namespaces/${encodeURIComponent(namespace)}`
        : "";
    return `${groupVersionPath(this.apiVersion)}${ns}/${this.resource}`;
  }

  private item(name: string, namespace?: string, subresource?: string): string {
    if (name === "") throw new Error(`${this.resource}: a name is required`);
    const sub = subresource === undefined ? "" : `/${subresource}`;
    return `${this.collection(namespace)}/${encodeURIComponent(name)}${sub}`;
  }

  private nsOf(obj: T): string | undefined {
    return this.namespace ?? obj.metadata?.namespace;
  }

  get(name: string): Promise<T> {
    return this.http.call<T>("GET", this.item(name), { accept: this.accept.object });
  }

  list(opts: ListOptions = {}): Promise<ObjectList<T>> {
    return this.http.call<ObjectList<T>>("GET", this.collection(), {
      query: { ...opts },
      accept: this.accept.list,
    });
  }

  async listAll(opts: Omit<ListOptions, "continue"> = {}): Promise<ObjectList<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    for (;;) {
      const page = await this.list({ ...opts, ...(cont === undefined ? {} : { continue: cont }) });
      items.push(...page.items);
      cont = page.metadata.continue;
      if (cont === undefined || cont === "") {
        const { continue: _, remainingItemCount: __, ...metadata } = page.metadata;
        return { ...page, items, metadata };
      }
    }
  }

  create(obj: T, opts?: WriteOptions): Promise<T> {
    return this.http.call<T>("POST", this.collection(this.nsOf(obj)), {
      body: obj,
      query: writeQuery(opts),
      accept: this.accept.object,
    });
  }

  update(obj: T, opts?: WriteOptions): Promise<T> {
    return this.http.call<T>("PUT", this.item(obj.metadata?.name ?? "", this.nsOf(obj)), {
      body: obj,
      query: writeQuery(opts),
      accept: this.accept.object,
    });
  }

  updateStatus(obj: T, opts?: WriteOptions): Promise<T> {
    return this.http.call<T>("PUT", this.item(obj.metadata?.name ?? "", this.nsOf(obj), "status"), {
      body: obj,
      query: writeQuery(opts),
      accept: this.accept.object,
    });
  }

  patch(name: string, patch: unknown, type: PatchType, opts: PatchOptions = {}): Promise<T> {
    return this.http.call<T>("PATCH", this.item(name, this.namespace, opts.subresource), {
      body: patch,
      contentType: PATCH_CONTENT_TYPES[type],
      query: { ...writeQuery(opts), force: opts.force === true ? "true" : undefined },
      accept: this.accept.object,
    });
  }

  delete(name: string, opts: DeleteOptions = {}): Promise<T> {
    const { dryRun, ...rest } = opts;
    const body = { kind: "DeleteOptions", apiVersion: "v1", ...rest, ...(dryRun ? { dryRun: ["All"] } : {}) };
    return this.http.call<T>("DELETE", this.item(name), { body, accept: this.accept.object });
  }

  watch(opts: WatchOptions & { onEvent(e: WatchEvent<T>): void }): Watch {
    const ac = new AbortController();
    const forget = this.onWatch(ac);
    const query: Query = {
      watch: "true",
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      resourceVersion: opts.resourceVersion,
      timeoutSeconds: opts.timeoutSeconds,
      allowWatchBookmarks: opts.allowWatchBookmarks === true ? "true" : undefined,
    };
    const done = this.http
      .stream(
        this.collection(),
        query,
        ac.signal,
        (line) => {
          let event: WatchEvent<T>;
          try {
            event = JSON.parse(line) as WatchEvent<T>;
          } catch {
            throw new Error(`watch ${this.resource}: malformed event line: ${line.slice(0, 200)}`);
          }
          opts.onEvent(event);
        },
        this.accept.object === undefined ? undefined : { accept: this.accept.object },
      )
      .finally(() => {
        ac.abort();
        forget();
      });
    return { done, stop: () => ac.abort() };
  }
}
