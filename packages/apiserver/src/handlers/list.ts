/**
 * GET of a collection (kube: handlers/get.go ListResource, and where the cacher or the store
 * serves it): label and field selectors, pages with `limit`/`continue` on one snapshot, and
 * resourceVersion as kube-apiserver 1.32 reads it:
 *   ""                      the store, at its latest revision (a consistent read);
 *   "0", or N (NotOlderThan) the watch cache, once it has reached N (else 504 after 3 s);
 *   N with limit, no match  the store at exactly N (kube's legacy exact read);
 *   N with Exact            the store at exactly N (a future N is 504, a compacted one 410).
 * An unfiltered list for a plain JSON client goes out as the stored JSON texts, with no parse and
 * no re-serialization.
 */
import { apiVersionOf, type KindDef, type KubeObject } from "@skiff/api";
import { firstValue, listOptions } from "../request/list-options.js";
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from "../selectors.js";
import { badRequest, tooLargeResourceVersion } from "../status.js";
import type { EtcdKV } from "../storage/etcd.js";
import { listPrefix } from "../storage/registry-store.js";
import { InvalidResourceVersion, versioner } from "../storage/versioner.js";
import { decodeContinue, encodeContinue } from "./continue.js";
import type { RequestScope, RestAnswer, RestRequest } from "./scope.js";

/** How long a list or watch waits for the watch cache to reach its revision (kube's cacher: 3 s). */
export const FRESHNESS_WAIT_MS = 3000;

/** A list's metadata: its revision, and where the next page starts (with how many remain, unless filtered). */
function listMeta(
  page: { revision: number; nextKey: string | undefined; remaining: number },
  prefix: string,
  unfiltered: boolean,
): Record<string, unknown> {
  const meta: Record<string, unknown> = { resourceVersion: versioner.listResourceVersion(page.revision) };
  if (page.nextKey !== undefined) {
    meta.continue = encodeContinue(page.revision, `${page.nextKey}\u0000`, prefix);
    if (unfiltered) meta.remainingItemCount = page.remaining;
  }
  return meta;
}

/** A client's resourceVersion as a revision; not a decimal revision is kube's etcd3 store 400. */
export function parseRequestedRevision(rv: string): number {
  try {
    return versioner.parseResourceVersion(rv);
  } catch (e) {
    if (e instanceof InvalidResourceVersion) throw badRequest(`invalid resource version: ${e.message}`);
    throw e;
  }
}

type Source = { limit: number } & (
  | { cache: true; revision: number }
  | { cache: false; revision: number; startKey?: string }
);

/** Where a list is read from, and at which revision (0: the latest). */
function source(q: RestRequest["query"], prefix: string): Source {
  const o = listOptions(q, false);
  const limit = Math.max(o.limit, 0);
  if (o.continue !== "") {
    if (o.resourceVersion !== "" && o.resourceVersion !== "0")
      throw badRequest("specifying resource version is not allowed when using continue");
    const c = decodeContinue(o.continue, prefix);
    return { limit, cache: false, revision: Math.max(c.rv, 0), startKey: c.start };
  }
  const revision = parseRequestedRevision(o.resourceVersion);
  if (o.resourceVersion === "") return { limit, cache: false, revision: 0 };
  if (o.resourceVersionMatch === "Exact") return { limit, cache: false, revision };
  if (limit > 0 && o.resourceVersionMatch === "" && revision > 0) return { limit, cache: false, revision };
  return { limit, cache: true, revision };
}

/** A read at a revision the store has not reached is kube's 504 Too large resource version. */
async function tooLarge(kv: EtcdKV, revision: number, e: unknown): Promise<never> {
  if (revision > 0 && /future revision/.test(String((e as Error).message))) {
    const current = (await kv.range("/registry/", { countOnly: true })).revision;
    throw tooLargeResourceVersion(revision, current);
  }
  throw e;
}

export async function list(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace } = req.path;
  const labels = parseLabelSelector(firstValue(req.query.labelSelector));
  const fields = parseFieldSelector(firstValue(req.query.fieldSelector), kind.resource);
  const prefix = listPrefix(kind, namespace);
  const from = source(req.query, prefix);
  const limit = from.limit;
  const unfiltered = labels.length === 0 && fields.length === 0;
  if (!from.cache && req.plainJson === true && unfiltered) {
    // Nothing to filter or render: the stored JSON goes out as it is, revision spliced in.
    const raw = await scope.store
      .listRaw(kind, namespace, { limit, startKey: from.startKey, revision: from.revision })
      .catch((e: unknown) => tooLarge(scope.store.kv, from.revision, e));
    const meta = listMeta(raw, prefix, true);
    const head = JSON.stringify({ kind: `${kind.kind}List`, apiVersion: apiVersionOf(kind), metadata: meta });
    return { code: 200, body: undefined, rawBody: `${head.slice(0, -1)},"items":[${raw.items.join(",")}]}` };
  }
  const page = from.cache
    ? await fromCache(scope, kind, namespace, from.revision)
    : await scope.store
        .list(kind, namespace, { limit, startKey: from.startKey, revision: from.revision })
        .catch((e: unknown) => tooLarge(scope.store.kv, from.revision, e));
  const items = page.items.filter(
    (o) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o),
  );
  const meta = listMeta(page, prefix, unfiltered);
  const body = { kind: `${kind.kind}List`, apiVersion: apiVersionOf(kind), metadata: meta, items };
  return { code: 200, body, list: { kind, items, meta } };
}

/** The watch cache's state, once it is at least at `revision` (all items, no paging). */
async function fromCache(
  scope: RequestScope,
  kind: KindDef,
  namespace: string | undefined,
  revision: number,
) {
  const rc = await scope.cache.for(kind);
  if (!(await rc.waitFresh(revision, FRESHNESS_WAIT_MS)))
    throw tooLargeResourceVersion(revision, rc.revision);
  const snap = rc.snapshot(namespace);
  const page: { items: KubeObject[]; revision: number; nextKey: undefined; remaining: number } = {
    items: snap.items,
    revision: snap.revision,
    nextKey: undefined,
    remaining: 0,
  };
  return page;
}
