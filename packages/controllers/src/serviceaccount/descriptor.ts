/** kube-controller-manager's "serviceaccount-controller" (alias "serviceaccount"; one worker, as kube). */
import type { ControllerDescriptor } from "../registry.js";
import { ServiceAccountsController } from "./serviceaccounts-controller.js";

export const serviceAccountControllerDescriptor: ControllerDescriptor = {
  name: "serviceaccount-controller",
  aliases: ["serviceaccount"],
  init: (ctx) => new ServiceAccountsController(ctx),
};
