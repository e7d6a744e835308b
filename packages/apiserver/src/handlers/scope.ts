/**
 * What every verb handler gets (kube: handlers.RequestScope in k8s.io/apiserver/pkg/endpoints/
 * handlers/rest.go). Handlers are framework-free: a request is a plain object and the answer is
 * { code, body, ... }, written to the client by response.ts.
 */
import type { KindDef, KubeObject, Registry } from "@skiff/api";
import type { AdmissionChain } from "../admission/chain.js";
import type { Attributes, Operation } from "../admission/interface.js";
import type { Authorizer, TokenAuthenticator, UserInfo } from "../auth.js";
import type { ResourceStorage } from "../registry/store.js";
import type { ResourcePath } from "../request/requestinfo.js";
import type { ServiceAccountTokens } from "../serviceaccount/tokens.js";
import type { RegistryStore } from "../storage/registry-store.js";
import type { WatchCache } from "../storage/watch-cache.js";

export interface RestRequest {
  method: string;
  /** kube's verb, from the RequestInfo. */
  verb: string;
  path: ResourcePath;
  query: Record<string, string | undefined>;
  contentType: string | undefined;
  body: Buffer | undefined;
  user: UserInfo | undefined;
  /** The User-Agent header: the field manager of a write that names none (kube: prefixFromUserAgent). */
  userAgent?: string;
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

export interface RequestScope {
  registry: Registry;
  /** Reads (get, list); writes go through `storage` (but a pod's binding, which only sets spec.nodeName). */
  store: RegistryStore;
  /** Serves watches, and lists at resourceVersion=0 (any version is fine) without a store read. */
  cache: WatchCache;
  /** The storage of a kind (kube: the rest.Storage installed for the resource). */
  storage(kind: KindDef): ResourceStorage;
  admission: AdmissionChain;
  now: () => Date;
  /** Issues and checks ServiceAccount tokens (serviceaccounts/token, TokenReview). */
  serviceAccountTokens: ServiceAccountTokens;
  /** Answers SelfSubjectAccessReview and its kin, as the authorization filter asks it. */
  authorizer: Authorizer;
  /** The server's other bearer tokens (--token-auth-file), for TokenReview; none if unset. */
  otherTokens?: TokenAuthenticator;
}

export const isDryRun = (q: RestRequest["query"]) => q.dryRun === "All";

/** The admission attributes of a write (kube: admission.NewAttributesRecord). */
export function attributesOf(
  operation: Operation,
  req: RestRequest,
  object: KubeObject | undefined,
  oldObject: KubeObject | undefined,
  dryRun: boolean,
): Attributes {
  const meta = (object ?? oldObject)?.metadata;
  return {
    operation,
    kind: req.path.kind,
    namespace: meta?.namespace ?? req.path.namespace,
    name: meta?.name ?? req.path.name ?? "",
    subresource: req.path.subresource,
    object,
    oldObject,
    userInfo: req.user,
    dryRun,
    writes: [],
  };
}
