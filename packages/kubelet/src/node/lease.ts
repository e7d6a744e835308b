/**
 * The node lease controller (k8s.io/component-helpers/apimachinery/lease/controller.go, as the
 * kubelet runs it): Lease kube-node-lease/<node>, holderIdentity the node name,
 * leaseDurationSeconds 40, renewTime refreshed every renewInterval (10 s: a quarter of the
 * duration, kube's NodeLeaseDurationSeconds * 0.25). A renewal PUTs the last Lease seen with a
 * new renewTime (retryUpdateLease, 5 tries); on a conflict or after those tries, it gets or
 * creates the Lease again with backoff from 200 ms doubling to 7 s (backoffEnsureLease). The
 * Lease is owned by the Node (setNodeOwnerFunc) so that deleting the Node deletes it.
 */
import type { Lease, Node } from "@skiff/api";
import {
  type ClientInterface,
  type Clock,
  isConflict,
  isNotFound,
  microTime,
  type ResourceClient,
  realClock,
  sleep,
} from "@skiff/client";
import { type Logger, silentLogger } from "@skiff/component-base";
import { Periodic } from "./periodic.js";

export const nodeLeaseNamespace = "kube-node-lease";
const maxUpdateRetries = 5;
const maxBackoffMs = 7_000;

export interface NodeLeaseControllerOptions {
  client: ClientInterface;
  nodeName: string;
  /** Default 40 (kubelet's nodeLeaseDurationSeconds). */
  leaseDurationSeconds?: number;
  /** Default a quarter of the duration: 10 s. */
  renewIntervalMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export class NodeLeaseController {
  private readonly leases: ResourceClient<Lease>;
  private readonly nodes: ResourceClient<Node>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly durationSeconds: number;
  private latestLease: Lease | undefined;
  private readonly periodic: Periodic;

  constructor(private readonly o: NodeLeaseControllerOptions) {
    this.leases = o.client.resource<Lease>("coordination.k8s.io/v1", "leases", nodeLeaseNamespace);
    this.nodes = o.client.resource<Node>("v1", "nodes");
    this.clock = o.clock ?? realClock;
    this.log = o.logger ?? silentLogger;
    this.durationSeconds = o.leaseDurationSeconds ?? 40;
    // sync never throws (failures back off inside it); onError only guards the loop.
    this.periodic = new Periodic({
      clock: this.clock,
      periodMs: this.renewIntervalMs,
      run: () => this.sync(),
      onError: (e) => this.log.error({ node: o.nodeName, err: String(e) }, "node lease sync failed"),
    });
  }

  get renewIntervalMs(): number {
    return this.o.renewIntervalMs ?? this.durationSeconds * 250;
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** One renewal (the controller's sync): never throws; failures back off and retry. */
  async sync(): Promise<void> {
    if (this.latestLease !== undefined && (await this.retryUpdateLease(this.latestLease))) return;
    await this.backoffEnsureLease();
  }

  /** Updates the Lease with a fresh renewTime; false means "get or create it again". */
  private async retryUpdateLease(base: Lease): Promise<boolean> {
    for (let i = 0; i < maxUpdateRetries && !this.periodic.stopped; i++) {
      try {
        this.latestLease = await this.leases.update(await this.newLease(base));
        return true;
      } catch (e) {
        this.log.warn({ node: this.o.nodeName, err: String(e) }, "failed to update lease");
        if (isConflict(e) || isNotFound(e)) return false;
      }
    }
    return false;
  }

  /** Gets the Lease, creating it when absent, retrying with backoff until it succeeds or stops. */
  private async backoffEnsureLease(): Promise<void> {
    let sleepMs = 100;
    while (!this.periodic.stopped) {
      try {
        const lease = await this.ensureLease();
        // A Lease found (not created) is renewed at once, as the controller's sync does.
        this.latestLease = lease.created
          ? lease.lease
          : await this.leases.update(await this.newLease(lease.lease));
        return;
      } catch (e) {
        sleepMs = Math.min(2 * sleepMs, maxBackoffMs);
        this.log.warn(
          { node: this.o.nodeName, err: String(e), retryMs: sleepMs },
          "failed to ensure lease exists, will retry",
        );
        // Ends early on stop(), so that stop() does not wait out the backoff.
        await sleep(this.clock, sleepMs, this.periodic.signal);
      }
    }
  }

  private async ensureLease(): Promise<{ lease: Lease; created: boolean }> {
    try {
      return { lease: await this.leases.get(this.o.nodeName), created: false };
    } catch (e) {
      if (!isNotFound(e)) throw e;
      return { lease: await this.leases.create(await this.newLease(undefined)), created: true };
    }
  }

  /** newLease: the base (or a new Lease) with this holder, duration, renewTime and owner. */
  private async newLease(base: Lease | undefined): Promise<Lease> {
    const lease: Lease =
      base === undefined
        ? {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: this.o.nodeName, namespace: nodeLeaseNamespace },
          }
        : structuredClone(base);
    lease.spec = {
      ...lease.spec,
      holderIdentity: this.o.nodeName,
      leaseDurationSeconds: this.durationSeconds,
      renewTime: microTime(this.clock.now()),
    };
    if ((lease.metadata.ownerReferences ?? []).length === 0) {
      // setNodeOwnerFunc: owned by the Node once it exists; without it, retried next renewal.
      try {
        const node = await this.nodes.get(this.o.nodeName);
        if (node.metadata.uid !== undefined)
          lease.metadata.ownerReferences = [
            { apiVersion: "v1", kind: "Node", name: this.o.nodeName, uid: node.metadata.uid },
          ];
      } catch (e) {
        this.log.debug(
          { node: this.o.nodeName, err: String(e) },
          "failed to get node when trying to set owner ref to the node lease",
        );
      }
    }
    return lease;
  }
}
