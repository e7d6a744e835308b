/**
 * Where the kubelet reads the API objects volumes and env refer to: ConfigMaps, Secrets and
 * service account tokens (kube's configmap.Manager, secret.Manager and token.Manager, behind one
 * seam so that tests use an in-memory source). ClientObjectSource serves it over the API.
 */
import type { KubeObject } from "@skiff/api";
import { type ClientInterface, isNotFound } from "@skiff/client";

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  /** base64, as the API carries it. */
  binaryData?: Record<string, string>;
}

export interface Secret extends KubeObject {
  /** base64, as the API carries it. */
  data?: Record<string, string>;
  type?: string;
}

export interface TokenRequestOptions {
  audiences: string[];
  expirationSeconds: number;
  boundPod: { name: string; uid: string };
}

export interface ServiceAccountToken {
  token: string;
  /** RFC 3339, as TokenRequest's status.expirationTimestamp. */
  expirationTimestamp: string;
}

export interface KubeletObjectSource {
  /** undefined when the ConfigMap does not exist; throws on other failures. */
  getConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  /** undefined when the Secret does not exist; throws on other failures. */
  getSecret(namespace: string, name: string): Promise<Secret | undefined>;
  /** A token for the service account bound to the pod (POST serviceaccounts/<sa>/token). */
  requestServiceAccountToken(
    namespace: string,
    serviceAccountName: string,
    opts: TokenRequestOptions,
  ): Promise<ServiceAccountToken>;
}

/** The configmap "x" not found message of kube's configmap.Manager (resource "configmap"). */
export const configMapNotFound = (name: string) => `configmap ${JSON.stringify(name)} not found`;
export const secretNotFound = (name: string) => `secret ${JSON.stringify(name)} not found`;

/** kube's token manager's jitter bound (maxJitter) and longest reuse (maxTTL). */
const MAX_JITTER_MS = 10_000;
const MAX_TTL_MS = 24 * 3600 * 1000;

interface CachedToken extends ServiceAccountToken {
  expirationSeconds: number;
}

/**
 * KubeletObjectSource over the API: ConfigMaps and Secrets read live on every call (kube's "Get"
 * change detection strategy), tokens cached as kube's token.Manager does and renewed once
 * within 20% of their lifetime of expiring (or after 24 h), with up to 10 s of jitter.
 */
export class ClientObjectSource implements KubeletObjectSource {
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    private readonly client: ClientInterface,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  async getConfigMap(namespace: string, name: string): Promise<ConfigMap | undefined> {
    return this.client
      .resource<ConfigMap>("v1", "configmaps", namespace)
      .get(name)
      .catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
  }

  async getSecret(namespace: string, name: string): Promise<Secret | undefined> {
    return this.client
      .resource<Secret>("v1", "secrets", namespace)
      .get(name)
      .catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
  }

  async requestServiceAccountToken(
    namespace: string,
    serviceAccountName: string,
    opts: TokenRequestOptions,
  ): Promise<ServiceAccountToken> {
    this.dropExpired();
    const key = JSON.stringify([
      namespace,
      serviceAccountName,
      opts.audiences,
      opts.expirationSeconds,
      opts.boundPod,
    ]);
    const cached = this.tokens.get(key);
    if (cached !== undefined && !this.requiresRefresh(cached)) return cached;
    // The token subresource, reached as a namespaced "resource" path: POST
    // /api/v1/namespaces/<ns>/serviceaccounts/<sa>/token.
    const tr = await this.client
      .resource("v1", `serviceaccounts/${encodeURIComponent(serviceAccountName)}/token`, namespace)
      .create({
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        metadata: {},
        spec: {
          audiences: opts.audiences,
          expirationSeconds: opts.expirationSeconds,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: opts.boundPod.name, uid: opts.boundPod.uid },
        },
      });
    const status = tr.status as { token?: string; expirationTimestamp?: string } | undefined;
    if (typeof status?.token !== "string" || typeof status.expirationTimestamp !== "string")
      throw new Error(`serviceaccounts "${serviceAccountName}": the TokenRequest answer has no token`);
    const token: CachedToken = {
      token: status.token,
      expirationTimestamp: status.expirationTimestamp,
      expirationSeconds: opts.expirationSeconds,
    };
    this.tokens.set(key, token);
    return { token: token.token, expirationTimestamp: token.expirationTimestamp };
  }

  /** token.Manager's requiresRefresh. */
  private requiresRefresh(t: CachedToken): boolean {
    const now = this.now();
    const exp = Date.parse(t.expirationTimestamp);
    const ttlMs = t.expirationSeconds * 1000;
    const iat = exp - ttlMs;
    const jitter = Math.floor(this.random() * MAX_JITTER_MS);
    if (now > iat + MAX_TTL_MS - jitter) return true;
    return now > exp - ttlMs * 0.2 - jitter;
  }

  /** token.Manager's cleanup: expired tokens are forgotten (pods gone stop asking). */
  private dropExpired(): void {
    const now = this.now();
    for (const [k, t] of this.tokens) if (Date.parse(t.expirationTimestamp) < now) this.tokens.delete(k);
  }
}
