/**
 * The garbage collector's registration (kube's startGarbageCollectorController): named
 * "garbage-collector-controller" (alias "garbagecollector"), --concurrent-gc-syncs workers (20),
 * off with --enable-garbage-collector=false. Discovery goes over the client's raw requests; a
 * client without them (a fake) cannot run it from the registry: tests build it with their own
 * DiscoveryInterface.
 */
import type { ClientInterface } from "@skiff/client";
import type { ControllerDescriptor } from "../registry.js";
import { type DiscoveryInterface, HttpDiscovery, type RawRequester } from "./discovery.js";
import { GarbageCollector } from "./garbage-collector.js";

function discoveryFor(client: ClientInterface): DiscoveryInterface | undefined {
  const raw = (client as Partial<RawRequester>).raw;
  return typeof raw === "function" ? new HttpDiscovery(client as unknown as RawRequester) : undefined;
}

export const garbageCollectorControllerDescriptor: ControllerDescriptor = {
  name: "garbage-collector-controller",
  aliases: ["garbagecollector"],
  concurrencyKey: "garbage-collector",
  init(ctx) {
    if (!ctx.config.enableGarbageCollector) {
      ctx.log.info({ controller: "garbage-collector-controller" }, "garbage collector is disabled");
      return undefined;
    }
    const discovery = discoveryFor(ctx.client);
    if (discovery === undefined) {
      ctx.log.warn({ controller: "garbage-collector-controller" }, "the client cannot do API discovery");
      return undefined;
    }
    return new GarbageCollector(ctx, { discovery });
  },
};
