/**
 * The names of the table's chains, sets and maps, spelled as kube-proxy's nftables mode spells
 * them (pkg/proxy/nftables/proxier.go), so that `nft list table` reads the same as on a kube node.
 */
import { createHash } from "node:crypto";

// Base chains ("<type>-<hook>") and the fixed regular chains, as kube-proxy's.
export const FILTER_PREROUTING = "filter-prerouting";
export const FILTER_INPUT = "filter-input";
export const FILTER_OUTPUT = "filter-output";
export const NAT_PREROUTING = "nat-prerouting";
export const NAT_OUTPUT = "nat-output";
export const NAT_POSTROUTING = "nat-postrouting";
export const SERVICES_CHAIN = "services";
export const SERVICE_ENDPOINTS_CHECK_CHAIN = "service-endpoints-check";
export const NODEPORT_ENDPOINTS_CHECK_CHAIN = "nodeport-endpoints-check";
export const REJECT_CHAIN = "reject-chain";
export const MARK_MASQ_CHAIN = "mark-for-masquerade";
export const MASQUERADING_CHAIN = "masquerading";

// Service dispatch and the "no endpoints" verdict maps.
export const SERVICE_IPS_MAP = "service-ips";
export const SERVICE_NODEPORTS_MAP = "service-nodeports";
export const NO_ENDPOINT_SERVICES_MAP = "no-endpoint-services";
export const NO_ENDPOINT_NODEPORTS_MAP = "no-endpoint-nodeports";

// Per-Service-port and per-endpoint prefixes (kube's servicePort*ChainNamePrefix).
export const CLUSTER_POLICY_PREFIX = "service-";
export const LOCAL_POLICY_PREFIX = "local-";
export const EXTERNAL_PREFIX = "external-";
export const ENDPOINT_PREFIX = "endpoint-";
export const AFFINITY_PREFIX = "affinity-";

/** nftables names are at most 255 bytes (NFT_NAME_MAXLEN 256 with the NUL), as knftables.NameLengthMax. */
const NAME_LENGTH_MAX = 256;
/** The longest prefix above plus its hyphen fits in 16, as kube's chainNamePrefixLengthMax. */
const CHAIN_NAME_BASE_LENGTH_MAX = NAME_LENGTH_MAX - 16;

const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 (Go's base32.StdEncoding) of the bytes, without padding. */
export function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/**
 * kube's hashAndTruncate: prefixes the name with 8 base32 characters of its SHA-256 (so names that
 * differ in one digit still look different, and a truncated name stays unique), then truncates.
 */
export function hashAndTruncate(name: string): string {
  const hash = base32(createHash("sha256").update(name).digest()).slice(0, 8);
  const full = `${hash}-${name}`;
  return full.length > CHAIN_NAME_BASE_LENGTH_MAX
    ? `${full.slice(0, CHAIN_NAME_BASE_LENGTH_MAX - 3)}...`
    : full;
}

/**
 * kube's servicePortChainNameBase: "HASH-namespace/name/protocol/portName". Kubernetes names use
 * [a-z0-9-] only, so they are safe in nft identifiers; "/" separates them.
 */
export function servicePortChainNameBase(
  namespace: string,
  name: string,
  protocol: string,
  portName: string,
) {
  return hashAndTruncate(`${namespace}/${name}/${protocol}/${portName}`);
}

/** kube's servicePortEndpointChainNameBase: "HASH-namespace/name/protocol/portName__ip/port". */
export function servicePortEndpointChainNameBase(
  namespace: string,
  name: string,
  protocol: string,
  portName: string,
  ip: string,
  port: number,
): string {
  return hashAndTruncate(`${namespace}/${name}/${protocol}/${portName}__${ip}/${port}`);
}
