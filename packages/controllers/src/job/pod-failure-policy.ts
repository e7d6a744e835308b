/**
 * spec.podFailurePolicy (pkg/controller/job/pod_failure_policy.go): the first rule matching a
 * failed pod, on a terminated container's non-zero exit code or on a pod condition, decides: FailJob
 * (with a message), FailIndex (Indexed Jobs with backoffLimitPerIndex), Ignore (not counted
 * towards the backoff limits) or Count. No matching rule: counted.
 */
import type { Pod, PodCondition } from "@skiff/api";
import { containerStatuses, initContainerStatuses } from "./pods.js";
import type {
  ContainerStatus,
  PodFailurePolicy,
  PodFailurePolicyAction,
  PodFailurePolicyRule,
} from "./types.js";

export interface PodFailurePolicyMatch {
  /** Set when a FailJob rule matched. */
  failJobMessage: string | undefined;
  /** Whether the failure counts towards backoffLimit (and backoffLimitPerIndex). */
  countFailed: boolean;
  action: PodFailurePolicyAction | undefined;
}

const counted: PodFailurePolicyMatch = { failJobMessage: undefined, countFailed: true, action: undefined };

/** matchPodFailurePolicy. */
export function matchPodFailurePolicy(
  policy: PodFailurePolicy | undefined,
  pod: Pod,
  backoffLimitPerIndex: boolean,
): PodFailurePolicyMatch {
  if (policy === undefined) return counted;
  for (const [index, rule] of (policy.rules ?? []).entries()) {
    let what: string | undefined;
    if (rule.onExitCodes !== undefined && rule.onExitCodes !== null) {
      const c = matchOnExitCodes(pod, rule.onExitCodes);
      if (c === undefined) continue;
      what = `Container ${c.name} for pod ${pod.metadata.namespace}/${pod.metadata.name} failed with exit code ${c.state?.terminated?.exitCode} matching ${rule.action} rule at index ${index}`;
    } else if (rule.onPodConditions !== undefined && rule.onPodConditions !== null) {
      const cond = matchOnPodConditions(pod, rule.onPodConditions);
      if (cond === undefined) continue;
      what = `Pod ${pod.metadata.namespace}/${pod.metadata.name} has condition ${cond.type} matching ${rule.action} rule at index ${index}`;
    } else continue;
    switch (rule.action) {
      case "Ignore":
        return { failJobMessage: undefined, countFailed: false, action: "Ignore" };
      case "FailIndex":
        // Without backoffLimitPerIndex the rule is passed over (kube's switch falls out of it).
        if (backoffLimitPerIndex)
          return { failJobMessage: undefined, countFailed: true, action: "FailIndex" };
        break;
      case "Count":
        return { failJobMessage: undefined, countFailed: true, action: "Count" };
      case "FailJob":
        return { failJobMessage: what, countFailed: true, action: "FailJob" };
    }
  }
  return counted;
}

function matchOnExitCodes(
  pod: Pod,
  req: NonNullable<PodFailurePolicyRule["onExitCodes"]>,
): ContainerStatus | undefined {
  return matchingContainer(containerStatuses(pod), req) ?? matchingContainer(initContainerStatuses(pod), req);
}

function matchingContainer(
  statuses: readonly ContainerStatus[],
  req: NonNullable<PodFailurePolicyRule["onExitCodes"]>,
): ContainerStatus | undefined {
  for (const s of statuses) {
    const t = s.state?.terminated;
    if (t === undefined || t === null) continue; // still terminating: no exit code yet
    if (req.containerName !== undefined && req.containerName !== null && req.containerName !== s.name)
      continue;
    if (t.exitCode === 0) continue;
    const listed = req.values.includes(t.exitCode);
    if ((req.operator === "In" && listed) || (req.operator === "NotIn" && !listed)) return s;
  }
  return undefined;
}

function matchOnPodConditions(
  pod: Pod,
  patterns: NonNullable<PodFailurePolicyRule["onPodConditions"]>,
): PodCondition | undefined {
  for (const c of pod.status?.conditions ?? [])
    for (const p of patterns) if (c.type === p.type && c.status === (p.status ?? "True")) return c;
  return undefined;
}
