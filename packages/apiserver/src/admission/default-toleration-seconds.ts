/**
 * DefaultTolerationSeconds (kube's plugin/pkg/admission/defaulttolerationseconds): a pod that
 * does not already tolerate node.kubernetes.io/not-ready:NoExecute (or
 * node.kubernetes.io/unreachable:NoExecute), by that key or by an empty key, with that effect or
 * an empty one, gets a toleration of it for --default-not-ready-toleration-seconds (or
 * --default-unreachable-toleration-seconds), 300 s by default. So that a pod survives a short
 * node outage, but is evicted by the taint eviction controller after a long one. Only pods,
 * never their subresources; on CREATE and UPDATE, as kube.
 */
import { TaintNodeNotReady, TaintNodeUnreachable, type Toleration } from "@skiff/api";
import type { AdmissionPlugin, Attributes, Operation } from "./interface.js";

/** kube's default for both flags. */
export const DEFAULT_TOLERATION_SECONDS = 300;

export interface DefaultTolerationSecondsOptions {
  notReadySeconds?: number | undefined;
  unreachableSeconds?: number | undefined;
}

export class DefaultTolerationSeconds implements AdmissionPlugin {
  readonly name = "DefaultTolerationSeconds";
  private readonly notReadySeconds: number;
  private readonly unreachableSeconds: number;

  constructor(o: DefaultTolerationSecondsOptions = {}) {
    this.notReadySeconds = o.notReadySeconds ?? DEFAULT_TOLERATION_SECONDS;
    this.unreachableSeconds = o.unreachableSeconds ?? DEFAULT_TOLERATION_SECONDS;
  }

  handles(op: Operation): boolean {
    return op === "CREATE" || op === "UPDATE";
  }

  async admit(a: Attributes): Promise<void> {
    if (a.kind.group !== "" || a.kind.resource !== "pods" || a.subresource !== undefined) return;
    if (a.object === undefined) return;
    const spec = (a.object.spec ?? {}) as { tolerations?: Toleration[] };
    const tolerations = Array.isArray(spec.tolerations) ? spec.tolerations : [];
    const tolerates = (key: string) =>
      tolerations.some(
        (t) =>
          (t.key === key || (t.key ?? "") === "") && (t.effect === "NoExecute" || (t.effect ?? "") === ""),
      );
    const add: Toleration[] = [];
    if (!tolerates(TaintNodeNotReady))
      add.push({
        key: TaintNodeNotReady,
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: this.notReadySeconds,
      });
    if (!tolerates(TaintNodeUnreachable))
      add.push({
        key: TaintNodeUnreachable,
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: this.unreachableSeconds,
      });
    if (add.length === 0) return;
    spec.tolerations = [...tolerations, ...add];
    a.object.spec = spec;
  }
}
