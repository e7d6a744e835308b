/**
 * What keeps the hollow nodes alive in the API: registration (kubelet's registerWithAPIServer:
 * create the Node, or take over the one of the same name), the node Lease renewed every renew
 * interval (the node lease controller), and the status posted again every report frequency though
 * nothing changed (kubelet's nodeStatusReportFrequency with leases on). The wheel visits each node
 * once per renew interval; a visit does whatever the node is due for, one request at a time per
 * node, every request through the shared limiter.
 */
import type { Lease, Node } from "@skiff/api";
import { ApiError, isAlreadyExists, isNotFound, type KubeClient, type ResourceClient } from "@skiff/client";
import type { Logger } from "@skiff/component-base";
import type { Clock } from "./clock.js";
import type { HollowNode } from "./hollow-node.js";
import { LimiterClosed, type RequestLimiter } from "./limiter.js";
import type { HollowMetrics } from "./metrics.js";
import {
  heartbeatPatch,
  type NodeShape,
  newLease,
  newNode,
  nodeLeaseNamespace,
  nodeStatus,
  renewPatch,
  takeOverPatch,
} from "./node-object.js";

export interface HeartbeatOptions {
  shape: NodeShape;
  leaseDurationSeconds: number;
  statusReportFrequencyMs: number;
}

export class NodeHeartbeats {
  private readonly nodeClient: ResourceClient<Node>;
  private readonly leaseClient: ResourceClient<Lease>;
  private registeredCount = 0;
  private allRegistered: (() => void) | undefined;

  constructor(
    private readonly nodes: readonly HollowNode[],
    client: KubeClient,
    private readonly limiter: RequestLimiter,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: HollowMetrics,
    private readonly o: HeartbeatOptions,
  ) {
    this.nodeClient = client.resource<Node>("v1", "nodes");
    this.leaseClient = client.resource<Lease>("coordination.k8s.io/v1", "leases", nodeLeaseNamespace);
  }

  get registered(): number {
    return this.registeredCount;
  }

  /** Starts registering every node; resolves once all are registered (failures retry on visits). */
  registerAll(): Promise<void> {
    const done = new Promise<void>((resolve) => {
      this.allRegistered = resolve;
    });
    for (const n of this.nodes) this.beat(n, () => this.register(n));
    if (this.registeredCount === this.nodes.length) this.allRegistered?.();
    return done;
  }

  /** A visit of the wheel: register, renew the Lease, post the status, as the node is due. */
  visit(n: HollowNode): void {
    if (n.busy || n.heartbeatsPaused) return;
    if (!n.registered) this.beat(n, () => this.register(n));
    else this.beat(n, () => this.renew(n));
  }

  /** Deletes every Lease and Node (--delete-nodes-on-exit); errors other than 404 are logged. */
  async deleteAll(limiter: RequestLimiter): Promise<void> {
    const gone = (e: unknown) => {
      if (!isNotFound(e)) this.log.warn({ err: String(e) }, "deleting a hollow node failed");
    };
    await Promise.all(
      this.nodes.map(async (n) => {
        await limiter.run("node", () => this.leaseClient.delete(n.name)).catch(gone);
        await limiter.run("node", () => this.nodeClient.delete(n.name)).catch(gone);
      }),
    );
  }

  /** Runs one heartbeat task for the node (never two at once), logging the first of a run of failures. */
  private beat(n: HollowNode, task: () => Promise<void>): void {
    n.busy = true;
    task()
      .then(
        () => {
          if (n.failures > 0)
            this.log.info({ node: n.name, failures: n.failures }, "hollow node heartbeat recovered");
          n.failures = 0;
        },
        (e: unknown) => {
          if (e instanceof LimiterClosed) return;
          n.failures++;
          if (n.failures === 1)
            this.log.warn({ node: n.name, err: String(e) }, "hollow node heartbeat failed");
        },
      )
      .finally(() => {
        n.busy = false;
      });
  }

  private call<T>(f: () => Promise<T>): Promise<T> {
    return this.limiter.run("node", f);
  }

  private async register(n: HollowNode): Promise<void> {
    // Times are taken when a request goes: with 5,000 nodes registering, it may wait seconds.
    let now = 0;
    try {
      const created = await this.call(() => {
        now = this.clock.now();
        return this.nodeClient.create(newNode(n, this.o.shape, now));
      });
      n.uid = created.metadata.uid;
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      // kubelet's tryRegisterWithAPIServer on AlreadyExists: the Node is ours; bring it up to date.
      n.uid = (await this.takeOver(n)).metadata.uid;
      await this.call(() => {
        now = this.clock.now();
        const status = { status: nodeStatus(n, this.o.shape, now, now) };
        return this.nodeClient.patch(n.name, status, "strategic", { subresource: "status" });
      });
    }
    n.registeredAt = now;
    this.metrics.statusReports.inc({ result: "success" });
    await this.createLease(n);
    n.registered = true;
    // The first unchanged-status post comes after a share of the report period proportional to
    // the node's number, so that 5,000 nodes registered together do not all post together later.
    n.nextStatusAt =
      this.clock.monotonic() + (this.o.statusReportFrequencyMs * (n.index + 1)) / this.nodes.length;
    this.registeredCount++;
    if (this.registeredCount === this.nodes.length) this.allRegistered?.();
  }

  /**
   * This run's labels and pod CIDR on an existing Node. kube-apiserver refuses to change a pod
   * CIDR once set (422): then the Node keeps its own and only the labels change, and pods get IPs
   * of this run's CIDR all the same (logged).
   */
  private async takeOver(n: HollowNode): Promise<Node> {
    const patch = takeOverPatch(n, this.o.shape);
    try {
      return await this.call(() => this.nodeClient.patch(n.name, patch, "strategic"));
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 422)) throw e;
      this.log.warn({ node: n.name, podCIDR: n.podCIDR, err: e.message }, "the Node keeps its pod CIDR");
      return await this.call(() => this.nodeClient.patch(n.name, { metadata: patch.metadata }, "strategic"));
    }
  }

  /** Creates the Lease, or renews and re-owns the one a previous run left. */
  private async createLease(n: HollowNode): Promise<void> {
    let now = 0;
    const lease = () => {
      now = this.clock.now();
      return newLease(n.name, n.uid, this.o.leaseDurationSeconds, now);
    };
    try {
      await this.call(() => this.leaseClient.create(lease()));
    } catch (e) {
      if (!isAlreadyExists(e)) {
        this.metrics.leaseRenewals.inc({ result: "error" });
        throw e;
      }
      await this.call(() => {
        const l = lease();
        return this.leaseClient.patch(
          n.name,
          { metadata: { ownerReferences: l.metadata.ownerReferences ?? null }, spec: l.spec },
          "merge",
        );
      });
    }
    n.leaseRenewedAt = now;
    this.metrics.leaseRenewals.inc({ result: "success" });
  }

  private async renew(n: HollowNode): Promise<void> {
    // The time is taken when the request goes, not when the visit queued it.
    let now = 0;
    try {
      await this.call(() => {
        now = this.clock.now();
        return this.leaseClient.patch(n.name, renewPatch(n.name, this.o.leaseDurationSeconds, now), "merge");
      });
      n.leaseRenewedAt = now;
      this.metrics.leaseRenewals.inc({ result: "success" });
    } catch (e) {
      if (!isNotFound(e)) {
        this.metrics.leaseRenewals.inc({ result: "error" });
        throw e;
      }
      // Someone deleted the Lease: make it again, as the lease controller does.
      await this.createLease(n);
    }
    if (this.clock.monotonic() >= n.nextStatusAt) await this.postStatus(n);
  }

  private async postStatus(n: HollowNode): Promise<void> {
    let now = 0;
    try {
      await this.call(() => {
        now = this.clock.now();
        return this.nodeClient.patch(n.name, heartbeatPatch(now, n.registeredAt), "strategic", {
          subresource: "status",
        });
      });
      n.nextStatusAt = this.clock.monotonic() + this.o.statusReportFrequencyMs;
      this.metrics.statusReports.inc({ result: "success" });
    } catch (e) {
      this.metrics.statusReports.inc({ result: "error" });
      if (!isNotFound(e)) throw e;
      // The Node was deleted: register it again on the next visit (a restarted kubelet would).
      n.registered = false;
      this.registeredCount--;
      throw e;
    }
  }
}
