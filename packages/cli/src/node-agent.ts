/**
 * One node's agent, as k3s's agent process: the kubelet, then kube-proxy (nftables mode) and the
 * node's cluster DNS, run as one component. kube-proxy and the DNS begin once the kubelet has set
 * up the node's network (its namespace, where the rules go and the gateway listens). The DNS
 * answers the node's pods through the node gateway: the kubelet's helper in the node namespace
 * relays udp/tcp 53 to the DNS server's unix sockets here. `skiff agent` and the agent inside
 * `skiff server` are built here alike.
 */

import type { Component, Logger } from "@skiff/component-base";
import type { AgentOptions } from "@skiff/kubelet";

export interface NodeAgentOptions {
  kubelet: AgentOptions;
  /** kube-proxy's flags (k3s's --kube-proxy-arg values, as --flag=value). */
  kubeProxyArgs: readonly string[];
  /** Run kube-proxy (k3s: --disable-kube-proxy turns it off). */
  kubeProxy: boolean;
  /** Run the node's cluster DNS (--disable-cluster-dns turns it off). */
  clusterDns: boolean;
}

/** The flags `skiff agent` and `skiff server` take for the node's kube-proxy and DNS. */
export const nodeAgentFlagDefs = {
  "kube-proxy-arg": {
    type: "string",
    usage: "A flag for kube-proxy, as flag=value (repeatable), e.g. min-sync-period=0s.",
  },
  "disable-kube-proxy": {
    type: "boolean",
    usage: "Do not run kube-proxy on this node (no Service rules here).",
  },
  "disable-cluster-dns": {
    type: "boolean",
    usage: "Do not run the cluster DNS on this node (its pods' resolver has no server here).",
  },
} as const;

/**
 * Takes the node agent's own flags out of argv: `--kube-proxy-arg flag=value` (repeatable, as
 * k3s) and the two --disable-* switches.
 */
export function splitNodeAgentArgs(argv: readonly string[]): {
  rest: string[];
  kubeProxyArgs: string[];
  kubeProxy: boolean;
  clusterDns: boolean;
} {
  const rest: string[] = [];
  const kubeProxyArgs: string[] = [];
  let kubeProxy = true;
  let clusterDns = true;
  const flag = "--kube-proxy-arg";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--disable-kube-proxy") kubeProxy = false;
    else if (a === "--disable-cluster-dns") clusterDns = false;
    else if (a === flag || a.startsWith(`${flag}=`)) {
      const v = a === flag ? argv[++i] : a.slice(flag.length + 1);
      if (v === undefined) throw new Error(`flag needs an argument: ${flag}`);
      kubeProxyArgs.push(`--${v.replace(/^--/, "")}`);
    } else rest.push(a);
  }
  return { rest, kubeProxyArgs, kubeProxy, clusterDns };
}

/** Checks kube-proxy's flags before anything starts (bad values are errors naming the flag). */
export async function checkKubeProxyArgs(args: readonly string[]): Promise<void> {
  const { parseProxyFlags } = await import("@skiff/proxy");
  parseProxyFlags(args);
}

export async function nodeAgent(o: NodeAgentOptions): Promise<Component> {
  const [{ Kubelet, gatewaySocketPath }, proxy, { ComponentGroup, newLogger }, { KubeClient }] =
    await Promise.all([
      import("@skiff/kubelet"),
      import("@skiff/proxy"),
      import("@skiff/component-base"),
      import("@skiff/client"),
    ]);
  const k = o.kubelet;
  const proxyConfig = proxy.parseProxyFlags(o.kubeProxyArgs);
  const udpSocketPath = gatewaySocketPath(k.dataDir, k.nodeName, "dns-udp.sock");
  const tcpSocketPath = gatewaySocketPath(k.dataDir, k.nodeName, "dns-tcp.sock");
  // With --host-network the node is the host: its DNS listens there itself, no gateway.
  const viaGateway = o.clusterDns && !k.hostNetwork;
  const kubelet = new Kubelet({
    ...k,
    gatewayListeners: [
      ...(k.gatewayListeners ?? []),
      ...(viaGateway
        ? [
            { protocol: "udp" as const, port: 53, socketPath: udpSocketPath },
            { protocol: "tcp" as const, port: 53, socketPath: tcpSocketPath },
          ]
        : []),
    ],
  });
  const members: Component[] = [kubelet];
  // kube-proxy and the DNS share one client (the kubelet keeps its own), closed after they stop.
  const client = new KubeClient(k.client);
  const log = newLogger("skiff-agent", "info", { node: k.nodeName });
  const netns = k.hostNetwork ? undefined : `skiff-${k.nodeName}`;
  if (o.kubeProxy)
    members.push(
      afterNodeNetwork(
        kubelet,
        new proxy.Proxier({
          client,
          nodeName: k.nodeName,
          netns,
          config: proxyConfig,
          logger: newLogger("kube-proxy", "info", { node: k.nodeName }),
        }),
        log,
      ),
    );
  if (o.clusterDns)
    members.push(
      afterNodeNetwork(
        kubelet,
        new proxy.ClusterDns({
          client,
          nodeName: k.nodeName,
          clusterDomain: k.clusterDomain,
          clusterDNS: k.clusterDNS[0] ?? proxy.DEFAULT_CLUSTER_DNS,
          ...(viaGateway ? { udpSocketPath, tcpSocketPath } : { listen: { host: "0.0.0.0", port: 53 } }),
          nodeIP: () => kubelet.nodeIP(),
          logger: newLogger("dns", "info", { node: k.nodeName }),
        }),
        log,
      ),
    );
  return new ComponentGroup("skiff-agent", members, () => client.close());
}

/**
 * A component started once the kubelet's node network is up (its namespace exists), in the
 * background: the agent is ready when its kubelet is, as before, even on a cluster that never
 * gives the node a pod CIDR (no controller manager). Until it runs, and if its start fails
 * (logged), its own readiness check fails; a failed start also fails its liveness check.
 */
function afterNodeNetwork(
  kubelet: { nodeNetworkReady(): Promise<void> },
  inner: Component,
  log: Logger,
): Component {
  let stopped = false;
  let running = false;
  let failed: string | undefined;
  inner.health.addReadyz("started", () => (running ? undefined : "waiting for the node network"));
  inner.health.addLivez("start", () => failed);
  return {
    name: inner.name,
    health: inner.health,
    metrics: inner.metrics,
    ready: Promise.resolve(),
    describe: () => inner.describe(),
    async start() {
      void kubelet
        .nodeNetworkReady()
        .then(async () => {
          if (stopped) return;
          await inner.start();
          await inner.ready;
          running = true;
        })
        .catch((e: unknown) => {
          if (stopped) return;
          failed = `${inner.name} did not start: ${e instanceof Error ? e.message : String(e)}`;
          log.error({ component: inner.name, err: String(e) }, "start failed");
        });
    },
    async stop() {
      stopped = true;
      await inner.stop();
    },
  };
}
