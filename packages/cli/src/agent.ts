import { componentCommand } from "./component-command.js";

export const agentCommand = componentCommand({
  name: "agent",
  summary: "Run a node agent (the kubelet): real pods on containerd, CNI networking, probes, logs, exec",
  synopsis: "skiff agent --server URL --token T --certificate-authority CA [flags]",
  about:
    "Registers this machine as a Node with the API server and runs the pods bound to it on containerd through ctr. By default the node's pod network lives in its own network namespace skiff-<node-name> (--host-network uses the host's). The token is the server's <data-dir>/node-token; the CA its <data-dir>/pki/ca.crt.",
  async load() {
    const { runAgent, agentFlags } = await import("@skiff/kubelet");
    return { flags: agentFlags, run: runAgent };
  },
});
