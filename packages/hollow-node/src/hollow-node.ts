/**
 * One hollow node: its identity (name, number, pod CIDR, InternalIP) and the little state its
 * heartbeat needs. Kept small on purpose: 5,000 of these live in one process, so no copy of the
 * Node or Lease object is kept; they are rebuilt from the identity when written.
 */
import { type Cidr, formatCidr, formatIPv4, parseCidr, subnet } from "./cidr.js";
import type { PodIPAllocator } from "./ipam.js";
import type { NodeIdentity } from "./node-object.js";

export class HollowNode implements NodeIdentity {
  /** The Node's metadata.uid once registered (the Lease's owner reference). */
  uid: string | undefined;
  /** The Node exists with this run's labels and status. Cleared when a status post finds it gone. */
  registered = false;
  /** A registration, renewal or status post is in flight; a visit of the wheel skips the node. */
  busy = false;
  /** Heartbeats stopped by pauseHeartbeats (a node gone silent, for failover tests). */
  heartbeatsPaused = false;
  /** Consecutive failed heartbeats (registration, renewal or status); logged on the first. */
  failures = 0;
  /** When the Node was registered by this run (the conditions' lastTransitionTime). */
  registeredAt = 0;
  /** When the status is next posted though nothing changed (Clock.monotonic). */
  nextStatusAt = 0;
  /** When the Lease was last renewed (0: never by this run). */
  leaseRenewedAt = 0;
  /** Pod IPs, made on the node's first pod. */
  ipam: PodIPAllocator | undefined;

  constructor(
    readonly name: string,
    readonly index: number,
    readonly podCidr: Cidr,
    readonly internalIP: string,
  ) {}

  get podCIDR(): string {
    return formatCidr(this.podCidr);
  }
}

/** The nodes of a run: name = prefix + number, the i-th pod subnet and the (i+1)-th node address. */
export function makeNodes(o: {
  count: number;
  namePrefix: string;
  podCidrBase: string;
  nodeCidrMaskSize: number;
  nodeIpBase: string;
}): HollowNode[] {
  const pods = parseCidr(o.podCidrBase);
  const ips = parseCidr(o.nodeIpBase);
  return Array.from(
    { length: o.count },
    (_, i) =>
      new HollowNode(
        `${o.namePrefix}${i}`,
        i,
        subnet(pods, o.nodeCidrMaskSize, i),
        formatIPv4(ips.base + i + 1),
      ),
  );
}
