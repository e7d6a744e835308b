/**
 * The pod network as the kubelet sees it: the node's network namespace (or the host's), one
 * network namespace per pod wired by the real CNI plugins (bridge + host-local on the node's
 * pod CIDR), and a way to open TCP connections into that network from the agent process, which
 * itself stays in the host namespace (probes, port-forward). network/fake.ts implements it in
 * memory for unit tests.
 */
import type { Duplex } from "node:stream";

export interface PodNetworkStatus {
  /** The pod's network namespace path, for ContainerConfig.netnsPath. */
  netnsPath: string;
  /** The pod's IPv4 address on the node's pod CIDR. */
  ip: string;
}

export interface PodNetwork {
  /**
   * Prepares the node (its namespace, sysctls, loopback) for pods on `podCIDR`; called once the
   * Node has spec.podCIDR, and again (idempotent) after a restart.
   */
  setUpNode(podCIDR: string): Promise<void>;
  /** The node's own address as pods see it (status.hostIP). */
  nodeIP(): string;
  /** Creates the pod's namespace and runs CNI ADD; idempotent (returns the existing status). */
  setUpPod(podUID: string, podName: string, namespace: string): Promise<PodNetworkStatus>;
  /** The pod's status if its namespace exists (after an agent restart). */
  podStatus(podUID: string): Promise<PodNetworkStatus | undefined>;
  /** CNI DEL, namespace removal; idempotent. */
  tearDownPod(podUID: string): Promise<void>;
  /** UIDs of every pod namespace this node has (to find and remove leftovers). */
  listPods(): Promise<string[]>;
  /** A TCP connection to host:port from inside the node's network. */
  dial(host: string, port: number, timeoutMs: number): Promise<Duplex>;
  /** Removes the node's namespace and everything in it (the agent's own shutdown). */
  tearDownNode(): Promise<void>;
  close(): Promise<void>;
}
