/**
 * client-go's testing.ObjectTracker: the objects of a fake clientset, by resource, namespace and
 * name, with what the API server would do to them on each verb (uid, resourceVersion,
 * creationTimestamp and generateName on create; NotFound, AlreadyExists and Conflict as Status
 * errors; status kept apart from the rest; finalizers holding a delete as a deletionTimestamp)
 * and a history of changes that watches replay from a resourceVersion. Not a validating server:
 * it stores what it is given.
 */
import { randomUUID } from "node:crypto";
import { type KubeObject, Registry } from "@skiff/api";
import { ApiError } from "../errors.js";
import { toSelector } from "../informers/labels.js";
import type { DeleteOptions, WatchEvent, WatchEventType } from "../resource.js";

const registry = new Registry();

export interface Gvr {
  apiVersion: string;
  resource: string;
}

interface Change {
  rv: number;
  gvr: string;
  namespace: string;
  event: WatchEvent;
}

export interface TrackerWatcher {
  gvr: string;
  namespace: string;
  labelSelector?: string;
  fieldSelector?: string;
  onEvent(e: WatchEvent): void;
}

const gvrKey = (apiVersion: string, resource: string) => `${apiVersion}/${resource}`;

function status(code: number, reason: string, message: string): ApiError {
  return new ApiError(code, { kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code });
}

/** The resource of a kind, from the API's registry (e.g. apps/v1 Deployment -> deployments). */
export function resourceOf(apiVersion: string, kind: string): string {
  const def = registry.kind(apiVersion, kind);
  if (def === undefined) throw new Error(`fake tracker: unknown kind ${apiVersion} ${kind}`);
  return def.resource;
}

function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf("/");
  return i < 0 ? "" : apiVersion.slice(0, i);
}

/** The value at a dotted field path (metadata.name, spec.nodeName, status.phase ...). */
function fieldValue(obj: KubeObject, path: string): string {
  let v: unknown = obj;
  for (const p of path.split(".")) v = (v as Record<string, unknown> | undefined)?.[p];
  return v === undefined || v === null ? "" : String(v);
}

/** Field selectors of the `a=b,c!=d` form, on any dotted path. */
export function matchesFieldSelector(obj: KubeObject, selector: string | undefined): boolean {
  if (selector === undefined || selector === "") return true;
  for (const term of selector.split(",")) {
    const ne = term.indexOf("!=");
    if (ne >= 0) {
      if (fieldValue(obj, term.slice(0, ne).trim()) === term.slice(ne + 2).trim()) return false;
      continue;
    }
    const eq = term.indexOf("=");
    if (eq < 0) throw status(400, "BadRequest", `invalid field selector: ${term}`);
    const value = term
      .slice(eq + 1)
      .replace(/^=/, "")
      .trim();
    if (fieldValue(obj, term.slice(0, eq).trim()) !== value) return false;
  }
  return true;
}

export function matchesSelectors(obj: KubeObject, labelSelector?: string, fieldSelector?: string): boolean {
  const ls = toSelector(labelSelector);
  return (ls.empty() || ls.matches(obj.metadata.labels)) && matchesFieldSelector(obj, fieldSelector);
}

const clone = <T>(v: T): T => structuredClone(v);

export class ObjectTracker {
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: Change[] = [];
  private readonly watchers = new Set<TrackerWatcher>();
  private rv = 0;

  constructor(private readonly now: () => Date = () => new Date()) {}

  get resourceVersion(): string {
    return String(this.rv);
  }

  private bucket(gvr: string): Map<string, KubeObject> {
    let b = this.objects.get(gvr);
    if (b === undefined) {
      b = new Map();
      this.objects.set(gvr, b);
    }
    return b;
  }

  private namespaced(apiVersion: string, resource: string): boolean {
    const slash = apiVersion.indexOf("/");
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    return registry.resource(groupOf(apiVersion), version, resource)?.namespaced ?? true;
  }

  private hasStatus(apiVersion: string, resource: string): boolean {
    const slash = apiVersion.indexOf("/");
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    return (
      registry.resource(groupOf(apiVersion), version, resource)?.subresources.includes("status") ?? false
    );
  }

  private notFound(resource: string, apiVersion: string, name: string): ApiError {
    const g = groupOf(apiVersion);
    return status(404, "NotFound", `${resource}${g === "" ? "" : `.${g}`} "${name}" not found`);
  }

  private emit(gvr: string, namespace: string, type: WatchEventType, obj: KubeObject): void {
    const event: WatchEvent = { type, object: clone(obj) };
    this.history.push({ rv: this.rv, gvr, namespace, event });
    for (const w of this.watchers) this.deliver(w, gvr, namespace, event);
  }

  private deliver(w: TrackerWatcher, gvr: string, namespace: string, event: WatchEvent): void {
    if (w.gvr !== gvr || (w.namespace !== "" && w.namespace !== namespace)) return;
    if (!matchesSelectors(event.object, w.labelSelector, w.fieldSelector)) return;
    w.onEvent({ type: event.type, object: clone(event.object) });
  }

  /** Adds an object as is (a fixture), keeping its resourceVersion if it has one. */
  add(obj: KubeObject, resource?: string): KubeObject {
    const apiVersion = obj.apiVersion as string;
    const res = resource ?? resourceOf(apiVersion, obj.kind as string);
    const o = clone(obj);
    o.metadata.uid ??= randomUUID();
    o.metadata.resourceVersion ??= String(++this.rv);
    o.metadata.creationTimestamp ??= this.now().toISOString();
    const ns = this.namespaced(apiVersion, res) ? (o.metadata.namespace ?? "default") : "";
    if (ns !== "") o.metadata.namespace = ns;
    const gvr = gvrKey(apiVersion, res);
    const key = `${ns}/${o.metadata.name}`;
    const existed = this.bucket(gvr).has(key);
    this.bucket(gvr).set(key, o);
    this.emit(gvr, ns, existed ? "MODIFIED" : "ADDED", o);
    return clone(o);
  }

  get(apiVersion: string, resource: string, namespace: string | undefined, name: string): KubeObject {
    const ns = this.namespaced(apiVersion, resource) ? (namespace ?? "") : "";
    const o = this.objects.get(gvrKey(apiVersion, resource))?.get(`${ns}/${name}`);
    if (o === undefined) throw this.notFound(resource, apiVersion, name);
    return clone(o);
  }

  /** The objects of a resource (in one namespace, or all with ""/undefined), in key order. */
  list(
    apiVersion: string,
    resource: string,
    namespace?: string,
    labelSelector?: string,
    fieldSelector?: string,
  ): KubeObject[] {
    const b = this.objects.get(gvrKey(apiVersion, resource));
    if (b === undefined) return [];
    const out: KubeObject[] = [];
    for (const [key, o] of [...b.entries()].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0))) {
      if (namespace !== undefined && namespace !== "" && !key.startsWith(`${namespace}/`)) continue;
      if (matchesSelectors(o, labelSelector, fieldSelector)) out.push(clone(o));
    }
    return out;
  }

  create(apiVersion: string, resource: string, namespace: string | undefined, obj: KubeObject): KubeObject {
    const o = clone(obj);
    const ns = this.namespaced(apiVersion, resource) ? (o.metadata.namespace ?? namespace ?? "default") : "";
    if (ns !== "") o.metadata.namespace = ns;
    if ((o.metadata.name ?? "") === "" && o.metadata.generateName !== undefined)
      o.metadata.name = `${o.metadata.generateName}${randomUUID().replace(/-/g, "").slice(0, 5)}`;
    if ((o.metadata.name ?? "") === "") throw status(422, "Invalid", "name or generateName is required");
    const gvr = gvrKey(apiVersion, resource);
    const key = `${ns}/${o.metadata.name}`;
    if (this.bucket(gvr).has(key)) {
      const g = groupOf(apiVersion);
      throw status(
        409,
        "AlreadyExists",
        `${resource}${g === "" ? "" : `.${g}`} "${o.metadata.name}" already exists`,
      );
    }
    o.metadata.uid = randomUUID();
    o.metadata.resourceVersion = String(++this.rv);
    o.metadata.creationTimestamp = this.now().toISOString();
    o.metadata.generation = 1;
    delete o.metadata.deletionTimestamp;
    this.bucket(gvr).set(key, o);
    this.emit(gvr, ns, "ADDED", o);
    return clone(o);
  }

  /**
   * Replaces an object (subresource "status": only its status; otherwise all but its status when
   * the resource has a status subresource). A resourceVersion that is not the current one is a
   * Conflict. Removing the last finalizer of an object being deleted deletes it.
   */
  update(
    apiVersion: string,
    resource: string,
    namespace: string | undefined,
    obj: KubeObject,
    subresource?: string,
  ): KubeObject {
    const name = obj.metadata.name as string;
    const old = this.get(apiVersion, resource, namespace ?? obj.metadata.namespace, name);
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== "" && rv !== old.metadata.resourceVersion) {
      const g = groupOf(apiVersion);
      throw status(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${resource}${g === "" ? "" : `.${g}`} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    let o: KubeObject;
    if (subresource === "status") {
      o = clone(old);
      (o as { status?: unknown }).status = clone((obj as { status?: unknown }).status);
    } else {
      o = clone(obj);
      if (this.hasStatus(apiVersion, resource))
        (o as { status?: unknown }).status = clone((old as { status?: unknown }).status);
      o.metadata.uid = old.metadata.uid;
      o.metadata.creationTimestamp = old.metadata.creationTimestamp;
      o.metadata.namespace = old.metadata.namespace;
      o.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
      const specChanged =
        JSON.stringify((o as { spec?: unknown }).spec) !== JSON.stringify((old as { spec?: unknown }).spec);
      o.metadata.generation = (old.metadata.generation ?? 1) + (specChanged ? 1 : 0);
      if (o.metadata.deletionTimestamp === undefined) delete o.metadata.deletionTimestamp;
    }
    const gvr = gvrKey(apiVersion, resource);
    const ns = o.metadata.namespace ?? "";
    const key = `${ns}/${name}`;
    o.metadata.resourceVersion = String(++this.rv);
    if (o.metadata.deletionTimestamp !== undefined && (o.metadata.finalizers ?? []).length === 0) {
      this.bucket(gvr).delete(key);
      this.emit(gvr, ns, "DELETED", o);
      return clone(o);
    }
    this.bucket(gvr).set(key, o);
    this.emit(gvr, ns, "MODIFIED", o);
    return clone(o);
  }

  /**
   * Deletes an object: with finalizers (plus the one a Foreground or Orphan propagation policy
   * asks for) it only gets a deletionTimestamp; otherwise it is gone. A uid precondition that
   * does not hold is a Conflict.
   */
  delete(
    apiVersion: string,
    resource: string,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): KubeObject {
    const old = this.get(apiVersion, resource, namespace, name);
    if (opts.preconditions?.uid !== undefined && opts.preconditions.uid !== old.metadata.uid)
      throw status(
        409,
        "Conflict",
        `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    const gvr = gvrKey(apiVersion, resource);
    const ns = old.metadata.namespace ?? "";
    const key = `${ns}/${name}`;
    const finalizers = [...(old.metadata.finalizers ?? [])];
    const extra =
      opts.propagationPolicy === "Foreground"
        ? "foregroundDeletion"
        : opts.propagationPolicy === "Orphan"
          ? "orphan"
          : undefined;
    if (extra !== undefined && !finalizers.includes(extra)) finalizers.push(extra);
    if (finalizers.length > 0) {
      if (
        old.metadata.deletionTimestamp !== undefined &&
        finalizers.length === (old.metadata.finalizers ?? []).length
      )
        return old;
      const o = clone(old);
      o.metadata.finalizers = finalizers;
      o.metadata.deletionTimestamp ??= this.now().toISOString();
      o.metadata.deletionGracePeriodSeconds ??= 0;
      o.metadata.resourceVersion = String(++this.rv);
      this.bucket(gvr).set(key, o);
      this.emit(gvr, ns, "MODIFIED", o);
      return clone(o);
    }
    this.bucket(gvr).delete(key);
    this.rv++;
    const gone = clone(old);
    gone.metadata.resourceVersion = String(this.rv);
    this.emit(gvr, ns, "DELETED", gone);
    return gone;
  }

  /**
   * Watches a resource: the changes after `resourceVersion` (none when it is ""/"0": then the
   * current objects as ADDED), then live ones. Returns the unregister function.
   */
  watch(
    w: TrackerWatcher,
    resourceVersion: string | undefined,
    apiVersion: string,
    resource: string,
  ): () => void {
    if (resourceVersion === undefined || resourceVersion === "" || resourceVersion === "0") {
      for (const o of this.list(apiVersion, resource, w.namespace, w.labelSelector, w.fieldSelector))
        w.onEvent({ type: "ADDED", object: o });
    } else {
      const from = Number(resourceVersion);
      for (const c of this.history) if (c.rv > from) this.deliver(w, c.gvr, c.namespace, c.event);
    }
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  static gvrKey = gvrKey;
}
