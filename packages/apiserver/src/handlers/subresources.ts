/**
 * Subresources beyond status: `scale` (autoscaling/v1 Scale over spec.replicas, what `kubectl
 * scale` patches), pods/`binding` (the scheduler's bind: sets spec.nodeName once) and
 * pods/`eviction` (policy/v1 Eviction, what `kubectl drain` posts: deletes the pod, honouring
 * PodDisruptionBudgets when there are any).
 */
import {
  applyMergePatch,
  applyStrategicMergePatch,
  type JsonValue,
  type KindDef,
  type KubeObject,
  selectorMatches,
} from "@skiff/api";
import type { DeleteOptions } from "../registry/store.js";
import { tokenRequest } from "../serviceaccount/token-request.js";
import { badRequest, conflict, methodNotAllowed, StatusError, tooManyRequests } from "../status.js";
import { versioner } from "../storage/versioner.js";
import { decodeBody, patchTypeOf } from "./content.js";
import { deleteObject } from "./delete.js";
import { prepareUpdate } from "./prepare.js";
import type { RequestScope, RestAnswer, RestRequest } from "./scope.js";
import { updateObject } from "./update.js";

type Json = Record<string, unknown>;

function toScale(obj: KubeObject): Json {
  const spec = (obj.spec ?? {}) as Json;
  const status = (obj.status ?? {}) as Json;
  const match = ((spec.selector as Json | undefined)?.matchLabels ?? {}) as Record<string, string>;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 0 },
    status: {
      replicas: status.replicas ?? 0,
      selector: Object.entries(match)
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
    },
  };
}

async function scale(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace, name } = req.path;
  const obj = await scope.store.get(kind, namespace, name as string);
  if (req.method === "GET") return { code: 200, body: toScale(obj) };
  let wanted: Json;
  if (req.method === "PUT") wanted = decodeBody(req.body, req.contentType) as Json;
  else if (req.method === "PATCH") {
    const patch = decodeBody(req.body, "application/json") as JsonValue;
    const base = toScale(obj) as JsonValue;
    wanted = (
      patchTypeOf(req.contentType) === "strategic"
        ? applyStrategicMergePatch(base, patch)
        : applyMergePatch(base, patch)
    ) as Json;
  } else throw methodNotAllowed();
  const replicas = (wanted.spec as Json | undefined)?.replicas;
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)
    throw badRequest(`spec.replicas must be a non-negative integer, got ${JSON.stringify(replicas)}`);
  const rv = (wanted.metadata as Json | undefined)?.resourceVersion;
  if (req.method === "PUT" && rv !== undefined && rv !== "" && rv !== obj.metadata.resourceVersion)
    throw conflict(
      kind,
      name as string,
      "the object has been modified; please apply your changes to the latest version and try again",
    );
  // Through the same update path as the main resource (admission, storage).
  const next = prepareUpdate(kind, { ...obj, spec: { ...(obj.spec as Json), replicas } }, obj, undefined);
  return {
    code: 200,
    body: toScale(await updateObject(scope, req, next, obj, versioner.objectResourceVersion(obj))),
  };
}

async function binding(scope: RequestScope, req: RestRequest, podKind: KindDef): Promise<RestAnswer> {
  if (req.method !== "POST") throw methodNotAllowed();
  const b = decodeBody(req.body, req.contentType) as { target?: { name?: string; kind?: string } };
  const node = b.target?.name;
  if (typeof node !== "string" || node === "") throw badRequest("a binding needs target.name (the node)");
  const pod = await scope.store.get(podKind, req.path.namespace, req.path.name as string);
  const spec = (pod.spec ?? {}) as Json;
  if (spec.nodeName !== undefined && spec.nodeName !== "")
    throw conflict(
      podKind,
      pod.metadata.name as string,
      `pod ${pod.metadata.name} is already assigned to node "${spec.nodeName}"`,
    );
  if (pod.metadata.deletionTimestamp !== undefined)
    throw conflict(podKind, pod.metadata.name as string, "pod is being deleted");
  await scope.store.update(
    podKind,
    { ...pod, spec: { ...spec, nodeName: node } },
    versioner.objectResourceVersion(pod),
  );
  return {
    code: 201,
    body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 },
  };
}

async function eviction(scope: RequestScope, req: RestRequest, podKind: KindDef): Promise<RestAnswer> {
  if (req.method !== "POST") throw methodNotAllowed();
  const pod = await scope.store.get(podKind, req.path.namespace, req.path.name as string);
  const pdbKind = scope.registry.resource("policy", "v1", "poddisruptionbudgets");
  if (pdbKind !== undefined) {
    const pdbs = await scope.store.list(pdbKind, req.path.namespace);
    for (const pdb of pdbs.items) {
      const selects = selectorMatches((pdb.spec as Json | undefined)?.selector, pod.metadata.labels);
      const allowed = Number(((pdb.status ?? {}) as Json).disruptionsAllowed ?? 0);
      if (selects && allowed <= 0) {
        const e = tooManyRequests(10);
        throw new StatusError(
          429,
          "TooManyRequests",
          `Cannot evict pod as it would violate the pod's disruption budget.`,
          {
            ...e.details,
            causes: [
              {
                reason: "DisruptionBudget",
                message: `The disruption budget ${pdb.metadata.name} needs more healthy pods`,
              },
            ],
          },
        );
      }
    }
  }
  // The pod goes the way a DELETE takes it (graceful for a bound pod, quota given back).
  const body =
    req.body !== undefined && req.body.length > 0 ? (decodeBody(req.body, req.contentType) as Json) : {};
  await deleteObject(scope, req, pod, (body?.deleteOptions ?? {}) as DeleteOptions);
  return {
    code: 201,
    body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 },
  };
}

/** Serves `req` if it is for scale, binding or eviction; undefined otherwise. */
export function subresource(scope: RequestScope, req: RestRequest): Promise<RestAnswer> | undefined {
  const { kind, subresource: sub } = req.path;
  if (sub === "scale" && kind.subresources.includes("scale")) return scale(scope, req);
  if (sub === "binding" && kind.kind === "Pod") return binding(scope, req, kind);
  if (sub === "eviction" && kind.kind === "Pod") return eviction(scope, req, kind);
  if (sub === "token" && kind.kind === "ServiceAccount")
    return tokenRequest(scope, req, scope.serviceAccountTokens);
  return undefined;
}
