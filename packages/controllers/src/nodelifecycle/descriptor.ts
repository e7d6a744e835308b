/**
 * The node-lifecycle-controller's entry in the manager (kube's newNodeLifecycleControllerDescriptor
 * in cmd/kube-controller-manager/app/core.go): its workers are kube's fixed counts, no flag.
 */
import type { ControllerDescriptor } from "../registry.js";
import { NODE_LIFECYCLE_CONTROLLER, NodeLifecycleController } from "./controller.js";

export const nodeLifecycleControllerDescriptor: ControllerDescriptor = {
  name: NODE_LIFECYCLE_CONTROLLER,
  aliases: ["nodelifecycle"],
  init: (ctx) => new NodeLifecycleController(ctx),
};
