/** An in-memory KubeletObjectSource for volume and env tests. */
import type {
  ConfigMap,
  KubeletObjectSource,
  Secret,
  ServiceAccountToken,
  TokenRequestOptions,
} from "../src/index.js";

export class MemorySource implements KubeletObjectSource {
  readonly configMaps = new Map<string, ConfigMap>();
  readonly secrets = new Map<string, Secret>();
  readonly tokenRequests: Array<{ namespace: string; sa: string; opts: TokenRequestOptions }> = [];
  tokenSerial = 0;

  setConfigMap(
    ns: string,
    name: string,
    data: Record<string, string>,
    binaryData?: Record<string, string>,
  ): void {
    this.configMaps.set(`${ns}/${name}`, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { namespace: ns, name },
      data,
      ...(binaryData === undefined ? {} : { binaryData }),
    });
  }

  /** Values given in clear; stored base64 as the API does. */
  setSecret(ns: string, name: string, data: Record<string, string>): void {
    const b64 = Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
    );
    this.secrets.set(`${ns}/${name}`, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { namespace: ns, name },
      data: b64,
    });
  }

  async getConfigMap(ns: string, name: string): Promise<ConfigMap | undefined> {
    return this.configMaps.get(`${ns}/${name}`);
  }
  async getSecret(ns: string, name: string): Promise<Secret | undefined> {
    return this.secrets.get(`${ns}/${name}`);
  }
  async requestServiceAccountToken(
    namespace: string,
    sa: string,
    opts: TokenRequestOptions,
  ): Promise<ServiceAccountToken> {
    this.tokenRequests.push({ namespace, sa, opts });
    this.tokenSerial++;
    return { token: `token-${sa}-${this.tokenSerial}`, expirationTimestamp: "2030-01-01T00:00:00Z" };
  }
}
