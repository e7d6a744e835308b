/** The job controller's descriptor and exports. */
import type { ControllerDescriptor } from "../registry.js";
import { JobController } from "./job-controller.js";

/** kube 1.32's newJobControllerDescriptor: "job-controller", alias "job", --concurrent-job-syncs. */
export const jobControllerDescriptor: ControllerDescriptor = {
  name: "job-controller",
  aliases: ["job"],
  concurrencyKey: "job",
  init: (ctx) => new JobController(ctx),
};

export { JobController, managedByExternalController } from "./job-controller.js";
export * from "./types.js";
export { finishedCondition, isJobFinished, isJobSucceeded } from "./util.js";
