/**
 * The pod-garbage-collector-controller's entry in the manager (kube's
 * newPodGarbageCollectorControllerDescriptor in cmd/kube-controller-manager/app/core.go).
 */
import type { ControllerDescriptor } from "../registry.js";
import { POD_GARBAGE_COLLECTOR_CONTROLLER, PodGCController } from "./controller.js";

export const podGarbageCollectorControllerDescriptor: ControllerDescriptor = {
  name: POD_GARBAGE_COLLECTOR_CONTROLLER,
  aliases: ["podgc"],
  init: (ctx) => new PodGCController(ctx),
};
