/**
 * pods/eviction (kube: pkg/registry/core/pod/storage/eviction.go), what `kubectl drain` posts: the
 * pod is deleted as a DELETE would, unless a PodDisruptionBudget forbids it (429). When a budget
 * allows it, its status.disruptionsAllowed is decremented and the pod recorded in disruptedPods
 * in the same store transaction as the pod's deletion; a concurrent change of the budget makes
 * the check run again on the new budget. Terminal, pending and terminating pods ignore budgets.
 */
import { type KindDef, type KubeObject, metav1Time, selectorMatches } from "@skiff/api";
import type { DeleteOptions } from "../registry/store.js";
import { badRequest, forbidden, internalError, methodNotAllowed, StatusError } from "../status.js";
import { encodeForStore, type GuardedWrite, objectKey } from "../storage/registry-store.js";
import { versioner } from "../storage/versioner.js";
import { decodeBody } from "./content.js";
import { deleteObject } from "./delete.js";
import type { RequestScope, RestAnswer, RestRequest } from "./scope.js";

type Json = Record<string, unknown>;

/** kube's MaxDisruptedPodSize. */
const MAX_DISRUPTED_PODS = 2000;

const success = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 };

/** kube's canIgnorePDB: a pod that is done, not started, or already going needs no budget. */
function canIgnorePDB(pod: KubeObject): boolean {
  const phase = ((pod.status ?? {}) as Json).phase;
  return (
    phase === "Succeeded" ||
    phase === "Failed" ||
    phase === "Pending" ||
    pod.metadata.deletionTimestamp !== undefined
  );
}

function budgetRefuses(message: string): StatusError {
  return new StatusError(
    429,
    "TooManyRequests",
    "Cannot evict pod as it would violate the pod's disruption budget.",
    {
      causes: [{ reason: "DisruptionBudget", message }],
    },
  );
}

/** The budget's write for evicting `pod` (the guarded PDB status), or an error when it refuses. */
async function budgetWrite(scope: RequestScope, pdbKind: KindDef, pod: KubeObject): Promise<GuardedWrite[]> {
  const ns = pod.metadata.namespace;
  const pdbs = (await scope.store.list(pdbKind, ns)).items.filter((pdb) =>
    selectorMatches((pdb.spec as Json | undefined)?.selector, pod.metadata.labels),
  );
  if (pdbs.length === 0) return [];
  if (pdbs.length > 1)
    throw internalError(
      "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
    );
  const pdb = pdbs[0] as KubeObject;
  const status = (pdb.status ?? {}) as Json;
  const name = pdb.metadata.name as string;
  if (Number(status.observedGeneration ?? 0) < Number(pdb.metadata.generation ?? 0))
    throw budgetRefuses(`The disruption budget ${name} is still being processed by the server.`);
  const allowed = Number(status.disruptionsAllowed ?? 0);
  if (allowed < 0) throw forbidden("pdb disruptions allowed is negative");
  const disrupted = { ...((status.disruptedPods ?? {}) as Json) };
  if (Object.keys(disrupted).length > MAX_DISRUPTED_PODS)
    throw forbidden("DisruptedPods map too big - too many evictions not confirmed by PDB controller");
  if (allowed === 0)
    throw budgetRefuses(
      `The disruption budget ${name} needs ${Number(status.desiredHealthy ?? 0)} healthy pods and has ${Number(status.currentHealthy ?? 0)} currently`,
    );
  disrupted[pod.metadata.name as string] = metav1Time(scope.now());
  const next: KubeObject = {
    ...pdb,
    status: { ...status, disruptionsAllowed: allowed - 1, disruptedPods: disrupted },
  };
  return [
    {
      key: objectKey(pdbKind, ns, name),
      value: encodeForStore(next),
      modRevision: versioner.objectResourceVersion(pdb),
    },
  ];
}

export async function eviction(scope: RequestScope, req: RestRequest, podKind: KindDef): Promise<RestAnswer> {
  if (req.method !== "POST") throw methodNotAllowed();
  const body =
    req.body !== undefined && req.body.length > 0 ? (decodeBody(req.body, req.contentType) as Json) : {};
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw badRequest("the body of an eviction must be an Eviction object");
  const evName = (body.metadata as Json | undefined)?.name;
  if (evName !== undefined && evName !== req.path.name)
    throw badRequest("name in URL does not match name in Eviction object");
  const opts = (body.deleteOptions ?? {}) as DeleteOptions;
  if (typeof opts !== "object" || opts === null || Array.isArray(opts))
    throw badRequest("deleteOptions must be a DeleteOptions object");
  const pod = await scope.store.get(podKind, req.path.namespace, req.path.name as string);
  const pdbKind = scope.registry.resource("policy", "v1", "poddisruptionbudgets");
  // The pod goes the way a DELETE takes it (graceful for a bound pod, quota given back).
  await deleteObject(scope, req, pod, { ...opts }, async (current) =>
    pdbKind === undefined || canIgnorePDB(current) || isDryRun(opts)
      ? []
      : budgetWrite(scope, pdbKind, current),
  );
  return { code: 201, body: success };
}

function isDryRun(opts: DeleteOptions): boolean {
  return Array.isArray(opts.dryRun) && opts.dryRun.includes("All");
}
