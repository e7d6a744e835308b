/**
 * kube's node IPAM controller with the RangeAllocator (pkg/controller/nodeipam, ipam/
 * range_allocator.go, kube 1.32; --allocate-node-cidrs, --cluster-cidr, --node-cidr-mask-size):
 * every node without a pod CIDR gets the next free /nodeCidrMaskSize subnet of the cluster CIDR
 * in spec.podCIDR and spec.podCIDRs (a strategic merge patch); subnets nodes already hold are
 * remembered when the controller starts and as nodes are seen; a deleted node's subnet is
 * released; the service range is never handed out. A full range is a CIDRNotAvailable event on
 * the node and a retry with backoff.
 */
import type { Node } from "@skiff/api";
import { type EventRecorder, type Informer, isNotFound } from "@skiff/client";
import type { ControllerContext } from "../context.js";
import { deletedObject, QueueController } from "../controller.js";
import { recordNodeStatusChange } from "../util/node-events.js";
import { messageOf } from "../util/pod-control.js";
import { CidrSet, formatIpv4Cidr, type Ipv4Cidr, parseIpv4Cidr } from "./cidrset.js";

export const NODE_IPAM_CONTROLLER = "node-ipam-controller";
/** kube's cidrUpdateRetries. */
const CIDR_UPDATE_RETRIES = 3;

export class NodeIpamController extends QueueController {
  /** One set per cluster CIDR (kube's dual stack has two; Skiff's pod network is IPv4). */
  readonly cidrSets: CidrSet[];
  private readonly nodes: Informer<Node>;
  private readonly recorder: EventRecorder;
  /** CIDRs this controller wrote to a node the cache does not show yet (cache lag, not a new node). */
  private readonly written = new Map<string, string[]>();
  /** Nodes whose pod CIDR lies outside the cluster CIDR, reported once each. */
  private readonly foreign = new Set<string>();

  constructor(ctx: ControllerContext) {
    super(NODE_IPAM_CONTROLLER, ctx, { queueName: "cidrallocator_node" });
    const c = ctx.config;
    this.cidrSets = c.clusterCidr
      .split(",")
      .filter((s) => s.trim() !== "")
      .map((s) => new CidrSet(parseIpv4Cidr(s), c.nodeCidrMaskSize));
    if (this.cidrSets.length === 0) throw new Error("node IPAM needs --cluster-cidr");
    this.filterOutServiceRange(c.serviceClusterIpRange);
    this.recorder = ctx.recorder("cidrAllocator");
    this.nodes = ctx.informers.informerFor<Node>("v1", "nodes");
    this.nodes.addEventHandler({
      onAdd: (node) => this.enqueue(node),
      onUpdate: (_old, node) => this.enqueue(node),
      onDelete: (node, tombstone) => {
        // Nodes have no finalizer: the release happens here, as kube's handler does it.
        const n = deletedObject(node, tombstone);
        this.releaseCIDR(n);
        this.enqueue(n);
      },
    });
  }

  /** The subnets of nodes that already have one are taken before any is handed out. */
  override async run(workers: number, signal: AbortSignal): Promise<void> {
    this.occupyExistingNodes();
    await super.run(workers, signal);
  }

  /** What NewCIDRRangeAllocator does with the node list: every cached node's CIDRs marked used. */
  occupyExistingNodes(): void {
    for (const node of this.nodes.lister().list()) this.occupyCIDRs(node);
  }

  async sync(nodeName: string): Promise<void> {
    const node = this.nodes.lister().get(nodeName);
    if (node === undefined) {
      this.written.delete(nodeName);
      return;
    }
    if (node.metadata.deletionTimestamp !== undefined) {
      this.releaseCIDR(node);
      return;
    }
    await this.allocateOrOccupyCIDR(node);
  }

  /** AllocateOrOccupyCIDR. */
  private async allocateOrOccupyCIDR(node: Node): Promise<void> {
    const name = node.metadata.name;
    if ((node.spec?.podCIDRs ?? []).length > 0) {
      this.written.delete(name);
      this.occupyCIDRs(node);
      return;
    }
    if (this.written.has(name)) return;
    const allocated: Ipv4Cidr[] = [];
    for (const [idx, set] of this.cidrSets.entries()) {
      try {
        allocated.push(set.allocateNext());
      } catch (e) {
        this.release(allocated);
        recordNodeStatusChange(this.recorder, node, "CIDRNotAvailable");
        throw new Error(`failed to allocate cidr from cluster cidr at idx:${idx}: ${messageOf(e)}`);
      }
    }
    await this.updateCIDRsAllocation(name, allocated);
  }

  /** updateCIDRsAllocation: writes the CIDRs unless the node got some meanwhile (then ours go back). */
  private async updateCIDRsAllocation(nodeName: string, allocated: Ipv4Cidr[]): Promise<void> {
    const cidrs = allocated.map(formatIpv4Cidr);
    const release = () => this.release(allocated);
    const node = this.nodes.lister().get(nodeName);
    if (node === undefined) {
      release();
      return;
    }
    const have = node.spec?.podCIDRs ?? [];
    if (have.length === cidrs.length && have.every((c, i) => c === cidrs[i])) return;
    if (have.length > 0) {
      this.log.warn(
        { node: nodeName, podCIDRs: have },
        "Node already has a CIDR allocated. Releasing the new one.",
      );
      release();
      return;
    }
    let last: unknown;
    for (let i = 0; i < CIDR_UPDATE_RETRIES; i++) {
      try {
        const patch = { spec: { podCIDR: cidrs[0], podCIDRs: cidrs } };
        await this.ctx.client.resource<Node>("v1", "nodes").patch(nodeName, patch, "strategic");
        this.written.set(nodeName, cidrs);
        this.log.info({ node: nodeName, cidr: cidrs }, "Set Node PodCIDR");
        return;
      } catch (e) {
        last = e;
        if (isNotFound(e)) break;
      }
    }
    recordNodeStatusChange(this.recorder, node, "CIDRAssignmentFailed");
    release();
    throw new Error(
      `failed to update node ${nodeName} PodCIDR after ${CIDR_UPDATE_RETRIES} attempts: ${messageOf(last)}`,
    );
  }

  /**
   * occupyCIDRs: marks the node's CIDRs used. kube fails (and at start-up, stops) on a CIDR
   * outside the cluster CIDR; here that node is reported once and left alone, as a retry cannot
   * help (the first such node at warn, the others at debug: thousands of hollow nodes may share
   * a range of their own).
   */
  private occupyCIDRs(node: Node): void {
    for (const [idx, cidr] of (node.spec?.podCIDRs ?? []).entries()) {
      const set = this.cidrSets[idx];
      try {
        if (set === undefined) throw new Error(`no cluster CIDR at index ${idx}`);
        set.occupy(parseIpv4Cidr(cidr));
      } catch (e) {
        if (this.foreign.has(node.metadata.name)) continue;
        const first = this.foreign.size === 0;
        this.foreign.add(node.metadata.name);
        (first ? this.log.warn : this.log.debug).call(
          this.log,
          { node: node.metadata.name, cidr, err: messageOf(e) },
          "failed to mark the node's pod CIDR as occupied; leaving it alone",
        );
      }
    }
  }

  /** Gives back CIDRs allocated here and not written to a node. */
  private release(allocated: readonly Ipv4Cidr[]): void {
    for (const [i, c] of allocated.entries()) this.cidrSets[i]?.release(c);
  }

  /** ReleaseCIDR. */
  private releaseCIDR(node: Node): void {
    this.written.delete(node.metadata.name);
    this.foreign.delete(node.metadata.name);
    for (const [idx, cidr] of (node.spec?.podCIDRs ?? []).entries()) {
      try {
        this.cidrSets[idx]?.release(parseIpv4Cidr(cidr));
      } catch (e) {
        this.log.debug(
          { node: node.metadata.name, cidr, err: messageOf(e) },
          "not releasing a CIDR outside the cluster CIDR",
        );
      }
    }
  }

  /** filterOutServiceRange: the service CIDR's subnets, if it overlaps the cluster CIDR, are never allocated. */
  private filterOutServiceRange(serviceCidr: string): void {
    if (serviceCidr.trim() === "") return;
    let svc: Ipv4Cidr;
    try {
      svc = parseIpv4Cidr(serviceCidr.split(",")[0] ?? "");
    } catch {
      return;
    }
    for (const set of this.cidrSets) {
      try {
        set.occupy(svc);
      } catch {
        // No overlap: nothing to filter.
      }
    }
  }
}
