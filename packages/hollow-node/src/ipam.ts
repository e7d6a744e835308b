/**
 * Pod IPs of one hollow node, out of its pod CIDR, as the CNI host-local IPAM plugin hands them
 * out: the first address is the network and the second the bridge's gateway, the last the
 * broadcast address, so pods get the ones between; the search resumes after the last address
 * given (host-local's round robin), so a released address is not handed out again at once. One
 * bit per address, allocated on the node's first pod (most hollow nodes of a big run hold none).
 */
import { blockSize, type Cidr, contains, formatIPv4, parseIPv4 } from "./cidr.js";

/** Offsets below this are the network and the gateway. */
const firstOffset = 2;

/** How many pod addresses a node CIDR of `prefix` bits holds. */
export function podAddresses(prefix: number): number {
  return Math.max(0, blockSize(prefix) - firstOffset - 1);
}

export class PodIPAllocator {
  private used: Uint8Array | undefined;
  /** The offset the next search starts at. Invariant: firstOffset <= next < size - 1. */
  private next = firstOffset;
  private count = 0;
  private readonly size: number;

  constructor(readonly cidr: Cidr) {
    this.size = blockSize(cidr.prefix);
  }

  /** Addresses handed out and not released. */
  get inUse(): number {
    return this.count;
  }

  /** A free address; throws when every one is taken. */
  allocate(): string {
    const capacity = podAddresses(this.cidr.prefix);
    if (this.count >= capacity)
      throw new Error(`no free pod IP in ${formatIPv4(this.cidr.base)}/${this.cidr.prefix}`);
    for (let tried = 0; tried < capacity; tried++) {
      const offset = this.next;
      this.next = offset + 1 >= this.size - 1 ? firstOffset : offset + 1;
      if (!this.isUsed(offset)) {
        this.mark(offset, true);
        return formatIPv4(this.cidr.base + offset);
      }
    }
    throw new Error("pod IP bitmap out of step with its count");
  }

  /** Takes an address a pod already has (a restart finds pods running); false if outside or taken. */
  claim(ip: string): boolean {
    const offset = this.offsetOf(ip);
    if (offset === undefined || this.isUsed(offset)) return false;
    this.mark(offset, true);
    return true;
  }

  release(ip: string): void {
    const offset = this.offsetOf(ip);
    if (offset !== undefined && this.isUsed(offset)) this.mark(offset, false);
  }

  private offsetOf(ip: string): number | undefined {
    const n = parseIPv4(ip);
    if (n === undefined || !contains(this.cidr, n)) return undefined;
    const offset = n - this.cidr.base;
    return offset >= firstOffset && offset < this.size - 1 ? offset : undefined;
  }

  private isUsed(offset: number): boolean {
    return this.used !== undefined && ((this.used[offset >> 3] as number) & (1 << (offset & 7))) !== 0;
  }

  private mark(offset: number, used: boolean): void {
    this.used ??= new Uint8Array(Math.ceil(this.size / 8));
    const byte = offset >> 3;
    const bit = 1 << (offset & 7);
    const before = this.used[byte] as number;
    this.used[byte] = used ? before | bit : before & ~bit;
    this.count += used ? 1 : -1;
  }
}
