/**
 * Template equality with the pod-template-hash label aside (deploymentutil.EqualIgnoreHash): two
 * templates are equal when their canonical JSON (util/hash.ts: empty values dropped, as
 * apimachinery's semantic equality treats nil and empty alike) is, so a template round-tripped
 * through kubectl compares equal to the one it came from.
 */

import { canonicalJson } from "../../util/hash.js";
import type { PodTemplateSpec } from "../../util/pod-control.js";
import { DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY } from "../types.js";

/** A template without the pod-template-hash label (for comparisons). */
function withoutHash(t: PodTemplateSpec): PodTemplateSpec {
  const labels = { ...(t.metadata?.labels ?? {}) };
  delete labels[DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY];
  return { ...t, metadata: { ...t.metadata, labels } };
}

/** deploymentutil.EqualIgnoreHash: semantic equality of two templates, the hash label aside. */
export function equalIgnoreHash(a: PodTemplateSpec, b: PodTemplateSpec): boolean {
  return canonicalJson(withoutHash(a)) === canonicalJson(withoutHash(b));
}
