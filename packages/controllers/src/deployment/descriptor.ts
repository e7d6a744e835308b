/** The Deployment controller's entry in the manager (kube's newDeploymentControllerDescriptor). */
import type { ControllerDescriptor } from "../registry.js";
import { DeploymentController } from "./deployment-controller.js";

export const deploymentControllerDescriptor: ControllerDescriptor = {
  name: "deployment-controller",
  aliases: ["deployment"],
  concurrencyKey: "deployment",
  init: (ctx) => new DeploymentController(ctx),
};
