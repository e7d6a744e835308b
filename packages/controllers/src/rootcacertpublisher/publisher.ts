/**
 * The root CA certificate publisher (kube's pkg/controller/certificates/rootcacertpublisher):
 * every namespace holds a ConfigMap `kube-root-ca.crt` whose only data is `ca.crt`, the cluster
 * CA (what the ServiceAccount admission plugin's projected volume mounts beside the token), with
 * kube's `kubernetes.io/description` annotation. A namespace is queued when it is added, when it
 * changes while Active, and when its kube-root-ca.crt is updated or deleted; the sync creates
 * the ConfigMap or puts its data and annotation back. Unlike kube, which watches every ConfigMap
 * of the cluster, the ConfigMap informer lists and watches only this name (a field selector).
 */
import type { KubeObject } from "@skiff/api";
import { cloneObject, type Informer, isNotFound } from "@skiff/client";
import { Counter, Histogram } from "prom-client";
import type { ControllerContext } from "../context.js";
import { deletedObject, QueueController } from "../controller.js";
import { hasNamespaceTerminatingCause } from "../serviceaccount/serviceaccounts-controller.js";

/** kube's RootCACertConfigMapName. */
export const ROOT_CA_CERT_CONFIGMAP_NAME = "kube-root-ca.crt";
/** kube's DescriptionAnnotation and its value. */
export const DESCRIPTION_ANNOTATION = "kubernetes.io/description";
export const DESCRIPTION =
  "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}
interface NamespaceLike extends KubeObject {
  status?: { phase?: string };
}

export class RootCACertPublisher extends QueueController {
  private readonly configMaps: Informer<ConfigMap>;
  private readonly syncTotal: Counter<"code">;
  private readonly syncDuration: Histogram<"code">;

  constructor(
    ctx: ControllerContext,
    private readonly rootCA: string,
  ) {
    super("root-ca-certificate-publisher-controller", ctx, { queueName: "root_ca_cert_publisher" });
    this.configMaps = ctx.informers.informerFor<ConfigMap>("v1", "configmaps", {
      fieldSelector: `metadata.name=${ROOT_CA_CERT_CONFIGMAP_NAME}`,
    });
    this.configMaps.addEventHandler({
      onUpdate: (_old, cm) => this.configMapChanged(cm),
      onDelete: (cm, tombstone) => this.configMapChanged(deletedObject(cm, tombstone)),
    });
    const namespaces = ctx.informers.informerFor<NamespaceLike>("v1", "namespaces");
    namespaces.addEventHandler({
      onAdd: (ns) => this.queue.add(ns.metadata.name as string),
      onUpdate: (_old, ns) => {
        if (ns.status?.phase === "Active") this.queue.add(ns.metadata.name as string);
      },
    });
    // kube's root_ca_cert_publisher_sync_total and _sync_duration_seconds.
    this.syncTotal =
      (ctx.metrics.getSingleMetric("root_ca_cert_publisher_sync_total") as Counter<"code">) ??
      new Counter({
        name: "root_ca_cert_publisher_sync_total",
        help: "Number of namespace syncs happened in root ca cert publisher.",
        labelNames: ["code"],
        registers: [ctx.metrics],
      });
    this.syncDuration =
      (ctx.metrics.getSingleMetric("root_ca_cert_publisher_sync_duration_seconds") as Histogram<"code">) ??
      new Histogram({
        name: "root_ca_cert_publisher_sync_duration_seconds",
        help: "Number of namespace syncs happened in root ca cert publisher.",
        labelNames: ["code"],
        buckets: [
          0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192,
          16.384,
        ],
        registers: [ctx.metrics],
      });
  }

  private configMapChanged(cm: ConfigMap): void {
    if (cm.metadata.name === ROOT_CA_CERT_CONFIGMAP_NAME) this.queue.add(cm.metadata.namespace as string);
  }

  async sync(ns: string): Promise<void> {
    const start = this.ctx.clock.now();
    let code = "200";
    try {
      await this.syncNamespace(ns);
    } catch (e) {
      code = String((e as { status?: number }).status ?? 500);
      throw e;
    } finally {
      this.syncTotal.inc({ code });
      this.syncDuration.observe({ code }, (this.ctx.clock.now() - start) / 1000);
    }
  }

  /** kube's syncNamespace. */
  private async syncNamespace(ns: string): Promise<void> {
    const client = this.ctx.client.resource<ConfigMap>("v1", "configmaps", ns);
    const cm = this.configMaps.get(`${ns}/${ROOT_CA_CERT_CONFIGMAP_NAME}`);
    const data = { "ca.crt": this.rootCA };
    if (cm === undefined) {
      try {
        await client.create({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: {
            name: ROOT_CA_CERT_CONFIGMAP_NAME,
            namespace: ns,
            annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION },
          },
          data,
        });
      } catch (e) {
        // No retry when the namespace is gone or terminating.
        if (isNotFound(e) || hasNamespaceTerminatingCause(e)) return;
        throw e;
      }
      return;
    }
    const same =
      Object.keys(cm.data ?? {}).length === 1 &&
      cm.data?.["ca.crt"] === this.rootCA &&
      (cm.metadata.annotations?.[DESCRIPTION_ANNOTATION] ?? "") !== "";
    if (same) return;
    const next = cloneObject(cm);
    next.data = data;
    next.metadata.annotations = { ...next.metadata.annotations, [DESCRIPTION_ANNOTATION]: DESCRIPTION };
    await client.update(next);
  }
}
