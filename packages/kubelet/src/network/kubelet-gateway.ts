/**
 * The kubelet's node gateway: the ports the caller asks for (the DNS server's) plus the API
 * server relay on APISERVER_GATEWAY_PORT, started once the node network is set up and stopped
 * before the node namespace goes. In host mode (--host-network) the gateway listens on the node
 * IP only, and the relay is left out unless the API server is reached over loopback: an API
 * server listening on every address already holds that port there, and pods reach it directly.
 */
import type { ClientConfig } from "@skiff/client";
import { ApiServerRelay, apiServerTargets } from "./apiserver-relay.js";
import { APISERVER_GATEWAY_PORT, type GatewayListener, gatewaySocketPath, NodeGateway } from "./gateway.js";
import type { NetworkLogger } from "./logger.js";

export interface KubeletGatewayOptions {
  nodeName: string;
  dataDir: string;
  /** The node namespace; undefined in host mode. */
  netns: string | undefined;
  /** The node's address (host mode listens there). */
  nodeIP: () => string;
  client: ClientConfig;
  listeners: readonly GatewayListener[];
  logger: NetworkLogger;
}

export class KubeletGateway {
  private gateway: NodeGateway | undefined;
  private relay: ApiServerRelay | undefined;

  constructor(private readonly opts: KubeletGatewayOptions) {}

  /** The helper's PID while it runs. */
  get helperPid(): number | undefined {
    return this.gateway?.helperPid;
  }

  async start(): Promise<void> {
    const o = this.opts;
    const listeners = [...o.listeners];
    const taken = listeners.some((l) => l.protocol === "tcp" && l.port === APISERVER_GATEWAY_PORT);
    if (taken)
      o.logger.warn({ port: APISERVER_GATEWAY_PORT }, "gateway: a listener holds the API server's port");
    if (!taken && (o.netns !== undefined || reachedOverLoopback(o.client))) {
      const socketPath = gatewaySocketPath(o.dataDir, o.nodeName, "apiserver.sock");
      this.relay = new ApiServerRelay({
        socketPath,
        targets: () => apiServerTargets(o.client),
        logger: o.logger,
      });
      await this.relay.listen();
      listeners.push({ protocol: "tcp", port: APISERVER_GATEWAY_PORT, socketPath });
    }
    if (listeners.length === 0) return;
    this.gateway = new NodeGateway({
      // UDP answers must leave from the node IP that kube-proxy DNATs to (see udpAddress).
      ...(o.netns === undefined ? { address: o.nodeIP() } : { netns: o.netns, udpAddress: o.nodeIP() }),
      logger: o.logger,
    });
    await this.gateway.start(listeners);
  }

  async stop(): Promise<void> {
    await this.gateway?.stop();
    this.gateway = undefined;
    await this.relay?.close();
    this.relay = undefined;
  }
}

function reachedOverLoopback(client: ClientConfig): boolean {
  const host = apiServerTargets(client)[0]?.host;
  return host !== undefined && (host === "localhost" || host === "::1" || host.startsWith("127."));
}
