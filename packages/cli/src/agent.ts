import { componentCommand } from "./component-command.js";

export const agentCommand = componentCommand({
  name: "agent",
  summary:
    "Run a node agent (the kubelet, kube-proxy and the node's cluster DNS): real pods on containerd, Services on nftables",
  synopsis: "skiff agent --server URL --token T --certificate-authority CA [flags]",
  about:
    "Registers this machine as a Node with the API server and runs the pods bound to it on containerd through ctr. By default the node's pod network lives in its own network namespace skiff-<node-name> (--host-network uses the host's). The token is the server's <data-dir>/node-token; the CA its <data-dir>/pki/ca.crt.",
  async load() {
    const [{ agentFlags, parseAgentFlags }, { ensurePki }, { runComponent, FlagSet }, na] = await Promise.all(
      [
        import("@skiff/kubelet"),
        import("@skiff/apiserver/pki"),
        import("@skiff/component-base"),
        import("./node-agent.js"),
      ],
    );
    return {
      flags: new FlagSet({ ...agentFlags.defs, ...na.nodeAgentFlagDefs }),
      async run(argv: readonly string[]) {
        const split = na.splitNodeAgentArgs(argv);
        await na.checkKubeProxyArgs(split.kubeProxyArgs);
        const o = parseAgentFlags(split.rest);
        // The kubelet's serving certificate is its own (kube's self-signed default): the API
        // server does not check it unless told to (--kubelet-certificate-authority).
        const pki = ensurePki(o.dataDir, {
          hosts: [o.address === "0.0.0.0" ? "127.0.0.1" : o.address, o.nodeName],
        });
        return runComponent(
          await na.nodeAgent({
            kubelet: { ...o, servingCert: { cert: pki.serving.certPem, key: pki.serving.keyPem } },
            kubeProxyArgs: split.kubeProxyArgs,
            kubeProxy: split.kubeProxy,
            clusterDns: split.clusterDns,
          }),
        );
      },
    };
  },
});
