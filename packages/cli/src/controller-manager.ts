import { componentCommand } from "./component-command.js";

export const controllerManagerCommand = componentCommand({
  name: "controller-manager",
  summary: "Run the controller manager (kube-controller-manager): Deployments, nodes, namespaces, GC ...",
  synopsis: "skiff controller-manager --kubeconfig FILE [flags]",
  about:
    "Runs the controllers that make the cluster's actual state match the desired state, through the API server named in --kubeconfig. With --leader-elect (the default) only the holder of the kube-system/kube-controller-manager Lease acts.",
  async load() {
    const { runControllerManager, controllerManagerFlags } = await import("@skiff/controllers");
    return { flags: controllerManagerFlags, run: runControllerManager };
  },
});
