/**
 * A member's place in its cluster, from etcd's flags: --initial-cluster parsed, member ids derived
 * from peer URLs and the cluster token, the cluster id, and listen or dial addresses of URLs.
 * `skiff store`, its snapshot restore, its Cluster API (MemberAdd) and the test member all derive
 * them here, so every member computes the same ids.
 */
import { createHash } from "node:crypto";

/** Parses etcd's --initial-cluster "a=http://127.0.0.1:2380,b=..." into name -> peer URL. */
export function parseInitialCluster(value: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new Error(`--initial-cluster: "${part}" is not name=url`);
    const name = part.slice(0, eq);
    const url = part.slice(eq + 1);
    if (out.has(name)) throw new Error(`--initial-cluster: member "${name}" given twice`);
    new URL(url); // throws on a malformed URL
    out.set(name, url);
  }
  return out;
}

/** host:port of an http(s):// URL, as the peer transport dials it. */
export function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  const port = Number(u.port);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`URL ${url} needs an explicit port`);
  return { host: u.hostname, port };
}

/**
 * host:port of a URL to listen on: as hostPort, but port 0 (any free port) is allowed, for a
 * single-member cluster embedded in another process, where nobody dials the listener.
 */
export function listenAddress(url: string): { host: string; port: number } {
  const u = new URL(url);
  if (u.port === "0") return { host: u.hostname, port: 0 };
  return hostPort(url);
}

/**
 * A store member's Raft id from its advertised peer URLs and the cluster token, as etcd derives
 * member IDs from peer URLs: every member computes the same id for a peer from --initial-cluster,
 * and a member added later (etcdctl member add, then started with --initial-cluster-state
 * existing) computes its own id from its URL, the same one the cluster gave it.
 */
export function memberIdFromPeerUrls(peerUrls: readonly string[], clusterToken: string): number {
  const h = createHash("sha256")
    .update(
      `${clusterToken}/${[...peerUrls]
        .map((u) => u.replace(/\/$/, ""))
        .sort()
        .join(",")}`,
    )
    .digest();
  // 48 bits, so it is an exact JavaScript number; never 0 (None).
  const id = h.readUIntBE(0, 6);
  return id === 0 ? 1 : id;
}

/** The cluster id in response headers: the same on every member of one --initial-cluster. */
export function clusterIdOf(token: string, initialCluster: string): bigint {
  const h = createHash("sha256")
    .update(`${token}/${initialCluster.split(",").sort().join(",")}`)
    .digest();
  return h.readBigUInt64BE(0) >> 1n;
}

export interface MemberPlace {
  /** This member's Raft id. */
  readonly id: number;
  /** Every initial member: Raft id -> peer URL. */
  readonly initialCluster: Map<number, string>;
}

/** This member's id and the initial members' ids, from --name, --initial-cluster and the token. */
export function memberPlace(name: string, initialCluster: string, clusterToken: string): MemberPlace {
  const cluster = parseInitialCluster(initialCluster);
  const own = cluster.get(name);
  if (own === undefined)
    throw new Error(`couldn't find local name "${name}" in the initial cluster configuration`);
  return {
    id: memberIdFromPeerUrls([own], clusterToken),
    initialCluster: new Map(
      [...cluster.values()].map((url) => [memberIdFromPeerUrls([url], clusterToken), url]),
    ),
  };
}
