/** kube-controller-manager's "namespace-controller" (alias "namespace", --concurrent-namespace-syncs). */
import type { ControllerDescriptor } from "../registry.js";
import { isRawClient } from "../util/discovery.js";
import { httpNamespaceApi } from "./api.js";
import { NamespaceController } from "./namespace-controller.js";

export const namespaceControllerDescriptor: ControllerDescriptor = {
  name: "namespace-controller",
  aliases: ["namespace"],
  concurrencyKey: "namespace",
  init(ctx) {
    // Discovery, DeleteCollection and namespaces/finalize go through raw requests.
    if (!isRawClient(ctx.client)) {
      ctx.log.info({ controller: "namespace-controller" }, "the client cannot make raw requests (discovery)");
      return undefined;
    }
    return new NamespaceController(ctx, { api: httpNamespaceApi(ctx.client) });
  },
};
