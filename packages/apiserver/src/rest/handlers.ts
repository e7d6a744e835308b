/**
 * The verbs on one resource path: get, list, create, update, patch, delete, deletecollection,
 * for the object and its status subresource. Framework-free: a request is a plain object and the
 * answer is { code, body, headers } so the same code serves fastify and tests.
 */
import {
  apiVersionOf,
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  type JsonValue,
  type KindDef,
  type KubeObject,
  metav1Time,
  PatchError,
  type Registry,
  schemaAt,
} from "@skiff/api";
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from "../selectors.js";
import type { ServiceAllocator } from "../services.js";
import { badRequest, methodNotAllowed, notFound, StatusError } from "../status.js";
import type { LeaseManager } from "../storage/leases.js";
import { GuardChanged, type GuardedWrite, type RegistryStore } from "../storage/registry-store.js";
import type { WatchCache } from "../storage/watch-cache.js";
import { decodeBody, patchTypeOf } from "./content.js";
import type { ResourcePath } from "./path.js";
import { checkBody, fieldValidationOf, prepareCreate, prepareUpdate } from "./prepare.js";
import { subresource } from "./subresources.js";

export interface RestRequest {
  method: string;
  path: ResourcePath;
  query: Record<string, string | undefined>;
  contentType: string | undefined;
  body: Buffer | undefined;
  /** The answer may be plain JSON text (no Table, no YAML): lists can skip parsing. */
  plainJson?: boolean;
}

export interface RestAnswer {
  code: number;
  body: unknown;
  /** The body already serialized as JSON (a plain list), sent as it is. */
  rawBody?: string;
  warnings?: string[];
  /** A list answer: the server may render it as a Table. */
  list?: { kind: KindDef; items: KubeObject[]; meta: Record<string, unknown> };
}

/** Admission checks run before a write is stored (namespace lifecycle, quota, ...). */
export type Admit = (
  op: "create" | "update" | "delete",
  k: KindDef,
  obj: KubeObject,
  old?: KubeObject,
) => Promise<void>;

export interface RestContext {
  services: ServiceAllocator;
  /** Serves lists at resourceVersion=0 (any version is fine) without a store read. */
  cache?: WatchCache;
  /** Quota writes that go with creating (+1) or deleting (-1) an object; throws 403 when over quota. */
  charge?: (k: KindDef, obj: KubeObject, sign: 1 | -1) => Promise<GuardedWrite[]>;
  /** Leases for objects that expire: Events after --event-ttl. */
  eventLeases?: LeaseManager;
  registry: Registry;
  store: RegistryStore;
  now: () => Date;
  admit: Admit;
}

const isDryRun = (q: RestRequest["query"]) => q.dryRun === "All";

function encodeContinue(revision: number, nextKey: string): string {
  return Buffer.from(
    JSON.stringify({ v: "meta.k8s.io/v1", rv: revision, start: `${nextKey}\u0000` }),
  ).toString("base64url");
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const c = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { rv: number; start: string };
    if (typeof c.rv !== "number" || typeof c.start !== "string") throw new Error("bad token");
    return c;
  } catch {
    throw badRequest(
      "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
    );
  }
}

export async function handle(ctx: RestContext, req: RestRequest): Promise<RestAnswer> {
  const { path, method } = req;
  const sub = path.subresource;
  if (sub !== undefined && sub !== "status") {
    const served = subresource(ctx, req, {
      update: async (next, old) => {
        const ready = prepareUpdate(path.kind, next, old, undefined);
        await ctx.admit("update", path.kind, ready, old);
        return finishUpdate(ctx, path.kind, ready, old, Number(old.metadata.resourceVersion));
      },
      remove: (obj, opts) => deleteOne(ctx, path.kind, obj, opts),
    });
    if (served === undefined) throw methodNotAllowed(`subresource ${sub} is not served yet`);
    return served;
  }
  if (path.name === undefined) {
    if (method === "GET") return list(ctx, req);
    if (method === "POST") return create(ctx, req);
    // kube-apiserver serves no deletecollection on namespaces: each goes through its lifecycle.
    if (method === "DELETE" && path.kind.kind !== "Namespace") return deleteCollection(ctx, req);
    throw methodNotAllowed();
  }
  if (method === "GET") return { code: 200, body: await ctx.store.get(path.kind, path.namespace, path.name) };
  if (method === "PUT") return update(ctx, req);
  if (method === "PATCH") return patch(ctx, req);
  if (method === "DELETE" && sub === undefined) return remove(ctx, req);
  throw methodNotAllowed();
}

/** A list's metadata: its revision, and where the next page starts (with how many remain, unless filtered). */
function listMeta(
  page: { revision: number; nextKey: string | undefined; remaining: number },
  unfiltered: boolean,
): Record<string, unknown> {
  const meta: Record<string, unknown> = { resourceVersion: String(page.revision) };
  if (page.nextKey !== undefined) {
    meta.continue = encodeContinue(page.revision, page.nextKey);
    if (unfiltered) meta.remainingItemCount = page.remaining;
  }
  return meta;
}

async function list(ctx: RestContext, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace } = req.path;
  const labels = parseLabelSelector(req.query.labelSelector);
  const fields = parseFieldSelector(req.query.fieldSelector, kind.resource);
  const limit = Number(req.query.limit ?? 0);
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`invalid limit "${req.query.limit}"`);
  let revision = 0;
  let startKey: string | undefined;
  if (req.query.continue) {
    const c = decodeContinue(req.query.continue);
    revision = c.rv;
    startKey = c.start;
  } else if (req.query.resourceVersionMatch === "Exact" && req.query.resourceVersion) {
    revision = Number(req.query.resourceVersion);
  }
  const fromCache = req.query.resourceVersion === "0" && !req.query.continue && ctx.cache !== undefined;
  if (req.plainJson === true && !fromCache && labels.length === 0 && fields.length === 0) {
    // Nothing to filter or render: the stored JSON goes out as it is, revision spliced in.
    const raw = await ctx.store.listRaw(kind, namespace, { limit, startKey, revision });
    const meta = listMeta(raw, true);
    const head = JSON.stringify({ kind: `${kind.kind}List`, apiVersion: apiVersionOf(kind), metadata: meta });
    return { code: 200, body: undefined, rawBody: `${head.slice(0, -1)},"items":[${raw.items.join(",")}]}` };
  }
  let page: { items: KubeObject[]; revision: number; nextKey: string | undefined; remaining: number };
  if (fromCache && ctx.cache !== undefined) {
    // resourceVersion=0: any version will do, so the watch cache answers (all items, no paging).
    const snap = (await ctx.cache.for(kind)).list(namespace);
    page = { items: snap.items, revision: snap.revision, nextKey: undefined, remaining: 0 };
  } else page = await ctx.store.list(kind, namespace, { limit, startKey, revision });
  const items = page.items.filter(
    (o) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o),
  );
  const meta = listMeta(page, labels.length === 0 && fields.length === 0);
  const body = { kind: `${kind.kind}List`, apiVersion: apiVersionOf(kind), metadata: meta, items };
  return { code: 200, body, list: { kind, items, meta } };
}

async function create(ctx: RestContext, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace } = req.path;
  if (kind.namespaced && namespace === undefined) throw methodNotAllowed();
  const { obj, warnings } = checkBody(
    kind,
    decodeBody(req.body, req.contentType),
    fieldValidationOf(req.query.fieldValidation),
  );
  const ready = prepareCreate(kind, obj, namespace, ctx.now());
  await ctx.admit("create", kind, ready);
  if (isDryRun(req.query)) return { code: 201, body: ready, warnings };
  // Events expire after --event-ttl through a store lease (kube-apiserver's lease manager).
  const lease = kind.kind === "Event" ? await ctx.eventLeases?.lease() : undefined;
  // Quota usage is charged in the same transaction; a concurrent charge makes us read again.
  const stored = await withGuards(async () => {
    const guarded = (await ctx.charge?.(kind, ready, 1)) ?? [];
    return kind.kind === "Service"
      ? ctx.services.create(ctx.store, kind, ready, guarded)
      : ctx.store.create(kind, ready, { lease, guarded });
  });
  ctx.cache?.observe(kind, stored);
  return { code: 201, body: stored, warnings };
}

async function update(ctx: RestContext, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace, name, subresource } = req.path;
  const { obj, warnings } = checkBody(
    kind,
    decodeBody(req.body, req.contentType),
    fieldValidationOf(req.query.fieldValidation),
  );
  if (obj.metadata.name !== undefined && obj.metadata.name !== name)
    throw badRequest(
      `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
    );
  obj.metadata.name = name;
  const old = await ctx.store.get(kind, namespace, name as string);
  const rv = obj.metadata.resourceVersion;
  // A stale resourceVersion is a conflict; an empty one is an unconditional update (allowed).
  const expected = rv === undefined || rv === "" ? Number(old.metadata.resourceVersion) : Number(rv);
  if (!Number.isInteger(expected)) throw badRequest(`invalid resourceVersion "${rv}"`);
  const next = prepareUpdate(kind, obj, old, subresource === "status" ? "status" : undefined);
  await ctx.admit("update", kind, next, old);
  if (isDryRun(req.query)) return { code: 200, body: next, warnings };
  return { code: 200, body: await finishUpdate(ctx, kind, next, old, expected), warnings };
}

/** Stores an update; an object that has a deletionTimestamp and no finalizers left goes away. */
async function finishUpdate(
  ctx: RestContext,
  kind: KindDef,
  next: KubeObject,
  old: KubeObject,
  expected: number,
): Promise<KubeObject> {
  const isService = kind.kind === "Service";
  const claims = isService ? ctx.services.prepareUpdate(kind, next, old) : {};
  let stored: KubeObject;
  try {
    stored = await ctx.store.update(kind, next, expected, claims);
  } catch (e) {
    throw isService ? ctx.services.updateError(kind, next, e) : e;
  }
  ctx.cache?.observe(kind, stored);
  if (next.metadata.deletionTimestamp !== undefined && (next.metadata.finalizers ?? []).length === 0)
    await deleteStored(ctx, kind, stored, Number(stored.metadata.resourceVersion));
  return stored;
}

/** Runs `f` again while a guarded key (a quota) changed under it. */
async function withGuards<T>(f: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      if (!(e instanceof GuardChanged) || attempt >= 20) throw e;
    }
  }
}

/** Deletes a stored object, releasing its claims and giving its quota usage back. */
async function deleteStored(
  ctx: RestContext,
  kind: KindDef,
  obj: KubeObject,
  modRevision: number,
): Promise<number> {
  const revision = await withGuards(async () =>
    ctx.store.delete(
      kind,
      obj,
      modRevision,
      releaseOf(ctx, kind, obj),
      (await ctx.charge?.(kind, obj, -1)) ?? [],
    ),
  );
  ctx.cache?.observe(kind, obj, revision);
  return revision;
}

/** Claims an object releases when it is deleted (a Service's IP and node ports). */
function releaseOf(ctx: RestContext, kind: KindDef, obj: KubeObject): string[] {
  return kind.kind === "Service" ? ctx.services.claims(obj) : [];
}

function patchMeta(kind: KindDef) {
  return (path: readonly string[]) => {
    const s = schemaAt(kind.schema, path);
    return s?.type === "array"
      ? { patchMergeKey: s.patchMergeKey, patchStrategy: s.patchStrategy }
      : undefined;
  };
}

async function patch(ctx: RestContext, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace, name, subresource } = req.path;
  const type = patchTypeOf(req.contentType);
  if (type === "apply")
    throw new StatusError(415, "UnsupportedMediaType", "server-side apply is not supported yet");
  const body = decodeBody(req.body, "application/json");
  // As kube-apiserver: retry the read-patch-write on a conflict with a concurrent writer.
  for (let attempt = 0; ; attempt++) {
    const old = await ctx.store.get(kind, namespace, name as string);
    let patched: unknown;
    try {
      const base = JSON.parse(JSON.stringify(old)) as JsonValue;
      patched =
        type === "json"
          ? applyJsonPatch(base, body as never)
          : type === "merge"
            ? applyMergePatch(base, body as JsonValue)
            : applyStrategicMergePatch(base, body as JsonValue, patchMeta(kind));
    } catch (e) {
      if (e instanceof PatchError) throw badRequest(e.message);
      throw e;
    }
    const { obj, warnings } = checkBody(kind, patched, fieldValidationOf(req.query.fieldValidation));
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== old.metadata.resourceVersion)
      throw badRequest(
        "metadata.resourceVersion: Invalid value: the resourceVersion in a patch must match the object's",
      );
    obj.metadata.name = name;
    const next = prepareUpdate(kind, obj, old, subresource === "status" ? "status" : undefined);
    await ctx.admit("update", kind, next, old);
    if (isDryRun(req.query)) return { code: 200, body: next, warnings };
    try {
      return {
        code: 200,
        body: await finishUpdate(ctx, kind, next, old, Number(old.metadata.resourceVersion)),
        warnings,
      };
    } catch (e) {
      if (e instanceof StatusError && e.reason === "Conflict" && attempt < 5) continue;
      throw e;
    }
  }
}

interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

function deleteOptions(req: RestRequest): DeleteOptions {
  const decoded = req.body !== undefined && req.body.length > 0 ? decodeBody(req.body, req.contentType) : {};
  if (typeof decoded !== "object" || decoded === null || Array.isArray(decoded))
    throw badRequest("the body of a delete must be a DeleteOptions object");
  const opts = decoded as DeleteOptions;
  if (req.query.gracePeriodSeconds !== undefined)
    opts.gracePeriodSeconds = Number(req.query.gracePeriodSeconds);
  if (req.query.propagationPolicy !== undefined) opts.propagationPolicy = req.query.propagationPolicy;
  if (req.query.dryRun === "All") opts.dryRun = ["All"];
  return opts;
}

async function deleteOne(
  ctx: RestContext,
  kind: KindDef,
  old: KubeObject,
  opts: DeleteOptions,
): Promise<RestAnswer> {
  const pre = opts.preconditions;
  if (pre?.uid !== undefined && pre.uid !== old.metadata.uid)
    throw new StatusError(
      409,
      "Conflict",
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`,
    );
  if (pre?.resourceVersion !== undefined && pre.resourceVersion !== old.metadata.resourceVersion)
    throw new StatusError(
      409,
      "Conflict",
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
    );
  await ctx.admit("delete", kind, old);
  const dry = opts.dryRun?.includes("All") === true;
  const finalizers = [...(old.metadata.finalizers ?? [])];
  if (opts.propagationPolicy === "Foreground" && !finalizers.includes("foregroundDeletion"))
    finalizers.push("foregroundDeletion");
  // Graceful deletion: a bound pod waits for its kubelet; an object with finalizers waits for them.
  const grace =
    kind.kind === "Pod" && (old.spec as { nodeName?: string } | undefined)?.nodeName
      ? (opts.gracePeriodSeconds ?? 30)
      : 0;
  if (finalizers.length > 0 || grace > 0) {
    if (old.metadata.deletionTimestamp !== undefined) return { code: 200, body: old };
    const next: KubeObject = {
      ...old,
      metadata: {
        ...old.metadata,
        finalizers: finalizers.length > 0 ? finalizers : undefined,
        deletionTimestamp: metav1Time(ctx.now()),
        deletionGracePeriodSeconds: grace,
      },
    };
    if (dry) return { code: 200, body: next };
    return { code: 200, body: await ctx.store.update(kind, next, Number(old.metadata.resourceVersion)) };
  }
  if (!dry) await deleteStored(ctx, kind, old, Number(old.metadata.resourceVersion));
  return { code: 200, body: old };
}

async function remove(ctx: RestContext, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace, name } = req.path;
  const old = await ctx.store.get(kind, namespace, name as string);
  return deleteOne(ctx, kind, old, deleteOptions(req));
}

async function deleteCollection(ctx: RestContext, req: RestRequest): Promise<RestAnswer> {
  const listed = await list(ctx, {
    ...req,
    plainJson: false,
    method: "GET",
    query: { ...req.query, limit: undefined, continue: undefined },
  });
  const opts = deleteOptions(req);
  const deleted: KubeObject[] = [];
  for (const obj of listed.list?.items ?? []) {
    try {
      deleted.push((await deleteOne(ctx, req.path.kind, obj, opts)).body as KubeObject);
    } catch (e) {
      if (!(e instanceof StatusError && e.reason === "NotFound")) throw e;
    }
  }
  const k = req.path.kind;
  return {
    code: 200,
    body: {
      kind: `${k.kind}List`,
      apiVersion: apiVersionOf(k),
      metadata: listed.list?.meta ?? {},
      items: deleted,
    },
  };
}

export { notFound };
