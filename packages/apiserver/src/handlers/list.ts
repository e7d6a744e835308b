/**
 * GET of a collection (kube: handlers/get.go ListResource): label and field selectors, pages with
 * `limit`/`continue` on one snapshot, resourceVersion "0" served from the watch cache,
 * resourceVersionMatch=Exact read at that revision. An unfiltered list for a plain JSON client
 * goes out as the stored JSON texts, with no parse and no re-serialization.
 */
import { apiVersionOf, type KubeObject } from "@skiff/api";
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from "../selectors.js";
import { badRequest } from "../status.js";
import { InvalidResourceVersion, versioner } from "../storage/versioner.js";
import { decodeContinue, encodeContinue } from "./continue.js";
import type { RequestScope, RestAnswer, RestRequest } from "./scope.js";

/** A list's metadata: its revision, and where the next page starts (with how many remain, unless filtered). */
function listMeta(
  page: { revision: number; nextKey: string | undefined; remaining: number },
  unfiltered: boolean,
): Record<string, unknown> {
  const meta: Record<string, unknown> = { resourceVersion: versioner.listResourceVersion(page.revision) };
  if (page.nextKey !== undefined) {
    meta.continue = encodeContinue(page.revision, page.nextKey);
    if (unfiltered) meta.remainingItemCount = page.remaining;
  }
  return meta;
}

/** The revision to read at: the continue token's, an Exact resourceVersion, or 0 (the latest). */
function readRevision(q: RestRequest["query"]): { revision: number; startKey: string | undefined } {
  if (q.continue) {
    const c = decodeContinue(q.continue);
    return { revision: c.rv, startKey: c.start };
  }
  if (q.resourceVersionMatch === "Exact" && q.resourceVersion) {
    try {
      return { revision: versioner.parseResourceVersion(q.resourceVersion), startKey: undefined };
    } catch (e) {
      // kube's etcd3 store answers an unparsable one with this 400.
      if (e instanceof InvalidResourceVersion) throw badRequest(`invalid resource version: ${e.message}`);
      throw e;
    }
  }
  return { revision: 0, startKey: undefined };
}

export async function list(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace } = req.path;
  const labels = parseLabelSelector(req.query.labelSelector);
  const fields = parseFieldSelector(req.query.fieldSelector, kind.resource);
  const limit = Number(req.query.limit ?? 0);
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`invalid limit "${req.query.limit}"`);
  const { revision, startKey } = readRevision(req.query);
  const fromCache = req.query.resourceVersion === "0" && !req.query.continue;
  if (req.plainJson === true && !fromCache && labels.length === 0 && fields.length === 0) {
    // Nothing to filter or render: the stored JSON goes out as it is, revision spliced in.
    const raw = await scope.store.listRaw(kind, namespace, { limit, startKey, revision });
    const meta = listMeta(raw, true);
    const head = JSON.stringify({ kind: `${kind.kind}List`, apiVersion: apiVersionOf(kind), metadata: meta });
    return { code: 200, body: undefined, rawBody: `${head.slice(0, -1)},"items":[${raw.items.join(",")}]}` };
  }
  let page: { items: KubeObject[]; revision: number; nextKey: string | undefined; remaining: number };
  if (fromCache) {
    // resourceVersion=0: any version will do, so the watch cache answers (all items, no paging).
    const snap = (await scope.cache.for(kind)).list(namespace);
    page = { items: snap.items, revision: snap.revision, nextKey: undefined, remaining: 0 };
  } else page = await scope.store.list(kind, namespace, { limit, startKey, revision });
  const items = page.items.filter(
    (o) => matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o),
  );
  const meta = listMeta(page, labels.length === 0 && fields.length === 0);
  const body = { kind: `${kind.kind}List`, apiVersion: apiVersionOf(kind), metadata: meta, items };
  return { code: 200, body, list: { kind, items, meta } };
}
