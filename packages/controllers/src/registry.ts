/**
 * The controllers kube-controller-manager can run, by kube 1.32's names (`--controllers`
 * accepts these and the older short aliases; `*` is every controller enabled by default,
 * `-name` turns one off). Each descriptor builds its controller from the shared context,
 * registering the informers it needs; the manager starts the informers after all are built.
 */
import type { ControllerContext } from "./context.js";
import type { Controller } from "./controller.js";
import { cronJobControllerDescriptor } from "./cronjob/index.js";
import { daemonSetControllerDescriptor } from "./daemonset/daemon-controller.js";
import { deploymentControllerDescriptor } from "./deployment/descriptor.js";
import { disruptionControllerDescriptor } from "./disruption/controller.js";
import { endpointsControllerDescriptor } from "./endpoint/controller.js";
import { endpointSliceControllerDescriptor } from "./endpointslice/controller.js";
import { garbageCollectorControllerDescriptor } from "./garbagecollector/descriptor.js";
import { jobControllerDescriptor } from "./job/index.js";
import { namespaceControllerDescriptor } from "./namespace/descriptor.js";
import { nodeIpamControllerDescriptor } from "./nodeipam/descriptor.js";
import { nodeLifecycleControllerDescriptor } from "./nodelifecycle/descriptor.js";
import { podGarbageCollectorControllerDescriptor } from "./podgc/descriptor.js";
import { replicaSetControllerDescriptor } from "./replicaset/descriptor.js";
import { resourceQuotaControllerDescriptor } from "./resourcequota/descriptor.js";
import { rootCACertPublisherDescriptor } from "./rootcacertpublisher/descriptor.js";
import { serviceAccountControllerDescriptor } from "./serviceaccount/descriptor.js";
import { statefulSetControllerDescriptor } from "./statefulset/stateful-set.js";
import { taintEvictionControllerDescriptor } from "./tainteviction/descriptor.js";
import { ttlAfterFinishedControllerDescriptor } from "./ttlafterfinished/index.js";

export interface ControllerDescriptor {
  /** kube 1.32's name, e.g. "deployment-controller". */
  readonly name: string;
  /** Older names `--controllers` also accepts, e.g. "deployment". */
  readonly aliases: readonly string[];
  /** The key of its --concurrent-*-syncs value in config.concurrency (none: 1 worker). */
  readonly concurrencyKey?: string;
  /** Off unless named in --controllers (kube's disabled-by-default controllers). */
  readonly disabledByDefault?: boolean;
  /** Builds the controller; undefined (with a logged reason) when it cannot run here. */
  init(ctx: ControllerContext): Controller | undefined;
}

/** Every controller, in the order the manager starts them. */
export const controllerDescriptors: ControllerDescriptor[] = [
  // controllers: one line each, kept in kube's order of NewControllerDescriptors
  endpointsControllerDescriptor,
  endpointSliceControllerDescriptor,
  podGarbageCollectorControllerDescriptor,
  resourceQuotaControllerDescriptor,
  namespaceControllerDescriptor,
  serviceAccountControllerDescriptor,
  garbageCollectorControllerDescriptor,
  daemonSetControllerDescriptor,
  jobControllerDescriptor,
  deploymentControllerDescriptor,
  replicaSetControllerDescriptor,
  disruptionControllerDescriptor,
  statefulSetControllerDescriptor,
  cronJobControllerDescriptor,
  nodeIpamControllerDescriptor,
  nodeLifecycleControllerDescriptor,
  taintEvictionControllerDescriptor,
  ttlAfterFinishedControllerDescriptor,
  rootCACertPublisherDescriptor,
];

/** The descriptors `--controllers` turns on (kube's IsControllerEnabled). */
export function enabledControllers(
  spec: readonly string[],
  all: readonly ControllerDescriptor[] = controllerDescriptors,
): ControllerDescriptor[] {
  const named = (d: ControllerDescriptor, n: string) => d.name === n || d.aliases.includes(n);
  return all.filter((d) => {
    if (spec.some((s) => s.startsWith("-") && named(d, s.slice(1)))) return false;
    if (spec.some((s) => named(d, s))) return true;
    return spec.includes("*") && d.disabledByDefault !== true;
  });
}

/** The names in `--controllers` that name no controller (a flag error). */
export function unknownControllers(
  spec: readonly string[],
  all: readonly ControllerDescriptor[] = controllerDescriptors,
): string[] {
  return spec
    .map((s) => (s.startsWith("-") ? s.slice(1) : s))
    .filter((n) => n !== "*" && !all.some((d) => d.name === n || d.aliases.includes(n)));
}
