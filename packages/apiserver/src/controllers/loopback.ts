/**
 * How the in-process controllers talk to the API (kube-apiserver's loopback client): every call
 * goes through the verb handlers (handlers/dispatch.ts), so admission, validation and the
 * per-kind storage apply exactly as to a client's request (a deleted Service releases its IP and
 * node ports, finalizers are honoured, quota is charged and given back). Only the HTTP layer and
 * the filters are skipped; the caller is the privileged `system:apiserver` user. Errors are the
 * StatusErrors a client would get.
 */
import type { KindDef, KubeObject } from "@skiff/api";
import type { UserInfo } from "../auth.js";
import { dispatch } from "../handlers/dispatch.js";
import type { RequestScope, RestAnswer } from "../handlers/scope.js";
import type { DeleteOptions } from "../registry/store.js";
import { StatusError } from "../status.js";

export const LOOPBACK_USER: UserInfo = {
  name: "system:apiserver",
  groups: ["system:masters", "system:authenticated"],
};

type Query = Record<string, string | undefined>;

export class LoopbackClient {
  constructor(private readonly scope: RequestScope) {}

  kind(group: string, version: string, resource: string): KindDef {
    const k = this.scope.registry.resource(group, version, resource);
    if (k === undefined) throw new Error(`no ${resource} in ${group}/${version}`);
    return k;
  }

  get kinds(): readonly KindDef[] {
    return this.scope.registry.kinds;
  }

  private call(
    method: string,
    verb: string,
    kind: KindDef,
    where: { namespace?: string; name?: string; subresource?: string },
    body?: unknown,
    query: Query = {},
  ): Promise<RestAnswer> {
    return dispatch(this.scope, {
      method,
      verb,
      path: {
        kind,
        namespace: kind.namespaced ? where.namespace : undefined,
        name: where.name,
        subresource: where.subresource,
      },
      query,
      contentType: body === undefined ? undefined : "application/json",
      body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
      user: LOOPBACK_USER,
      plainJson: false,
    });
  }

  async get(kind: KindDef, namespace: string | undefined, name: string): Promise<KubeObject> {
    return (await this.call("GET", "get", kind, { namespace, name })).body as KubeObject;
  }

  /** The object, or undefined when it does not exist. */
  async find(kind: KindDef, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.get(kind, namespace, name);
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) return undefined;
      throw e;
    }
  }

  async list(kind: KindDef, namespace: string | undefined, query: Query = {}): Promise<KubeObject[]> {
    const a = await this.call("GET", "list", kind, { namespace }, undefined, query);
    return a.list?.items ?? (a.body as { items?: KubeObject[] }).items ?? [];
  }

  async create(kind: KindDef, namespace: string | undefined, obj: KubeObject): Promise<KubeObject> {
    return (await this.call("POST", "create", kind, { namespace }, obj)).body as KubeObject;
  }

  /** PUT of the object (or of its `status` / `finalize` subresource), guarded by its resourceVersion. */
  async update(kind: KindDef, obj: KubeObject, subresource?: string): Promise<KubeObject> {
    const where = { namespace: obj.metadata.namespace, name: obj.metadata.name, subresource };
    return (await this.call("PUT", "update", kind, where, obj)).body as KubeObject;
  }

  async delete(
    kind: KindDef,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<KubeObject> {
    return (
      await this.call(
        "DELETE",
        "delete",
        kind,
        { namespace, name },
        { kind: "DeleteOptions", apiVersion: "v1", ...opts },
      )
    ).body as KubeObject;
  }

  /** DELETE on a namespace's collection of a kind (kube's DeleteCollection). */
  async deleteCollection(kind: KindDef, namespace: string, opts: DeleteOptions = {}): Promise<void> {
    await this.call(
      "DELETE",
      "deletecollection",
      kind,
      { namespace },
      { kind: "DeleteOptions", apiVersion: "v1", ...opts },
    );
  }
}
