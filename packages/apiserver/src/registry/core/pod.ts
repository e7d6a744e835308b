/**
 * Pod storage hooks (kube: pkg/registry/core/pod, podStrategy.CheckGracefulDelete): a pod bound to
 * a node is deleted gracefully, so its kubelet can stop it (30 s unless the client says otherwise);
 * an unbound pod has nothing running and goes at once.
 */
import type { Strategy } from "../strategy.js";

export const podStrategy: Strategy = {
  gracePeriodSeconds: (pod, opts) =>
    (pod.spec as { nodeName?: string } | undefined)?.nodeName ? (opts.gracePeriodSeconds ?? 30) : 0,
};
