import { componentCommand } from "./component-command.js";

export const hollowNodesCommand = componentCommand({
  name: "hollow-nodes",
  summary: "Run N fake nodes in one process (kubemark's hollow nodes) against an API server",
  synopsis: "skiff hollow-nodes --kubeconfig FILE --count N [flags]",
  about:
    "Registers N Nodes with capacity, labels and a Ready condition, renews their Leases in kube-node-lease, and turns pods bound to them Running and Ready without containers. The Nodes stay after exit unless --delete-nodes-on-exit.",
  async load() {
    const { runHollowNodes, hollowNodesFlags } = await import("@skiff/hollow-node");
    return { flags: hollowNodesFlags, run: runHollowNodes };
  },
});
