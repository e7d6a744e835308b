import { createHash } from "node:crypto";

/**
 * A member's numeric Raft id from its name and the cluster token (etcd derives member IDs from
 * peer URLs and the token). 48 bits, so it is an exact JavaScript number; never 0 (None).
 */
export function memberId(name: string, clusterToken: string): number {
  const h = createHash("sha256").update(`${clusterToken}/${name}`).digest();
  const id = h.readUIntBE(0, 6);
  return id === 0 ? 1 : id;
}

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
  const id = h.readUIntBE(0, 6);
  return id === 0 ? 1 : id;
}
