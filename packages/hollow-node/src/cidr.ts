/**
 * IPv4 arithmetic for the hollow nodes' fake addresses: node i's pod CIDR is the i-th subnet of
 * --pod-cidr-base with --node-cidr-mask-size bits (as kube-controller-manager's range allocator
 * hands out --cluster-cidr), and its InternalIP the (i+1)-th address of --node-ip-base.
 */

export interface Cidr {
  /** The network address as an unsigned 32-bit number (host bits zero). */
  readonly base: number;
  readonly prefix: number;
}

/** A dotted quad as an unsigned 32-bit number, or undefined when it is not one. */
export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (m === null) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** The size of a block of `prefix` bits. */
export const blockSize = (prefix: number): number => 2 ** (32 - prefix);

/** "10.64.0.0/10"; host bits are cleared, as net.ParseCIDR gives the network. Throws on anything else. */
export function parseCidr(s: string): Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  const ip = m === null ? undefined : parseIPv4(m[1] as string);
  const prefix = Number(m?.[2]);
  if (ip === undefined || !(prefix >= 0 && prefix <= 32)) throw new Error(`invalid CIDR address: ${s}`);
  const size = blockSize(prefix);
  return { base: ip - (ip % size), prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.base)}/${c.prefix}`;
}

/** How many subnets of `prefix` bits `c` holds. */
export function subnetCount(c: Cidr, prefix: number): number {
  return prefix < c.prefix ? 0 : 2 ** (prefix - c.prefix);
}

/** The i-th subnet of `prefix` bits inside `c`. */
export function subnet(c: Cidr, prefix: number, i: number): Cidr {
  if (!Number.isInteger(i) || i < 0 || i >= subnetCount(c, prefix))
    throw new Error(`${formatCidr(c)} has no subnet /${prefix} number ${i}`);
  return { base: c.base + i * blockSize(prefix), prefix };
}

export function contains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + blockSize(c.prefix);
}
