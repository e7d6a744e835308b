/**
 * Health endpoints as Kubernetes components serve them (k8s.io/apiserver/pkg/server/healthz):
 * `/livez` (restart me if this fails), `/readyz` (send me traffic), `/healthz` (both, the older
 * name), each a list of named checks. `/readyz/<check>` runs one; `?verbose` lists every check as
 * `[+]name ok` / `[-]name failed: reason withheld`; `?exclude=name` skips one. A failure is HTTP 500
 * with the same text, as kube-apiserver answers.
 */

/** A check passes by returning undefined; a string is why it fails (logged, not served). */
export type HealthCheck = () => string | undefined | Promise<string | undefined>;

export type HealthEndpoint = "livez" | "readyz" | "healthz";

export interface HealthAnswer {
  code: number;
  body: string;
}

export class Health {
  private readonly live = new Map<string, HealthCheck>([["ping", () => undefined]]);
  private readonly ready = new Map<string, HealthCheck>();

  /** A liveness check; liveness checks count for readiness too. */
  addLivez(name: string, check: HealthCheck): this {
    this.live.set(name, check);
    return this;
  }

  /** A readiness-only check (a cache not yet synced, a store without a leader, shutting down). */
  addReadyz(name: string, check: HealthCheck): this {
    this.ready.set(name, check);
    return this;
  }

  private checksOf(endpoint: HealthEndpoint): Map<string, HealthCheck> {
    return endpoint === "livez" ? this.live : new Map([...this.live, ...this.ready]);
  }

  /**
   * The answer for `/<endpoint>[/<check>]`. `query` is the URL's search parameters. Unknown check
   * names are 404, as kube-apiserver's.
   */
  async serve(
    endpoint: HealthEndpoint,
    check: string | undefined,
    query: URLSearchParams,
  ): Promise<HealthAnswer> {
    const all = this.checksOf(endpoint);
    if (check !== undefined) {
      const one = all.get(check);
      if (one === undefined) return { code: 404, body: "404 page not found\n" };
      const failed = await run(one);
      return failed === undefined
        ? { code: 200, body: "ok" }
        : { code: 500, body: `internal server error: ${failed}\n` };
    }
    const excluded = new Set(query.getAll("exclude"));
    const lines: string[] = [];
    let ok = true;
    for (const [name, c] of all) {
      if (excluded.has(name)) {
        lines.push(`[+]${name} excluded: ok`);
        continue;
      }
      const failed = await run(c);
      if (failed !== undefined) ok = false;
      lines.push(failed === undefined ? `[+]${name} ok` : `[-]${name} failed: reason withheld`);
    }
    const verdict = `${endpoint} check ${ok ? "passed" : "failed"}`;
    if (ok && !query.has("verbose")) return { code: 200, body: "ok" };
    return { code: ok ? 200 : 500, body: `${lines.join("\n")}\n${verdict}\n` };
  }

  /** The names of the failing checks of an endpoint (for logs and ready lines). */
  async failing(endpoint: HealthEndpoint): Promise<string[]> {
    const out: string[] = [];
    for (const [name, c] of this.checksOf(endpoint)) if ((await run(c)) !== undefined) out.push(name);
    return out;
  }
}

async function run(check: HealthCheck): Promise<string | undefined> {
  try {
    return await check();
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Splits `/readyz/etcd` into its endpoint and check; undefined for any other path. */
export function healthPath(
  path: string,
): { endpoint: HealthEndpoint; check: string | undefined } | undefined {
  const m = /^\/(livez|readyz|healthz)(?:\/([^/]+))?\/?$/.exec(path);
  if (m === null) return undefined;
  return { endpoint: m[1] as HealthEndpoint, check: m[2] };
}
