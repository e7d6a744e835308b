/**
 * client-go's fake clientset (k8s.io/client-go/kubernetes/fake with k8s.io/client-go/testing):
 * a ClientInterface on an ObjectTracker that records every action, so a controller's unit test
 * calls sync(key) and asserts on the calls it made. Reactors, tried newest first, may answer an
 * action instead of the tracker (e.g. to inject an error). Watches are served from the tracker,
 * so informers list, watch and sync on it as on a real server.
 */
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  type JsonPatchOperation,
  type JsonValue,
  type KubeObject,
  Registry,
  schemaAt,
} from "@skiff/api";
import type { ClientInterface } from "../client.js";
import { ApiError } from "../errors.js";
import type {
  DeleteOptions,
  ListOptions,
  ObjectList,
  PartialObjectMetadata,
  PatchOptions,
  PatchType,
  ResourceClient,
  Watch,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from "../resource.js";
import { ObjectTracker } from "./tracker.js";

export type FakeVerb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete";

export interface FakeAction {
  verb: FakeVerb;
  apiVersion: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** create/update: the object sent. */
  object?: KubeObject;
  patch?: unknown;
  patchType?: PatchType;
  deleteOptions?: DeleteOptions;
  listOptions?: ListOptions;
}

export interface ReactorAnswer {
  handled: boolean;
  result?: unknown;
  error?: unknown;
}

export type Reactor = (action: FakeAction) => ReactorAnswer | undefined;

export interface FakeClientOptions {
  objects?: readonly KubeObject[];
  /** The time creationTimestamp and deletionTimestamp are taken from. */
  now?: () => Date;
}

const registry = new Registry();

function patchMetaFor(apiVersion: string, resource: string) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const def = registry.resource(group, version, resource);
  return (path: readonly string[]) => {
    if (def === undefined) return undefined;
    const s = schemaAt(def.schema, path);
    return s?.type === "array"
      ? { patchMergeKey: s.patchMergeKey, patchStrategy: s.patchStrategy }
      : undefined;
  };
}

/** The API server's answer to a patch whose metadata.uid is not the object's (422, as kube). */
function uidMismatch(want: string, have: string): ApiError {
  return new ApiError(422, {
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    reason: "Invalid",
    code: 422,
    message: `Precondition failed: UID in precondition: ${want}, UID in object meta: ${have}`,
  });
}

function toMetadata(o: KubeObject): PartialObjectMetadata {
  return { apiVersion: "meta.k8s.io/v1", kind: "PartialObjectMetadata", metadata: o.metadata };
}

export class FakeClient implements ClientInterface {
  readonly tracker: ObjectTracker;
  readonly actions: FakeAction[] = [];
  private readonly reactors: { verb: string; resource: string; fn: Reactor }[] = [];

  constructor(opts: FakeClientOptions = {}) {
    this.tracker = new ObjectTracker(opts.now);
    for (const o of opts.objects ?? []) this.tracker.add(o);
  }

  /** Answers matching actions before the tracker does ("*" matches any verb or resource). */
  prependReactor(verb: FakeVerb | "*", resource: string, fn: Reactor): void {
    this.reactors.unshift({ verb, resource, fn });
  }

  clearActions(): void {
    this.actions.length = 0;
  }

  /** The recorded actions other than get, list and watch (what a controller changed). */
  writes(): FakeAction[] {
    return this.actions.filter((a) => a.verb !== "get" && a.verb !== "list" && a.verb !== "watch");
  }

  /** Records an action, lets the reactors answer it, else runs `fallback` on the tracker. */
  invoke<R>(action: FakeAction, fallback: () => R): R {
    this.actions.push(action);
    for (const r of this.reactors) {
      if (
        (r.verb !== "*" && r.verb !== action.verb) ||
        (r.resource !== "*" && r.resource !== action.resource)
      )
        continue;
      const a = r.fn(action);
      if (a === undefined || !a.handled) continue;
      if (a.error !== undefined) throw a.error;
      return a.result as R;
    }
    return fallback();
  }

  resource<T extends KubeObject = KubeObject>(
    apiVersion: string,
    resource: string,
    namespace?: string,
  ): ResourceClient<T> {
    return new FakeResourceClient<T>(this, apiVersion, resource, namespace, false);
  }

  metadata(apiVersion: string, resource: string, namespace?: string): ResourceClient<PartialObjectMetadata> {
    return new FakeResourceClient<PartialObjectMetadata>(this, apiVersion, resource, namespace, true);
  }
}

class FakeResourceClient<T extends KubeObject> implements ResourceClient<T> {
  constructor(
    private readonly c: FakeClient,
    readonly apiVersion: string,
    readonly resource: string,
    readonly namespace: string | undefined,
    private readonly metadataOnly: boolean,
  ) {}

  private out(o: KubeObject): T {
    return (this.metadataOnly ? toMetadata(o) : o) as T;
  }

  private base(verb: FakeVerb, extra: Partial<FakeAction> = {}): FakeAction {
    const a: FakeAction = { verb, apiVersion: this.apiVersion, resource: this.resource, ...extra };
    if (a.namespace === undefined && this.namespace !== undefined) a.namespace = this.namespace;
    return a;
  }

  async get(name: string): Promise<T> {
    const t = this.c.tracker;
    return this.c.invoke(this.base("get", { name }), () =>
      this.out(t.get(this.apiVersion, this.resource, this.namespace, name)),
    );
  }

  async list(opts: ListOptions = {}): Promise<ObjectList<T>> {
    const t = this.c.tracker;
    return this.c.invoke(this.base("list", { listOptions: opts }), () => ({
      items: t
        .list(this.apiVersion, this.resource, this.namespace, opts.labelSelector, opts.fieldSelector)
        .map((o) => this.out(o)),
      metadata: { resourceVersion: t.resourceVersion },
    }));
  }

  listAll(opts: Omit<ListOptions, "continue"> = {}): Promise<ObjectList<T>> {
    return this.list(opts);
  }

  async create(obj: T, _opts?: WriteOptions): Promise<T> {
    const ns = obj.metadata.namespace ?? this.namespace;
    const t = this.c.tracker;
    return this.c.invoke(this.base("create", { namespace: ns, name: obj.metadata.name, object: obj }), () =>
      this.out(t.create(this.apiVersion, this.resource, ns, obj)),
    );
  }

  async update(obj: T, _opts?: WriteOptions): Promise<T> {
    const ns = obj.metadata.namespace ?? this.namespace;
    const t = this.c.tracker;
    return this.c.invoke(this.base("update", { namespace: ns, name: obj.metadata.name, object: obj }), () =>
      this.out(t.update(this.apiVersion, this.resource, ns, obj)),
    );
  }

  async updateStatus(obj: T, _opts?: WriteOptions): Promise<T> {
    const ns = obj.metadata.namespace ?? this.namespace;
    const t = this.c.tracker;
    return this.c.invoke(
      this.base("update", { namespace: ns, name: obj.metadata.name, object: obj, subresource: "status" }),
      () => this.out(t.update(this.apiVersion, this.resource, ns, obj, "status")),
    );
  }

  async patch(name: string, patch: unknown, type: PatchType, opts: PatchOptions = {}): Promise<T> {
    const t = this.c.tracker;
    const action = this.base("patch", { name, patch, patchType: type });
    if (opts.subresource !== undefined) action.subresource = opts.subresource;
    return this.c.invoke(action, () => {
      const old = t.get(this.apiVersion, this.resource, this.namespace, name);
      const doc = old as unknown as JsonValue;
      let next: JsonValue;
      if (type === "json") next = applyJsonPatch(doc, patch as JsonPatchOperation[]);
      else if (type === "merge") next = applyMergePatch(doc, patch as JsonValue);
      else
        next = applyStrategicMergePatch(
          doc,
          patch as JsonValue,
          patchMetaFor(this.apiVersion, this.resource),
        );
      const o = next as unknown as KubeObject;
      const wantUid = (patch as { metadata?: { uid?: string } } | null)?.metadata?.uid;
      if (type !== "json" && wantUid !== undefined && wantUid !== old.metadata.uid)
        throw uidMismatch(wantUid, old.metadata.uid ?? "");
      o.metadata.resourceVersion = old.metadata.resourceVersion;
      return this.out(t.update(this.apiVersion, this.resource, this.namespace, o, opts.subresource));
    });
  }

  async delete(name: string, opts: DeleteOptions = {}): Promise<T> {
    const t = this.c.tracker;
    return this.c.invoke(this.base("delete", { name, deleteOptions: opts }), () =>
      this.out(t.delete(this.apiVersion, this.resource, this.namespace, name, opts)),
    );
  }

  watch(opts: WatchOptions & { onEvent(e: WatchEvent<T>): void }): Watch {
    let stop: () => void = () => {};
    let resolve: () => void = () => {};
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    this.c.invoke(this.base("watch"), () => {
      const unregister = this.c.tracker.watch(
        {
          gvr: ObjectTracker.gvrKey(this.apiVersion, this.resource),
          namespace: this.namespace ?? "",
          ...(opts.labelSelector === undefined ? {} : { labelSelector: opts.labelSelector }),
          ...(opts.fieldSelector === undefined ? {} : { fieldSelector: opts.fieldSelector }),
          onEvent: (e) => opts.onEvent({ type: e.type, object: this.out(e.object) }),
        },
        opts.resourceVersion,
        this.apiVersion,
        this.resource,
      );
      stop = () => {
        unregister();
        resolve();
      };
    });
    return { done, stop: () => stop() };
  }
}
