/**
 * What the namespace deleter needs of the API beyond the typed and metadata clients (kube's
 * NamespacedResourcesDeleter takes them as its discoverResourcesFn, its metadata client's
 * DeleteCollection and its namespace client's Finalize). httpNamespaceApi serves them with raw
 * requests of a KubeClient; unit tests pass their own.
 */
import { ApiError, type DeleteOptions, groupVersionPath } from "@skiff/client";
import type { RawClient } from "../util/discovery.js";
import { type DiscoverResourcesFn, serverPreferredNamespacedResources } from "./discovery.js";
import { apiVersionOf, type GroupVersionResource, type Namespace } from "./types.js";

export interface NamespaceDeleterApi {
  /** client-go's ServerPreferredNamespacedResources. */
  discoverResources: DiscoverResourcesFn;
  /**
   * DELETE on the namespace's collection of a resource (the metadata client's DeleteCollection);
   * throws the server's ApiError (405 or 404 where the resource has no DeleteCollection).
   */
  deleteCollection(gvr: GroupVersionResource, namespace: string, opts: DeleteOptions): Promise<void>;
  /** PUT namespaces/<name>/finalize: only spec.finalizers is taken (client-go's Namespaces().Finalize). */
  finalize(ns: Namespace): Promise<Namespace>;
}

/** The metadata client's Accept for a list, so DeleteCollection answers with metadata only. */
const METADATA_LIST_ACCEPT =
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

export function httpNamespaceApi(client: RawClient): NamespaceDeleterApi {
  return {
    discoverResources: serverPreferredNamespacedResources(client),
    async deleteCollection(gvr, namespace, opts) {
      const path = `${groupVersionPath(apiVersionOf(gvr))}/namespaces/${encodeURIComponent(namespace)}/${gvr.resource}`;
      const { dryRun, ...rest } = opts;
      const body = {
        kind: "DeleteOptions",
        apiVersion: "v1",
        ...rest,
        ...(dryRun ? { dryRun: ["All"] } : {}),
      };
      const r = await client.raw("DELETE", path, body, { accept: METADATA_LIST_ACCEPT });
      if (r.status < 200 || r.status > 299) throw new ApiError(r.status, r.body, `DELETE ${path}`);
    },
    async finalize(ns) {
      const path = `/api/v1/namespaces/${encodeURIComponent(ns.metadata.name as string)}/finalize`;
      const r = await client.raw("PUT", path, ns, { "content-type": "application/json" });
      if (r.status < 200 || r.status > 299) throw new ApiError(r.status, r.body, `PUT ${path}`);
      return r.body as Namespace;
    },
  };
}
