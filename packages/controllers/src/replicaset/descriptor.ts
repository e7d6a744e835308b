/**
 * The replicaset-controller's entry in the manager (kube's newReplicaSetControllerDescriptor in
 * cmd/kube-controller-manager/app/apps.go): workers from --concurrent-replicaset-syncs (5).
 */
import type { ControllerDescriptor } from "../registry.js";
import { ReplicaSetController } from "./replica-set.js";

export const replicaSetControllerDescriptor: ControllerDescriptor = {
  name: "replicaset-controller",
  aliases: ["replicaset"],
  concurrencyKey: "replicaset",
  init: (ctx) => new ReplicaSetController(ctx),
};
