/**
 * kube's EndpointSlice Reconciler (k8s.io/endpointslice reconciler.go): given a Service, its pods
 * and the slices it has, makes the fewest writes that leave every desired endpoint in exactly one
 * slice of at most maxEndpointsPerSlice. Endpoints are grouped by the set of ports resolved in
 * their pod (a named targetPort may differ per pod), one group of slices per address type and
 * port set. Within a group, existing slices keep the endpoints still desired (updated in place
 * when changed), slices left empty are deleted, and the remaining endpoints fill first the slices
 * being updated anyway, then the unchanged slice they fit best, then new slices. A create and a
 * delete in the same pass become an update of the doomed slice. A Service with no endpoints keeps
 * one empty placeholder slice.
 */
import type { Node, Pod } from "@skiff/api";
import { type ClientInterface, isNotFound, type Lister } from "@skiff/client";
import type { Logger } from "@skiff/component-base";
import { isNamespaceTerminating } from "../util/errors.js";
import { type Plan, type PortGroup, reconcileByPortMapping } from "./port-mapping.js";
import type { AddressType, EndpointSlice, Service } from "./types.js";
import { LABEL_MANAGED_BY } from "./types.js";
import { shouldPodBeInEndpoints } from "./util/controller-utils.js";
import { EndpointSet, portMapKey } from "./util/endpoint-set.js";
import type { EndpointSliceTracker } from "./util/endpointslice-tracker.js";
import {
  addTriggerTimeAnnotation,
  getAddressTypesForService,
  getEndpointPorts,
  newEndpointSlice,
  ownedBy,
  podToEndpoint,
} from "./utils.js";

export interface ReconcilerOptions {
  client: ClientInterface;
  nodes: Lister<Node>;
  maxEndpointsPerSlice: number;
  tracker: EndpointSliceTracker;
  /** The managed-by label value, "endpointslice-controller.k8s.io". */
  controllerName: string;
  log: Logger;
}

export class Reconciler {
  constructor(private readonly o: ReconcilerOptions) {}

  get controllerName(): string {
    return this.o.controllerName;
  }

  /** ManagedByController: the slice's managed-by label names this controller. */
  managedByController(slice: EndpointSlice): boolean {
    return slice.metadata.labels?.[LABEL_MANAGED_BY] === this.o.controllerName;
  }

  /** ManagedByChanged: the managed-by label moved to or from this controller. */
  managedByChanged(a: EndpointSlice, b: EndpointSlice): boolean {
    return this.managedByController(a) !== this.managedByController(b);
  }

  /**
   * Reconcile: slices of an address type the Service no longer has are deleted; each address
   * type it has is reconciled on its own. Errors are collected and the first is thrown at the end.
   */
  async reconcile(
    svc: Service,
    pods: readonly Pod[],
    existing: readonly EndpointSlice[],
    triggerTime: number | undefined,
  ): Promise<void> {
    const errors: unknown[] = [];
    const supported = getAddressTypesForService(svc);
    const byType = new Map<AddressType, EndpointSlice[]>();
    const toDelete: EndpointSlice[] = [];
    for (const cached of existing) {
      // The API server defaults endpoints to []; a slice without them is read as empty.
      const s = cached.endpoints === undefined ? { ...cached, endpoints: [] } : cached;
      if (!supported.has(s.addressType)) toDelete.push(s);
      else byType.set(s.addressType, [...(byType.get(s.addressType) ?? []), s]);
    }
    for (const t of supported) {
      try {
        await this.reconcileByAddressType(svc, pods, byType.get(t) ?? [], triggerTime, t);
      } catch (e) {
        errors.push(e);
      }
    }
    for (const s of toDelete) {
      try {
        await this.deleteSlice(svc, s);
      } catch (e) {
        errors.push(
          new Error(
            `error deleting ${s.metadata.name} EndpointSlice for Service ${svc.metadata.namespace}/${svc.metadata.name}: ${messageOf(e)}`,
          ),
        );
      }
    }
    if (errors.length > 0) throw errors[0];
  }

  private async reconcileByAddressType(
    svc: Service,
    pods: readonly Pod[],
    existing: readonly EndpointSlice[],
    triggerTime: number | undefined,
    addressType: AddressType,
  ): Promise<void> {
    const plan: Plan = { create: [], update: [], delete: [] };
    const existingByPorts = new Map<string, EndpointSlice[]>();
    for (const s of existing) {
      if (!ownedBy(s, svc)) {
        // A slice of an earlier Service with this name (being garbage collected).
        plan.delete.push(s);
        continue;
      }
      const key = portMapKey(s.ports);
      existingByPorts.set(key, [...(existingByPorts.get(key) ?? []), s]);
    }
    const { desired, errors } = this.desiredEndpoints(svc, pods, addressType);
    for (const [key, group] of desired) {
      const p = reconcileByPortMapping(svc, existingByPorts.get(key) ?? [], group, {
        addressType,
        maxEndpointsPerSlice: this.o.maxEndpointsPerSlice,
        controllerName: this.o.controllerName,
      });
      plan.create.push(...p.create);
      plan.update.push(...p.update);
      plan.delete.push(...p.delete);
    }
    for (const [key, slices] of existingByPorts) if (!desired.has(key)) plan.delete.push(...slices);
    // No endpoints at all: keep (or make) one empty placeholder slice.
    if (existing.length === plan.delete.length && plan.create.length === 0) {
      const placeholder = newEndpointSlice(svc, [], addressType, this.o.controllerName);
      const only = plan.delete[0];
      if (plan.delete.length === 1 && only !== undefined && samePlaceholder(only, placeholder))
        plan.delete.length = 0;
      else plan.create.push(placeholder);
    }
    await this.finalize(svc, plan, triggerTime);
    if (errors.length > 0) throw errors[0];
  }

  /** The desired endpoints, grouped by port set; a pod on an unknown node is left out (and retried). */
  private desiredEndpoints(svc: Service, pods: readonly Pod[], addressType: AddressType) {
    const desired = new Map<string, PortGroup>();
    const errors: Error[] = [];
    for (const pod of pods) {
      if (!shouldPodBeInEndpoints(pod, true)) continue;
      const ports = getEndpointPorts(svc, pod);
      const key = portMapKey(ports);
      let group = desired.get(key);
      if (group === undefined) {
        group = { ports, endpoints: new EndpointSet() };
        desired.set(key, group);
      }
      const node = this.o.nodes.get(pod.spec.nodeName ?? "");
      if (node === undefined && svc.spec?.publishNotReadyAddresses !== true) {
        // As kube: skip the pod (its node may be gone for good) but requeue the Service.
        this.o.log.info(
          { pod: pod.metadata.name, service: `${svc.metadata.namespace}/${svc.metadata.name}` },
          "skipping Pod for Service, Node not found",
        );
        errors.push(
          new Error(
            `skipping Pod ${pod.metadata.name} for Service ${svc.metadata.namespace}/${svc.metadata.name}: Node ${pod.spec.nodeName ?? ""} Not Found`,
          ),
        );
        continue;
      }
      const ep = podToEndpoint(pod, node, svc, addressType);
      if (ep.addresses.length > 0) group.endpoints.insert(ep);
    }
    return { desired, errors };
  }

  /**
   * finalize: turns create+delete pairs into updates of the doomed slices, then creates (none
   * while the Service is being deleted, to not race the garbage collector), updates and deletes,
   * recording each write in the tracker.
   */
  private async finalize(svc: Service, plan: Plan, triggerTime: number | undefined): Promise<void> {
    const { create, update } = plan;
    const del = [...plan.delete];
    for (let i = 0; i < del.length && create.length > 0; ) {
      const doomed = del[i] as EndpointSlice;
      const slice = create[create.length - 1] as EndpointSlice;
      if (doomed.addressType === slice.addressType && ownedBy(doomed, svc)) {
        slice.metadata.name = doomed.metadata.name as string;
        create.pop();
        update.push(slice);
        del.splice(i, 1);
      } else i++;
    }
    const ns = svc.metadata.namespace;
    const slices = this.o.client.resource<EndpointSlice>("discovery.k8s.io/v1", "endpointslices", ns);
    if (svc.metadata.deletionTimestamp === undefined)
      for (const s of create) {
        addTriggerTimeAnnotation(s, triggerTime);
        try {
          this.o.tracker.update(await slices.create(s));
        } catch (e) {
          if (isNamespaceTerminating(e)) return;
          throw new Error(
            `failed to create EndpointSlice for Service ${ns}/${svc.metadata.name}: ${messageOf(e)}`,
          );
        }
      }
    for (const s of update) {
      addTriggerTimeAnnotation(s, triggerTime);
      try {
        this.o.tracker.update(await slices.update(s));
      } catch (e) {
        throw new Error(
          `failed to update ${s.metadata.name} EndpointSlice for Service ${ns}/${svc.metadata.name}: ${messageOf(e)}`,
        );
      }
    }
    for (const s of del) {
      try {
        await this.deleteSlice(svc, s);
      } catch (e) {
        throw new Error(
          `failed to delete ${s.metadata.name} EndpointSlice for Service ${ns}/${svc.metadata.name}: ${messageOf(e)}`,
        );
      }
    }
  }

  private async deleteSlice(svc: Service, s: EndpointSlice): Promise<void> {
    try {
      await this.o.client
        .resource<EndpointSlice>("discovery.k8s.io/v1", "endpointslices", svc.metadata.namespace)
        .delete(s.metadata.name as string);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    this.o.tracker.expectDeletion(s);
  }
}

/**
 * placeholderSliceCompare: the same namespace, labels, address type, and no ports or endpoints
 * (names, owners and annotations are not compared; empty and missing lists are equal).
 */
function samePlaceholder(a: EndpointSlice, b: EndpointSlice): boolean {
  const labels = (s: EndpointSlice) => JSON.stringify(Object.entries(s.metadata.labels ?? {}).sort());
  return (
    a.metadata.namespace === b.metadata.namespace &&
    labels(a) === labels(b) &&
    a.addressType === b.addressType &&
    (a.ports ?? []).length === 0 &&
    (a.endpoints ?? []).length === 0
  );
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
