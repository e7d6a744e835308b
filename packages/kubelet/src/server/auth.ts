/**
 * Who may use the kubelet's API (kube's kubelet --client-ca-file x509 authentication, then its
 * authorizer). A request must come with a client certificate signed by the client CA (else 401);
 * its user (CN) and groups (O) must be the API server's kubelet client
 * (`kube-apiserver-kubelet-client`, as kubeadm names apiserver-kubelet-client.crt) or be in
 * `system:masters` (else 403). Upstream asks the API server with a SubjectAccessReview
 * (--authorization-mode=Webhook); Skiff's kubelet has one fixed rule instead.
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { KubeletError } from "./status.js";

export const KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client";
export const MASTERS_GROUP = "system:masters";

export interface KubeletUser {
  name: string;
  groups: string[];
}

/** The user of a verified client certificate, or a 401 KubeletError. */
export function authenticate(req: IncomingMessage): KubeletUser {
  const socket = req.socket as TLSSocket;
  if (socket.authorized !== true || typeof socket.getPeerCertificate !== "function")
    throw new KubeletError(401, "Unauthorized", "Unauthorized");
  const subject = socket.getPeerCertificate().subject;
  const cn = subject?.CN;
  if (typeof cn !== "string" || cn === "") throw new KubeletError(401, "Unauthorized", "Unauthorized");
  const o = subject.O as string | string[] | undefined;
  return { name: cn, groups: Array.isArray(o) ? o : o === undefined ? [] : [o] };
}

/**
 * kube's kubelet authorizer attributes: resource `nodes`, subresource by path (log for
 * /containerLogs, proxy for /exec, /attach, /portForward and the rest), and its Forbidden text.
 */
export function authorize(user: KubeletUser, verb: string, subresource: string): void {
  if (user.name === KUBELET_CLIENT_USER || user.groups.includes(MASTERS_GROUP)) return;
  throw new KubeletError(
    403,
    "Forbidden",
    `Forbidden (user=${user.name}, verb=${verb}, resource=nodes, subresource(s)=[${subresource}])`,
  );
}

/** The subresource kube's kubelet authorizer names for a path (server/auth.go GetRequestAttributes). */
export function subresourceOf(path: string): string {
  if (path.startsWith("/containerLogs/")) return "log";
  if (path === "/pods" || path.startsWith("/pods/")) return "proxy";
  if (path === "/healthz") return "healthz";
  return "proxy";
}
