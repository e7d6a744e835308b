/**
 * Names the pod network derives from a node name and a pod UID: the node's network namespace
 * `skiff-<node>` and each pod's `skiff-<node>-<uid>` (the kubelet brief's conventions). Both
 * end up in file names under /var/run/netns and in CNI_CONTAINERID, so they are checked
 * against a strict character set before any command sees them.
 */

/** A node name as kube validates it (a DNS-1123 subdomain), shortened to keep netns names short. */
const NODE_NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;
/**
 * A pod UID: lowercase hex and dashes, as the API server's UUIDs and the md5 UIDs kube gives
 * static pods are. Anything else is refused rather than escaped.
 */
const POD_UID = /^[0-9a-f][0-9a-f-]{0,62}[0-9a-f]$/;

export function validateNodeName(name: string): string {
  if (!NODE_NAME.test(name))
    throw new Error(`invalid node name ${JSON.stringify(name)} for a network namespace`);
  return name;
}

export function validatePodUID(uid: string): string {
  if (!POD_UID.test(uid)) throw new Error(`invalid pod UID ${JSON.stringify(uid)} for a network namespace`);
  return uid;
}

export function isPodUID(s: string): boolean {
  return POD_UID.test(s);
}

/** The node's network namespace. */
export function nodeNetnsName(node: string): string {
  return `skiff-${node}`;
}

/** The prefix every pod namespace of the node has. */
export function podNetnsPrefix(node: string): string {
  return `skiff-${node}-`;
}

export function podNetnsName(node: string, uid: string): string {
  return `${podNetnsPrefix(node)}${uid}`;
}

/** Where `ip netns add` mounts a namespace (iproute2's NETNS_RUN_DIR). */
export function netnsPath(name: string): string {
  return `/var/run/netns/${name}`;
}

/**
 * A fabric name (`--fabric`): it becomes part of the fabric's namespace name, so it is held to
 * the node names' character set, and kept short.
 */
const FABRIC_NAME = /^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/;

export function validateFabricName(name: string): string {
  if (!FABRIC_NAME.test(name))
    throw new Error(
      `invalid fabric name ${JSON.stringify(name)}: lower case alphanumerics and '-', at most 32 characters`,
    );
  return name;
}

/** The namespace holding a fabric's bridge, shared by the nodes on that fabric. */
export function fabricNetnsName(fabric: string): string {
  return `skiff-fabric-${fabric}`;
}
