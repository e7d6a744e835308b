/**
 * In-memory PodNetwork for unit tests: pod "namespaces" are records with addresses handed out
 * in order from the pod CIDR's /24, and dial() reaches 127.0.0.1 on the asked port (whatever the
 * host), so a test's loopback server stands in for a pod's.
 */
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import type { PodNetwork, PodNetworkStatus } from "./network.js";

export class FakePodNetwork implements PodNetwork {
  readonly pods = new Map<string, PodNetworkStatus & { name: string; namespace: string }>();
  podCIDR: string | undefined;
  /** Set to make setUpPod fail (as a failing CNI ADD), e.g. to test FailedCreatePodSandBox. */
  setUpError: string | undefined;
  private next = 2;

  constructor(private readonly hostIP = "192.168.0.10") {}

  async setUpNode(podCIDR: string): Promise<void> {
    this.podCIDR = podCIDR;
  }

  nodeIP(): string {
    return this.hostIP;
  }

  async setUpPod(podUID: string, podName: string, namespace: string): Promise<PodNetworkStatus> {
    const have = this.pods.get(podUID);
    if (have !== undefined) return { netnsPath: have.netnsPath, ip: have.ip };
    if (this.setUpError !== undefined) throw new Error(this.setUpError);
    const base = (this.podCIDR ?? "10.244.0.0/24").split("/")[0]?.split(".").slice(0, 3).join(".");
    const st = { netnsPath: `/var/run/netns/fake-${podUID}`, ip: `${base}.${this.next++}` };
    this.pods.set(podUID, { ...st, name: podName, namespace });
    return st;
  }

  async podStatus(podUID: string): Promise<PodNetworkStatus | undefined> {
    const p = this.pods.get(podUID);
    return p === undefined ? undefined : { netnsPath: p.netnsPath, ip: p.ip };
  }

  async tearDownPod(podUID: string): Promise<void> {
    this.pods.delete(podUID);
  }

  async listPods(): Promise<string[]> {
    return [...this.pods.keys()];
  }

  dial(_host: string, port: number, timeoutMs: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`dial 127.0.0.1:${port}: timeout`));
      }, timeoutMs);
      s.once("connect", () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  async tearDownNode(): Promise<void> {
    this.pods.clear();
  }

  async close(): Promise<void> {}
}
