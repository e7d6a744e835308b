/**
 * The taint-eviction-controller's entry in the manager (kube's newTaintEvictionControllerDescriptor
 * in cmd/kube-controller-manager/app/core.go; separate from node lifecycle since kube 1.29).
 */
import type { ControllerDescriptor } from "../registry.js";
import { TAINT_EVICTION_CONTROLLER, TaintEvictionController } from "./controller.js";

export const taintEvictionControllerDescriptor: ControllerDescriptor = {
  name: TAINT_EVICTION_CONTROLLER,
  aliases: [],
  init: (ctx) => new TaintEvictionController(ctx),
};
