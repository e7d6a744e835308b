/**
 * The node-ipam-controller's entry in the manager (kube's newNodeIpamControllerDescriptor in
 * cmd/kube-controller-manager/app/core.go): nothing runs unless --allocate-node-cidrs.
 */
import type { ControllerDescriptor } from "../registry.js";
import { NODE_IPAM_CONTROLLER, NodeIpamController } from "./controller.js";

export const nodeIpamControllerDescriptor: ControllerDescriptor = {
  name: NODE_IPAM_CONTROLLER,
  aliases: ["nodeipam"],
  init: (ctx) => {
    if (!ctx.config.allocateNodeCidrs) {
      ctx.log.info(
        { controller: NODE_IPAM_CONTROLLER },
        "--allocate-node-cidrs is false: not allocating pod CIDRs",
      );
      return undefined;
    }
    return new NodeIpamController(ctx);
  },
};
