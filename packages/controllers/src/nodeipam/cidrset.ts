/**
 * kube's CidrSet (pkg/controller/nodeipam/ipam/cidrset), IPv4: the cluster CIDR cut into node
 * subnets of nodeMaskSize bits, a bitmap of those in use, and a round-robin cursor so that a
 * released subnet is not handed out again at once (nextCandidate). Occupy and Release take any
 * CIDR overlapping the cluster's and mark every node subnet it touches.
 */

export interface Ipv4Cidr {
  /** The network address as an unsigned 32-bit number. */
  readonly base: number;
  readonly prefix: number;
}

/** Parses "a.b.c.d/n" (the address masked to the network, as net.ParseCIDR); throws on anything else. */
export function parseIpv4Cidr(s: string): Ipv4Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s.trim());
  const octets = m?.slice(1, 5).map(Number) ?? [];
  const prefix = Number(m?.[5]);
  if (m === null || octets.some((o) => o > 255) || prefix > 32) throw new Error(`invalid CIDR address: ${s}`);
  const addr = octets.reduce((a, o) => a * 256 + o, 0);
  return { base: maskOf(addr, prefix), prefix };
}

export function formatIpv4Cidr(c: Ipv4Cidr): string {
  const b = c.base;
  return `${(b >>> 24) & 255}.${(b >>> 16) & 255}.${(b >>> 8) & 255}.${b & 255}/${c.prefix}`;
}

function maskOf(addr: number, prefix: number): number {
  return prefix === 0 ? 0 : addr - (addr % 2 ** (32 - prefix));
}

/** The last address of a CIDR. */
function lastOf(c: Ipv4Cidr): number {
  return c.base + 2 ** (32 - c.prefix) - 1;
}

/** kube's ErrCIDRRangeNoCIDRsRemaining. */
export const ERR_NO_CIDRS_REMAINING =
  "CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range";

export class CidrSet {
  readonly maxCIDRs: number;
  /** Invariant: used[i] iff node subnet i is allocated or occupied; allocated = the count of them. */
  private readonly used: Uint8Array;
  private allocated = 0;
  private nextCandidate = 0;

  constructor(
    readonly clusterCIDR: Ipv4Cidr,
    readonly nodeMaskSize: number,
  ) {
    if (nodeMaskSize < clusterCIDR.prefix || nodeMaskSize > 32)
      throw new Error(
        `node CIDR mask size ${nodeMaskSize} does not fit cluster CIDR ${formatIpv4Cidr(clusterCIDR)}`,
      );
    // Bounded so the bitmap stays small; kube bounds the difference to 16 bits for IPv6.
    if (nodeMaskSize - clusterCIDR.prefix > 24)
      throw new Error(
        `CIDRSet: subnet mask size ${nodeMaskSize} too large for ${formatIpv4Cidr(clusterCIDR)}`,
      );
    this.maxCIDRs = 2 ** (nodeMaskSize - clusterCIDR.prefix);
    this.used = new Uint8Array(this.maxCIDRs);
  }

  /** Node subnets in use. */
  get allocatedCount(): number {
    return this.allocated;
  }

  /** AllocateNext: the first free subnet at or after the cursor; throws ERR_NO_CIDRS_REMAINING. */
  allocateNext(): Ipv4Cidr {
    for (let i = 0; i < this.maxCIDRs; i++) {
      const candidate = (i + this.nextCandidate) % this.maxCIDRs;
      if (this.used[candidate] === 0) {
        this.nextCandidate = (candidate + 1) % this.maxCIDRs;
        this.used[candidate] = 1;
        this.allocated++;
        return this.indexToCIDRBlock(candidate);
      }
    }
    throw new Error(ERR_NO_CIDRS_REMAINING);
  }

  /** Occupy: marks every node subnet `cidr` touches as used; throws if it is outside the cluster CIDR. */
  occupy(cidr: Ipv4Cidr): void {
    const [begin, end] = this.indices(cidr);
    for (let i = begin; i <= end; i++) {
      if (this.used[i] === 0) this.allocated++;
      this.used[i] = 1;
    }
  }

  /** Release: frees every node subnet `cidr` touches. */
  release(cidr: Ipv4Cidr): void {
    const [begin, end] = this.indices(cidr);
    for (let i = begin; i <= end; i++) {
      if (this.used[i] === 1) this.allocated--;
      this.used[i] = 0;
    }
  }

  private indexToCIDRBlock(index: number): Ipv4Cidr {
    return { base: this.clusterCIDR.base + index * 2 ** (32 - this.nodeMaskSize), prefix: this.nodeMaskSize };
  }

  /** getBeginningAndEndIndices: the node subnets `cidr` overlaps (all of them if it holds the cluster's). */
  private indices(cidr: Ipv4Cidr): [number, number] {
    const cluster = this.clusterCIDR;
    const overlaps =
      maskOf(cidr.base, cluster.prefix) === cluster.base || maskOf(cluster.base, cidr.prefix) === cidr.base;
    if (!overlaps)
      throw new Error(
        `cidr ${formatIpv4Cidr(cidr)} is out the range of cluster cidr ${formatIpv4Cidr(cluster)}`,
      );
    if (cidr.prefix <= cluster.prefix) return [0, this.maxCIDRs - 1];
    const size = 2 ** (32 - this.nodeMaskSize);
    const begin = Math.floor((maskOf(cidr.base, this.nodeMaskSize) - cluster.base) / size);
    const end = Math.floor((maskOf(lastOf(cidr), this.nodeMaskSize) - cluster.base) / size);
    return [begin, end];
  }
}
