/** The TTL-after-finished controller's descriptor and exports. */
import type { ControllerDescriptor } from "../registry.js";
import { TTLAfterFinishedController } from "./ttlafterfinished-controller.js";

/** kube 1.32's newTTLAfterFinishedControllerDescriptor, --concurrent-ttl-after-finished-syncs. */
export const ttlAfterFinishedControllerDescriptor: ControllerDescriptor = {
  name: "ttl-after-finished-controller",
  aliases: ["ttl-after-finished"],
  concurrencyKey: "ttl-after-finished",
  init: (ctx) => new TTLAfterFinishedController(ctx),
};

export { needsCleanup, TTLAfterFinishedController, timeLeft } from "./ttlafterfinished-controller.js";
