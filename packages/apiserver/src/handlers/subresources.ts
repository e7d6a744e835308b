/**
 * Subresources beyond status: `scale` (autoscaling/v1 Scale over spec.replicas, what `kubectl
 * scale` patches), pods/`binding` (the scheduler's bind: sets spec.nodeName once) and
 * pods/`eviction` (policy/v1 Eviction, what `kubectl drain` posts: deletes the pod, honouring
 * PodDisruptionBudgets when there are any).
 */
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  type JsonValue,
  type KindDef,
  type KubeObject,
  metav1Time,
  PatchError,
} from "@skiff/api";
import { tokenRequest } from "../serviceaccount/token-request.js";
import { badRequest, conflict, methodNotAllowed, unsupportedMediaType } from "../status.js";
import { versioner } from "../storage/versioner.js";
import { approval } from "./approval.js";
import { decodeBody, MAX_BODY_BYTES, patchTypeOf } from "./content.js";
import { eviction } from "./eviction.js";
import { finalize } from "./finalize.js";
import { checkUidPrecondition, isStaleConflict, MAX_RETRIES } from "./preconditions.js";
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

/** The Scale the client wants: its body (PUT) or the current Scale patched (PATCH). */
function wantedScale(req: RestRequest, obj: KubeObject): Json {
  let wanted: unknown;
  if (req.method === "PUT") wanted = decodeBody(req.body, req.contentType);
  else if (req.method === "PATCH") {
    const type = patchTypeOf(req.contentType);
    if (type === "apply") throw unsupportedMediaType(req.contentType ?? "");
    const patch = decodeBody(req.body, "application/json") as JsonValue;
    const base = toScale(obj) as JsonValue;
    try {
      wanted =
        type === "json"
          ? applyJsonPatch(base, patch as never, { accumulatedCopySizeLimit: MAX_BODY_BYTES })
          : type === "strategic"
            ? applyStrategicMergePatch(base, patch)
            : applyMergePatch(base, patch);
    } catch (e) {
      if (e instanceof PatchError) throw badRequest(e.message);
      throw e;
    }
  } else throw methodNotAllowed();
  if (typeof wanted !== "object" || wanted === null || Array.isArray(wanted))
    throw badRequest("the body of the request must be a Scale object");
  return wanted as Json;
}

async function scale(scope: RequestScope, req: RestRequest): Promise<RestAnswer> {
  const { kind, namespace, name } = req.path;
  // kube's scale update is a GuaranteedUpdate: without a resourceVersion, lost races are retried.
  for (let attempt = 0; ; attempt++) {
    const obj = await scope.store.get(kind, namespace, name as string);
    if (req.method === "GET") return { code: 200, body: toScale(obj) };
    const wanted = wantedScale(req, obj);
    const replicas = (wanted.spec as Json | undefined)?.replicas;
    if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)
      throw badRequest(`spec.replicas must be a non-negative integer, got ${JSON.stringify(replicas)}`);
    const rv = (wanted.metadata as Json | undefined)?.resourceVersion;
    const conditional = req.method === "PUT" && rv !== undefined && rv !== "";
    if (conditional && rv !== obj.metadata.resourceVersion)
      throw conflict(
        kind,
        name as string,
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    // Through the same update path as the main resource (admission, storage).
    const next = prepareUpdate(kind, { ...obj, spec: { ...(obj.spec as Json), replicas } }, obj, undefined);
    try {
      const stored = await updateObject(scope, req, next, obj, versioner.objectResourceVersion(obj));
      return { code: 200, body: toScale(stored) };
    } catch (e) {
      if (conditional || !isStaleConflict(e) || attempt >= MAX_RETRIES) throw e;
    }
  }
}

/** kube's podutil.UpdatePodCondition for PodScheduled=True: the transition time moves on a change. */
function scheduledCondition(status: Json, now: string): Json[] {
  const conditions = ((status.conditions as Json[] | undefined) ?? []).filter(
    (c) => c.type !== "PodScheduled",
  );
  const prior = ((status.conditions as Json[] | undefined) ?? []).find((c) => c.type === "PodScheduled");
  const lastTransitionTime = prior?.status === "True" ? (prior.lastTransitionTime ?? now) : now;
  return [...conditions, { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime }];
}

async function binding(scope: RequestScope, req: RestRequest, podKind: KindDef): Promise<RestAnswer> {
  if (req.method !== "POST") throw methodNotAllowed();
  const b = decodeBody(req.body, req.contentType) as {
    metadata?: { uid?: string };
    target?: { name?: string; kind?: string };
  };
  const node = b?.target?.name;
  if (typeof node !== "string" || node === "") throw badRequest("a binding needs target.name (the node)");
  // kube's BindingREST.setPodHostAndAnnotations: a GuaranteedUpdate, retried on lost races.
  for (let attempt = 0; ; attempt++) {
    const pod = await scope.store.get(podKind, req.path.namespace, req.path.name as string);
    const name = pod.metadata.name as string;
    checkUidPrecondition(podKind, b.metadata?.uid, pod);
    const spec = (pod.spec ?? {}) as Json;
    if (pod.metadata.deletionTimestamp !== undefined)
      throw conflict(podKind, name, `pod ${name} is being deleted, cannot be assigned to a host`);
    if (spec.nodeName !== undefined && spec.nodeName !== "")
      throw conflict(podKind, name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
    const status = (pod.status ?? {}) as Json;
    const next = {
      ...pod,
      spec: { ...spec, nodeName: node },
      status: { ...status, conditions: scheduledCondition(status, metav1Time(scope.now())) },
    };
    try {
      const stored = await scope.store.update(podKind, next, versioner.objectResourceVersion(pod));
      scope.cache.observe(podKind, stored);
      break;
    } catch (e) {
      if (!isStaleConflict(e) || attempt >= MAX_RETRIES) throw e;
    }
  }
  return {
    code: 201,
    body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 },
  };
}

/** Serves `req` if it is for scale, binding, eviction, approval, token or finalize; else undefined. */
export function subresource(scope: RequestScope, req: RestRequest): Promise<RestAnswer> | undefined {
  const { kind, subresource: sub } = req.path;
  if (sub === "scale" && kind.subresources.includes("scale")) return scale(scope, req);
  if (sub === "binding" && kind.kind === "Pod") return binding(scope, req, kind);
  if (sub === "eviction" && kind.kind === "Pod") return eviction(scope, req, kind);
  if (sub === "finalize" && kind.kind === "Namespace" && kind.group === "") return finalize(scope, req);
  if (sub === "approval" && kind.subresources.includes("approval")) return approval(scope, req);
  if (sub === "token" && kind.kind === "ServiceAccount")
    return tokenRequest(scope, req, scope.serviceAccountTokens);
  return undefined;
}
