/**
 * KubeClient: one connection pool to the API servers (TLS and credentials from a ClientConfig;
 * failover between several), resource clients on it, and raw requests for whatever they do not
 * cover.
 */
import type { KubeObject } from "@skiff/api";
import type { ClientConfig } from "./config.js";
import { Http, type RawResponse } from "./http.js";
import { HttpResourceClient, type PartialObjectMetadata, type ResourceClient } from "./resource.js";

/** What a client and its views share: the watches to stop on close, and whether it is closed. */
interface Life {
  readonly watches: Set<AbortController>;
  closed: boolean;
}

/**
 * What informers, event sinks and controllers need of a client (client-go's kubernetes.Interface
 * plus its metadata client): KubeClient, or a fake one recording actions in tests.
 */
export interface ClientInterface {
  resource<T extends KubeObject = KubeObject>(
    apiVersion: string,
    resource: string,
    namespace?: string,
  ): ResourceClient<T>;
  metadata(apiVersion: string, resource: string, namespace?: string): ResourceClient<PartialObjectMetadata>;
}

export class KubeClient implements ClientInterface {
  private readonly http: Http;
  private readonly life: Life;

  constructor(readonly config: ClientConfig) {
    this.http = new Http(config);
    this.life = { watches: new Set(), closed: false };
  }

  /**
   * A view of this client that skips `config.writeGuard`: the same connections, endpoints and
   * lifetime (closing either closes both). For the writes that must go on while the guard
   * refuses the others, such as a leader elector's own Lease.
   */
  withoutWriteGuard(): KubeClient {
    if (this.config.writeGuard === undefined) return this;
    const config: ClientConfig = { ...this.config };
    delete config.writeGuard;
    const view = Object.create(KubeClient.prototype) as KubeClient;
    Object.assign(view, { config, http: this.http.unguarded(config), life: this.life });
    return view;
  }

  /** The API server URL requests go to first: the one that last answered. */
  get currentServer(): string {
    return this.http.currentServer;
  }

  /**
   * Registers a watch's abort controller (aborted on close); returns its unregister. A method, not
   * a field: the views withoutWriteGuard makes share the prototype, not the instance's fields.
   */
  private trackWatch(ac: AbortController): () => boolean {
    if (this.life.closed) ac.abort();
    this.life.watches.add(ac);
    return () => this.life.watches.delete(ac);
  }

  /** e.g. ("v1", "pods", "default"), ("apps/v1", "deployments", "ns"), ("v1", "nodes"). */
  resource<T extends KubeObject = KubeObject>(
    apiVersion: string,
    resource: string,
    namespace?: string,
  ): ResourceClient<T> {
    return new HttpResourceClient<T>(this.http, (ac) => this.trackWatch(ac), apiVersion, resource, namespace);
  }

  /**
   * The same resource, metadata only (client-go's metadata client): every answer and watch event
   * carries meta.k8s.io/v1 PartialObjectMetadata, what garbage collection and quota read.
   */
  metadata(apiVersion: string, resource: string, namespace?: string): ResourceClient<PartialObjectMetadata> {
    return new HttpResourceClient<PartialObjectMetadata>(
      this.http,
      (ac) => this.trackWatch(ac),
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
    if (this.life.closed) return;
    this.life.closed = true;
    for (const w of this.life.watches) w.abort();
    this.life.watches.clear();
    await this.http.close();
  }
}
