/**
 * POST serviceaccounts/<name>/token (kube's TokenRequest REST, pkg/registry/core/serviceaccount/
 * storage/token.go): an authentication.k8s.io/v1 TokenRequest in, the same with status.token and
 * status.expirationTimestamp out (201). audiences default to the API's; expirationSeconds to
 * 3600, at least 600 and at most 2^32; boundObjectRef may name a Pod (of this ServiceAccount), a
 * Secret or a Node, which must exist (with the uid given, if one is). A pod-bound request for
 * the API's audience of 3607 s (what the kubelet asks for the projected volume) gets a token
 * valid for a year that says to refresh it after 3607 s (kube's --service-account-extend-token-
 * expiration, on by default).
 */
import { type FieldError, invalid, type KindDef, type KubeObject } from "@skiff/api";
import { decodeBody } from "../handlers/content.js";
import type { RequestScope, RestAnswer, RestRequest } from "../handlers/scope.js";
import { badRequest, invalidObject, methodNotAllowed, StatusError } from "../status.js";
import type { BoundKind, BoundObject, ServiceAccountTokens } from "./tokens.js";

type Json = Record<string, unknown>;

const MIN_EXPIRATION_S = 600;
const DEFAULT_EXPIRATION_S = 3600;
const MAX_EXPIRATION_S = 2 ** 32;
/** kube's WarnOnlyBoundTokenExpirationSeconds and ExpirationExtensionSeconds. */
export const PROJECTED_TOKEN_EXPIRATION_S = 3607;
const EXTENDED_EXPIRATION_S = 365 * 24 * 3600;

const TOKEN_REQUEST = { kind: "TokenRequest.authentication.k8s.io", group: "authentication.k8s.io" };

function validate(spec: Json): FieldError[] {
  const errs: FieldError[] = [];
  const e = spec.expirationSeconds as number;
  if (e < MIN_EXPIRATION_S)
    errs.push(invalid("spec.expirationSeconds", e, "may not specify a duration less than 10 minutes"));
  if (e > MAX_EXPIRATION_S)
    errs.push(invalid("spec.expirationSeconds", e, "may not specify a duration larger than 2^32 seconds"));
  return errs;
}

async function boundObject(
  scope: RequestScope,
  namespace: string,
  saName: string,
  r: Json,
): Promise<{ bound: BoundObject; node?: { name: string; uid: string } }> {
  const kind = typeof r.kind === "string" ? r.kind : "";
  const apiVersion = typeof r.apiVersion === "string" ? r.apiVersion : "";
  const slash = apiVersion.indexOf("/");
  const resources: Record<BoundKind, string> = { Pod: "pods", Secret: "secrets", Node: "nodes" };
  // kube's schema.GroupVersionKind.String(): "/v1, Kind=Foo", "apps/v1, Kind=Foo".
  if (slash >= 0 || !(kind === "Pod" || kind === "Secret" || kind === "Node"))
    throw badRequest(
      `cannot bind token to object of type ${slash < 0 ? `/${apiVersion}` : apiVersion}, Kind=${kind}`,
    );
  const k = scope.registry.resource("", "v1", resources[kind]) as KindDef;
  const name = (r.name as string | undefined) ?? "";
  const obj: KubeObject = await scope.store.get(k, k.namespaced ? namespace : undefined, name);
  const uid = obj.metadata.uid as string;
  if (typeof r.uid === "string" && r.uid !== "" && r.uid !== uid)
    throw new StatusError(
      409,
      "Conflict",
      `Operation cannot be fulfilled on ${kind} "${name}": the UID in the bound object reference (${r.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
      { name, kind },
    );
  if (kind !== "Pod") return { bound: { kind, name, uid } };
  const spec = (obj.spec ?? {}) as Json;
  if ((spec.serviceAccountName ?? "default") !== saName)
    throw badRequest(
      `cannot bind token for serviceaccount "${saName}" to pod running with different serviceaccount name.`,
    );
  const nodeName = spec.nodeName;
  if (typeof nodeName !== "string" || nodeName === "") return { bound: { kind, name, uid } };
  const nodeKind = scope.registry.resource("", "v1", "nodes") as KindDef;
  const node = await scope.store.get(nodeKind, undefined, nodeName).catch(() => undefined);
  return {
    bound: { kind, name, uid },
    ...(node === undefined ? {} : { node: { name: nodeName, uid: node.metadata.uid as string } }),
  };
}

export async function tokenRequest(
  scope: RequestScope,
  req: RestRequest,
  tokens: ServiceAccountTokens,
): Promise<RestAnswer> {
  if (req.verb !== "create") throw methodNotAllowed();
  const { kind, namespace, name } = req.path;
  const body = decodeBody(req.body, req.contentType);
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw badRequest("the body of the request must be a JSON object");
  const tr = body as Json;
  if (tr.kind !== undefined && tr.kind !== "TokenRequest")
    throw badRequest(`the body of the request was in an unknown format - kind ${String(tr.kind)}`);
  const sa = await scope.store.get(kind, namespace, name as string);
  const spec: Json = { ...((tr.spec ?? {}) as Json) };
  const audiences =
    Array.isArray(spec.audiences) && spec.audiences.length > 0 ? spec.audiences : [...tokens.apiAudiences];
  if (!audiences.every((a) => typeof a === "string")) throw badRequest("spec.audiences must be strings");
  spec.audiences = audiences;
  if (spec.expirationSeconds === undefined || spec.expirationSeconds === null)
    spec.expirationSeconds = DEFAULT_EXPIRATION_S;
  if (typeof spec.expirationSeconds !== "number" || !Number.isInteger(spec.expirationSeconds))
    throw badRequest("spec.expirationSeconds must be an integer");
  if (spec.boundObjectRef === null) delete spec.boundObjectRef;
  const errs = validate(spec);
  if (errs.length > 0) throw invalidObject(TOKEN_REQUEST, "", errs);
  const ns = namespace as string;
  const bound =
    spec.boundObjectRef === undefined
      ? undefined
      : await boundObject(scope, ns, name as string, spec.boundObjectRef as Json);
  if (bound !== undefined) spec.boundObjectRef = { ...(spec.boundObjectRef as Json), uid: bound.bound.uid };
  const requested = spec.expirationSeconds as number;
  const extend =
    bound?.bound.kind === "Pod" &&
    requested === PROJECTED_TOKEN_EXPIRATION_S &&
    (audiences as string[]).every((a) => tokens.apiAudiences.includes(a));
  const now = scope.now();
  const issued = tokens.issue({
    namespace: ns,
    serviceAccount: { name: name as string, uid: sa.metadata.uid as string },
    audiences: audiences as string[],
    expirationSeconds: extend ? EXTENDED_EXPIRATION_S : requested,
    ...(bound === undefined ? {} : { bound: bound.bound }),
    ...(bound?.node === undefined ? {} : { node: bound.node }),
    ...(extend ? { warnAfter: Math.floor(now.getTime() / 1000) + requested } : {}),
  });
  const expires = extend ? new Date(now.getTime() + requested * 1000) : issued.expires;
  return {
    code: 201,
    body: {
      kind: "TokenRequest",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { name, namespace, creationTimestamp: now.toISOString().replace(/\.\d+Z$/, "Z") },
      spec,
      status: { token: issued.token, expirationTimestamp: expires.toISOString().replace(/\.\d+Z$/, "Z") },
    },
  };
}
