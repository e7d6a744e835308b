/**
 * The service accounts controller (kube's pkg/controller/serviceaccount/
 * serviceaccounts_controller.go): every Active namespace holds the service accounts to ensure
 * (`default`), created through the API when missing and made again when deleted. A namespace is
 * queued when it is added or changes and when one of its ensured accounts is deleted; the sync
 * reads both from the informer caches. A namespace that is not Active is left alone, and a
 * create refused because the namespace started terminating is no error (kube's
 * NamespaceTerminatingCause).
 */
import type { KubeObject } from "@skiff/api";
import { ApiError, type Informer, isAlreadyExists, keyOf } from "@skiff/client";
import type { ControllerContext } from "../context.js";
import { deletedObject, QueueController } from "../controller.js";

/** kube's DefaultServiceAccountsControllerOptions: the one account every namespace gets. */
export const DEFAULT_SERVICE_ACCOUNT_NAME = "default";

interface NamespaceLike extends KubeObject {
  status?: { phase?: string };
}

export interface ServiceAccountsControllerOptions {
  /** The accounts to ensure (default: ["default"]). */
  serviceAccounts?: readonly string[];
}

/** Whether a refusal says the namespace is terminating (kube's HasStatusCause NamespaceTerminating). */
export function hasNamespaceTerminatingCause(e: unknown): boolean {
  if (!(e instanceof ApiError)) return false;
  const causes = (e.details as { causes?: { reason?: string }[] } | undefined)?.causes ?? [];
  return causes.some((c) => c.reason === "NamespaceTerminating");
}

export class ServiceAccountsController extends QueueController {
  private readonly namespaces: Informer<NamespaceLike>;
  private readonly serviceAccounts: Informer;
  private readonly toEnsure: readonly string[];

  constructor(ctx: ControllerContext, o: ServiceAccountsControllerOptions = {}) {
    super("serviceaccount-controller", ctx, { queueName: "serviceaccount" });
    this.toEnsure = o.serviceAccounts ?? [DEFAULT_SERVICE_ACCOUNT_NAME];
    this.serviceAccounts = ctx.informers.informerFor("v1", "serviceaccounts");
    this.serviceAccounts.addEventHandler({
      onDelete: (sa, tombstone) => {
        const obj = deletedObject(sa, tombstone);
        if (this.toEnsure.includes(obj.metadata.name as string))
          this.queue.add(obj.metadata.namespace as string);
      },
    });
    this.namespaces = ctx.informers.informerFor<NamespaceLike>("v1", "namespaces");
    this.namespaces.addEventHandler({
      onAdd: (ns) => this.enqueue(ns),
      onUpdate: (_old, ns) => this.enqueue(ns),
    });
  }

  /** kube's syncNamespace. */
  async sync(key: string): Promise<void> {
    const ns = this.namespaces.get(key);
    if (ns === undefined || ns.status?.phase !== "Active") return;
    const failures: Error[] = [];
    for (const name of this.toEnsure) {
      if (this.serviceAccounts.get(keyOf({ metadata: { namespace: key, name } } as KubeObject)) !== undefined)
        continue;
      try {
        await this.ctx.client
          .resource("v1", "serviceaccounts", key)
          .create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: key } });
      } catch (e) {
        if (isAlreadyExists(e) || hasNamespaceTerminatingCause(e)) continue;
        failures.push(e instanceof Error ? e : new Error(String(e)));
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, failures.map((e) => e.message).join(", "));
  }
}
