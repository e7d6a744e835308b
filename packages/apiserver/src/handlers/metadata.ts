/**
 * Metadata-only answers (kube: handlers/response.go transformObject, asPartialObjectMetadata and
 * asPartialObjectMetadataList): what the garbage collector, namespace and quota controllers read.
 * Each object becomes a meta.k8s.io/v1 PartialObjectMetadata with only its metadata; a list
 * becomes a PartialObjectMetadataList keeping the list's resourceVersion, continue and
 * remainingItemCount. Asking for one where the answer is the other is 406, as in kube.
 */
import type { KindDef, KubeObject } from "@skiff/api";
import { StatusError } from "../status.js";
import type { MetadataTarget } from "./content.js";

const META = "meta.k8s.io/v1";

export const asPartialObjectMetadata = (o: KubeObject) => ({
  kind: "PartialObjectMetadata",
  apiVersion: META,
  metadata: o.metadata,
});

const mismatch = (asked: MetadataTarget, kind: KindDef, list: boolean) =>
  new StatusError(
    406,
    "NotAcceptable",
    list
      ? `you requested ${asked}, but the requested object is a list (*v1.${kind.kind}List)`
      : `you requested ${asked}, but the requested object is not a list (*v1.${kind.kind})`,
  );

/** The metadata-only form of a get or list answer, or a 406 when the target does not fit. */
export function toPartial(
  target: MetadataTarget,
  kind: KindDef,
  answer: { body: unknown; list?: { items: KubeObject[]; meta: Record<string, unknown> } },
): unknown {
  if (answer.list !== undefined) {
    if (target !== "PartialObjectMetadataList") throw mismatch(target, kind, true);
    return {
      kind: "PartialObjectMetadataList",
      apiVersion: META,
      metadata: answer.list.meta,
      items: answer.list.items.map(asPartialObjectMetadata),
    };
  }
  const body = answer.body as KubeObject | undefined;
  // Only objects of the kind are converted (a Status, e.g. of a delete, goes out as it is).
  if (body === undefined || body.kind !== kind.kind || typeof body.metadata !== "object") return body;
  if (target !== "PartialObjectMetadata") throw mismatch(target, kind, false);
  return asPartialObjectMetadata(body);
}
