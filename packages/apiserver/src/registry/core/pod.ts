/**
 * Pod storage hooks (kube: pkg/registry/core/pod, podStrategy.CheckGracefulDelete): a pod is
 * deleted gracefully, so its kubelet can stop it: the grace period is the DeleteOptions', else the
 * pod's spec.terminationGracePeriodSeconds, else 30 s; a pod not bound to a node has nothing
 * running and a pod in Succeeded or Failed has stopped, so both go at once (grace 0).
 */
import type { Strategy } from "../strategy.js";

interface PodParts {
  spec?: { nodeName?: string; terminationGracePeriodSeconds?: number };
  status?: { phase?: string };
}

export const podStrategy: Strategy = {
  gracePeriodSeconds(pod, opts) {
    const { spec, status } = pod as PodParts;
    if (!spec?.nodeName) return 0;
    if (status?.phase === "Succeeded" || status?.phase === "Failed") return 0;
    return opts.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
  },
};
