/**
 * KubeClient: one connection pool to one API server (TLS and credentials from a ClientConfig),
 * resource clients on it, and raw requests for whatever they do not cover.
 */
import type { KubeObject } from "@skiff/api";
import type { ClientConfig } from "./config.js";
import { Http, type RawResponse } from "./http.js";
import { HttpResourceClient, type PartialObjectMetadata, type ResourceClient } from "./resource.js";

export class KubeClient {
  private readonly http: Http;
  private readonly watches = new Set<AbortController>();
  private closed = false;

  constructor(readonly config: ClientConfig) {
    this.http = new Http(config);
  }

  /** e.g. ("v1", "pods", "default"), ("apps/v1", "deployments", "ns"), ("v1", "nodes"). */
  resource<T extends KubeObject = KubeObject>(
    apiVersion: string,
    resource: string,
    namespace?: string,
  ): ResourceClient<T> {
    return new HttpResourceClient<T>(
      this.http,
      (ac) => {
        if (this.closed) ac.abort();
        this.watches.add(ac);
        return () => this.watches.delete(ac);
      },
      apiVersion,
      resource,
      namespace,
    );
  }

  /**
   * The same resource, metadata only (client-go's metadata client): every answer and watch event
   * carries meta.k8s.io/v1 PartialObjectMetadata, what garbage collection and quota read.
   */
  metadata(apiVersion: string, resource: string, namespace?: string): ResourceClient<PartialObjectMetadata> {
    return new HttpResourceClient<PartialObjectMetadata>(
      this.http,
      (ac) => {
        if (this.closed) ac.abort();
        this.watches.add(ac);
        return () => this.watches.delete(ac);
      },
      apiVersion,
      resource,
      namespace,
      true,
    );
  }

  /**
   * Any request (path with its query string). A body that is not a string or bytes is sent as
   * JSON. The answer is returned whatever its status; a JSON body is parsed.
   */
  raw(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<RawResponse> {
    return this.http.raw(method, path, body, headers);
  }

  /** Stops every watch, waits for requests in flight, and closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watches) w.abort();
    this.watches.clear();
    await this.http.close();
  }
}
