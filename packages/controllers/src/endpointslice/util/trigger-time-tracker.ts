/**
 * kube's TriggerTimeTracker (k8s.io/endpointslice/util trigger_time_tracker.go): the time of the
 * earliest change (a pod's Ready transition, or the Service's creation) that the coming write of
 * a Service's endpoints reflects, exported as the endpoints.kubernetes.io/last-change-trigger-time
 * annotation so that latency from change to programmed endpoints can be measured. A Service seen
 * for the first time takes its creationTimestamp; later syncs take the earliest trigger time that
 * changed since the previous sync (none: undefined, and the annotation is removed).
 */
import type { Pod } from "@skiff/api";
import type { Service } from "../types.js";

interface ServiceState {
  lastServiceTriggerTime: number;
  /** Pod name -> its last trigger time. */
  lastPodTriggerTimes: Map<string, number>;
}

const parse = (t: string | undefined): number | undefined => {
  if (t === undefined) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
};

/** getPodTriggerTime: when the pod's Ready condition last changed. */
function podTriggerTime(pod: Pod): number | undefined {
  const ready = (pod.status?.conditions ?? []).find((c) => c.type === "Ready");
  return parse(ready?.lastTransitionTime);
}

export class TriggerTimeTracker {
  private readonly serviceStates = new Map<string, ServiceState>();

  /** ComputeEndpointLastChangeTriggerTime, in ms since the epoch (undefined: none). */
  computeEndpointLastChangeTriggerTime(
    namespace: string,
    service: Service,
    pods: readonly Pod[],
  ): number | undefined {
    const key = `${namespace}/${service.metadata.name}`;
    const state = this.serviceStates.get(key);
    let minChanged: number | undefined;
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const t = podTriggerTime(pod);
      if (t === undefined) continue;
      podTimes.set(pod.metadata.name, t);
      if (t > (state?.lastPodTriggerTimes.get(pod.metadata.name) ?? Number.NEGATIVE_INFINITY))
        minChanged = minChanged === undefined ? t : Math.min(minChanged, t);
    }
    const created = parse(service.metadata.creationTimestamp) ?? 0;
    if (created > (state?.lastServiceTriggerTime ?? Number.NEGATIVE_INFINITY))
      minChanged = minChanged === undefined ? created : Math.min(minChanged, created);
    this.serviceStates.set(key, { lastServiceTriggerTime: created, lastPodTriggerTimes: podTimes });
    // A new Service: its creation is the trigger.
    if (state === undefined) return created === 0 ? undefined : created;
    return minChanged;
  }

  deleteService(namespace: string, name: string): void {
    this.serviceStates.delete(`${namespace}/${name}`);
  }
}

/** The annotation's value: RFC 3339 with nanoseconds as Go prints it (trailing zeros dropped). */
export function formatTriggerTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, "Z");
}
