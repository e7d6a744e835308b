/** The cronjob controller's descriptor and exports. */
import type { ControllerDescriptor } from "../registry.js";
import { CronJobController } from "./cronjob-controller.js";

/** kube 1.32's newCronJobControllerDescriptor: "cronjob-controller", alias "cronjob". */
export const cronJobControllerDescriptor: ControllerDescriptor = {
  name: "cronjob-controller",
  aliases: ["cronjob"],
  concurrencyKey: "cronjob",
  init: (ctx) => new CronJobController(ctx),
};

export { CronJobController } from "./cronjob-controller.js";
export { parseStandard, type Schedule } from "./schedule.js";
export * from "./types.js";
export { getJobName, mostRecentScheduleTime, nextScheduleTime, nextScheduleTimeDuration } from "./utils.js";
export { loadLocation, localZone, UTC, type Zone } from "./zone.js";
