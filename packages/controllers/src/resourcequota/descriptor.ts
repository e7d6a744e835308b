/** kube-controller-manager's "resourcequota-controller" (alias "resourcequota", --concurrent-resource-quota-syncs). */
import type { ControllerDescriptor } from "../registry.js";
import { ResourceQuotaController } from "./resource-quota-controller.js";

export const resourceQuotaControllerDescriptor: ControllerDescriptor = {
  name: "resourcequota-controller",
  aliases: ["resourcequota"],
  concurrencyKey: "resource-quota",
  init: (ctx) => new ResourceQuotaController(ctx),
};
