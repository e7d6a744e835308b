/**
 * Client configuration, and reading it from a kubeconfig file: the named (or current) context's
 * cluster and user, with the `*-data` fields (base64 PEM) or the file fields (paths relative to
 * the kubeconfig's directory), a bearer token or token file.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";

export interface ClientConfig {
  /** The API server's base URL, e.g. https://127.0.0.1:6443. */
  server: string;
  /**
   * Every API server's URL, for failover (the same TLS material must work with each); `server`
   * comes first whether or not it is listed. A request that cannot reach one goes to the next.
   */
  servers?: string[];
  /** PEM: the CA that signs the server's certificate. */
  ca?: string;
  /** PEM: the client certificate and its key (mTLS). */
  cert?: string;
  key?: string;
  /** Bearer token. */
  token?: string;
  /** Timeout of one non-watch request (headers and body), ms; default 30 s. */
  timeoutMs?: number;
  /** Connections per API server for requests (watches have their own); default 32. */
  maxConnectionsPerServer?: number;
  /**
   * Called before every request that is not a GET or HEAD; throwing refuses the write before
   * anything is sent (e.g. a component that is not the elected leader any more).
   */
  writeGuard?: () => void;
}

type Fields = Record<string, unknown>;

function entry(doc: Fields, list: string, inner: string, name: string): Fields {
  const items = doc[list];
  if (!Array.isArray(items)) throw new Error(`kubeconfig: no ${list}`);
  const found = (items as (Fields | null)[]).find((i) => i?.name === name);
  if (found === undefined || found === null) throw new Error(`kubeconfig: no ${inner} named "${name}"`);
  const v = found[inner];
  return typeof v === "object" && v !== null ? (v as Fields) : {};
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** A PEM from `<field>-data` (base64) or `<field>` (a file path), if either is set. */
function pem(obj: Fields, field: string, base: string): string | undefined {
  const data = str(obj[`${field}-data`]);
  if (data !== undefined) return Buffer.from(data, "base64").toString("utf8");
  const file = str(obj[field]);
  return file === undefined ? undefined : readFileSync(resolve(base, file), "utf8");
}

/** Reads a kubeconfig file; `context` defaults to its current-context. */
export function configFromKubeconfig(file: string, context?: string): ClientConfig {
  const doc = parseYaml(readFileSync(file, "utf8")) as unknown;
  if (typeof doc !== "object" || doc === null) throw new Error(`kubeconfig ${file}: not a YAML mapping`);
  const cfg = doc as Fields;
  const ctxName = context ?? str(cfg["current-context"]);
  if (ctxName === undefined) throw new Error(`kubeconfig ${file}: no current-context and no context given`);
  const ctx = entry(cfg, "contexts", "context", ctxName);
  const clusterName = str(ctx.cluster);
  if (clusterName === undefined) throw new Error(`kubeconfig ${file}: context "${ctxName}" has no cluster`);
  const cluster = entry(cfg, "clusters", "cluster", clusterName);
  const server = str(cluster.server);
  if (server === undefined) throw new Error(`kubeconfig ${file}: cluster "${clusterName}" has no server`);
  const base = dirname(resolve(file));
  const out: ClientConfig = { server };
  const ca = pem(cluster, "certificate-authority", base);
  if (ca !== undefined) out.ca = ca;
  const userName = str(ctx.user);
  if (userName !== undefined) {
    const user = entry(cfg, "users", "user", userName);
    const cert = pem(user, "client-certificate", base);
    const key = pem(user, "client-key", base);
    if (cert !== undefined) out.cert = cert;
    if (key !== undefined) out.key = key;
    const token = str(user.token);
    const tokenFile = str(user.tokenFile);
    if (token !== undefined) out.token = token;
    else if (tokenFile !== undefined) out.token = readFileSync(resolve(base, tokenFile), "utf8").trim();
  }
  return out;
}
