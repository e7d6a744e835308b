/**
 * ServiceAccount tokens as kube's (pkg/serviceaccount/claims.go, jwt.go): issued for TokenRequest
 * and checked by the authenticator and TokenReview. Claims: iss, sub
 * `system:serviceaccount:<ns>:<name>`, aud, exp, iat, nbf, jti and `kubernetes.io` with the
 * namespace, the ServiceAccount {name, uid} and the object the token is bound to (pod, secret or
 * node). A token is valid while it is signed by our key, within its times (kube's one minute of
 * leeway), meant for one of the audiences asked for, and its ServiceAccount, and the object it is
 * bound to, still exist with the uids it names and are not being deleted.
 */
import { createPublicKey, type KeyObject, randomUUID } from "node:crypto";
import type { KubeObject } from "@skiff/api";
import { AUTHENTICATED_GROUP, type UserInfo } from "../auth.js";
import { signJwt, verifyJwt } from "./jwt.js";

export const DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local";
/** go-jose's DefaultLeeway, which kube's validator uses. */
const LEEWAY_S = 60;

export type BoundKind = "Pod" | "Secret" | "Node";
export interface BoundObject {
  kind: BoundKind;
  name: string;
  uid: string;
}

/** Reads an object from the server's caches (undefined: not there). */
export type ObjectLookup = (
  resource: "serviceaccounts" | "pods" | "secrets" | "nodes",
  namespace: string | undefined,
  name: string,
) => KubeObject | undefined;

export interface IssueRequest {
  namespace: string;
  serviceAccount: { name: string; uid: string };
  audiences: string[];
  expirationSeconds: number;
  bound?: BoundObject;
  /** The node of a bound pod (kube 1.32 adds it to pod-bound tokens). */
  node?: { name: string; uid: string };
  /** kube's warnafter: the token is valid until exp but the kubelet should refresh it after this. */
  warnAfter?: number;
}

type Json = Record<string, unknown>;
const ref = (v: unknown): { name: string; uid: string } | undefined => {
  const o = v as Json | undefined;
  return typeof o?.name === "string" && typeof o?.uid === "string" ? { name: o.name, uid: o.uid } : undefined;
};

export class ServiceAccountTokens {
  readonly publicKey: KeyObject;
  /** Set once the server's caches are loaded; until then no token authenticates. */
  lookup: ObjectLookup | undefined;

  constructor(
    private readonly key: KeyObject,
    private readonly now: () => Date,
    readonly issuer = DEFAULT_ISSUER,
    /** kube-apiserver's --api-audiences (default: the issuer). */
    readonly apiAudiences: readonly string[] = [issuer],
  ) {
    this.publicKey = createPublicKey(key);
  }

  /** A signed token and when it expires. */
  issue(r: IssueRequest): { token: string; expires: Date } {
    const iat = Math.floor(this.now().getTime() / 1000);
    const exp = iat + r.expirationSeconds;
    const k8s: Json = { namespace: r.namespace };
    if (r.node !== undefined) k8s.node = r.node;
    if (r.bound?.kind === "Pod") k8s.pod = { name: r.bound.name, uid: r.bound.uid };
    if (r.bound?.kind === "Secret") k8s.secret = { name: r.bound.name, uid: r.bound.uid };
    if (r.bound?.kind === "Node") k8s.node = { name: r.bound.name, uid: r.bound.uid };
    k8s.serviceaccount = r.serviceAccount;
    if (r.warnAfter !== undefined) k8s.warnafter = r.warnAfter;
    const claims = {
      aud: r.audiences,
      exp,
      iat,
      iss: this.issuer,
      jti: randomUUID(),
      "kubernetes.io": k8s,
      nbf: iat,
      sub: `system:serviceaccount:${r.namespace}:${r.serviceAccount.name}`,
    };
    return { token: signJwt(claims, this.key), expires: new Date(exp * 1000) };
  }

  /**
   * The user a token names, and the audiences it was accepted for (those of `audiences`, default
   * the API's, that the token carries); undefined when it is not a valid token of ours.
   */
  authenticate(
    token: string,
    audiences: readonly string[] = this.apiAudiences,
  ): { user: UserInfo; audiences: string[] } | undefined {
    const lookup = this.lookup;
    if (lookup === undefined) return undefined;
    const c = verifyJwt(token, this.publicKey);
    if (c === undefined || c.iss !== this.issuer) return undefined;
    const now = this.now().getTime() / 1000;
    if (typeof c.exp !== "number" || now > c.exp + LEEWAY_S) return undefined;
    if (typeof c.nbf === "number" && now < c.nbf - LEEWAY_S) return undefined;
    if (typeof c.iat === "number" && now < c.iat - LEEWAY_S) return undefined;
    const aud = typeof c.aud === "string" ? [c.aud] : Array.isArray(c.aud) ? c.aud : [];
    const accepted = audiences.filter((a) => aud.includes(a));
    if (accepted.length === 0) return undefined;
    const k8s = c["kubernetes.io"] as Json | undefined;
    const ns = k8s?.namespace;
    const sa = ref(k8s?.serviceaccount);
    if (typeof ns !== "string" || sa === undefined) return undefined;
    if (c.sub !== `system:serviceaccount:${ns}:${sa.name}`) return undefined;
    const live = (o: KubeObject | undefined, uid: string) =>
      o !== undefined && o.metadata.uid === uid && o.metadata.deletionTimestamp === undefined;
    if (!live(lookup("serviceaccounts", ns, sa.name), sa.uid)) return undefined;
    const extra: Record<string, string[]> = {};
    const pod = ref(k8s?.pod);
    if (k8s?.pod !== undefined) {
      if (pod === undefined || !live(lookup("pods", ns, pod.name), pod.uid)) return undefined;
      extra["authentication.kubernetes.io/pod-name"] = [pod.name];
      extra["authentication.kubernetes.io/pod-uid"] = [pod.uid];
    }
    const secret = ref(k8s?.secret);
    if (
      k8s?.secret !== undefined &&
      (secret === undefined || !live(lookup("secrets", ns, secret.name), secret.uid))
    )
      return undefined;
    const node = ref(k8s?.node);
    if (node !== undefined) {
      // A pod-bound token names its pod's node for information; a node-bound one needs the node.
      if (pod === undefined && !live(lookup("nodes", undefined, node.name), node.uid)) return undefined;
      extra["authentication.kubernetes.io/node-name"] = [node.name];
      extra["authentication.kubernetes.io/node-uid"] = [node.uid];
    }
    if (typeof c.jti === "string") extra["authentication.kubernetes.io/credential-id"] = [`JTI=${c.jti}`];
    return {
      user: {
        name: `system:serviceaccount:${ns}:${sa.name}`,
        uid: sa.uid,
        groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`, AUTHENTICATED_GROUP],
        extra,
      },
      audiences: accepted,
    };
  }
}
