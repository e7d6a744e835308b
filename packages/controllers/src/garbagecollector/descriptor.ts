/**
 * The garbage collector's registration (kube's startGarbageCollectorController): named
 * "garbage-collector-controller" (alias "garbagecollector"), --concurrent-gc-syncs workers (20),
 * off with --enable-garbage-collector=false. Discovery goes over the client's raw requests; a
 * client without them (a fake) cannot run it from the registry: tests build it with their own
 * DiscoveryInterface.
 */
import type { ControllerDescriptor } from "../registry.js";
import { HttpDiscovery, isRawClient } from "../util/discovery.js";
import { GarbageCollector } from "./garbage-collector.js";

export const garbageCollectorControllerDescriptor: ControllerDescriptor = {
  name: "garbage-collector-controller",
  aliases: ["garbagecollector"],
  concurrencyKey: "garbage-collector",
  init(ctx) {
    if (!ctx.config.enableGarbageCollector) {
      ctx.log.info({ controller: "garbage-collector-controller" }, "garbage collector is disabled");
      return undefined;
    }
    if (!isRawClient(ctx.client)) {
      ctx.log.warn({ controller: "garbage-collector-controller" }, "the client cannot do API discovery");
      return undefined;
    }
    return new GarbageCollector(ctx, { discovery: new HttpDiscovery(ctx.client) });
  },
};
