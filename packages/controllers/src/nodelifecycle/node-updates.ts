/**
 * The node writes of the node lifecycle controller, as kube's pkg/controller/controller_utils.go
 * (AddOrUpdateTaintOnNode, RemoveTaintOffNode, PatchNodeTaints, AddOrUpdateLabelsOnNode) and
 * pkg/controller/util/node (SwapNodeControllerTaint): read the node, change its taints, and
 * write them back as a strategic merge patch that carries the resourceVersion it was read at
 * (taints have no merge key, so a concurrent change must be a conflict, not a lost update).
 * Conflicts are retried with a fresh read, at most UPDATE_TAINT_RETRIES times (kube's
 * UpdateTaintBackoff steps). The first try works on the caller's cached node, as kube's first
 * try reads the API server's cache (resourceVersion "0").
 */
import { metav1Time, type Node, type Taint } from "@skiff/api";
import { type ClientInterface, cloneObject, isConflict } from "@skiff/client";
import { matchTaint, taintExists } from "../util/taints.js";

/** kube's UpdateTaintBackoff.Steps. */
export const UPDATE_TAINT_RETRIES = 5;

/** Runs `f` with the cached node first, then with fresh reads while it ends in a conflict. */
async function retryOnConflict<R>(
  client: ClientInterface,
  cached: Node,
  f: (node: Node) => Promise<R>,
): Promise<R> {
  let node = cached;
  for (let attempt = 1; ; attempt++) {
    try {
      return await f(node);
    } catch (e) {
      if (!isConflict(e) || attempt >= UPDATE_TAINT_RETRIES) throw e;
      node = await client.resource<Node>("v1", "nodes").get(cached.metadata.name);
    }
  }
}

/** PatchNodeTaints: the node's new taint list, guarded by the resourceVersion it was read at. */
function patchNodeTaints(client: ClientInterface, old: Node, taints: Taint[]): Promise<Node> {
  const patch = {
    metadata: { resourceVersion: old.metadata.resourceVersion },
    spec: { taints: taints.length === 0 ? null : taints },
  };
  return client.resource<Node>("v1", "nodes").patch(old.metadata.name, patch, "strategic");
}

/** taints.AddOrUpdateTaint for several: the node's taints with these in place of their matches. */
function withTaints(current: readonly Taint[], add: readonly Taint[]): { taints: Taint[]; updated: boolean } {
  let taints = [...current];
  let updated = false;
  for (const t of add) {
    const i = taints.findIndex((x) => matchTaint(x, t));
    const old = i < 0 ? undefined : taints[i];
    // The same taint already there (timeAdded aside) is no change: re-stamping it would only churn.
    if (old !== undefined && (old.value ?? "") === (t.value ?? "")) continue;
    taints = i < 0 ? [...taints, t] : taints.map((x, j) => (j === i ? t : x));
    updated = true;
  }
  return { taints, updated };
}

/** AddOrUpdateTaintOnNode; the node as last read or written. */
export async function addOrUpdateTaintOnNode(
  client: ClientInterface,
  node: Node,
  taints: readonly Taint[],
): Promise<Node> {
  if (taints.length === 0) return node;
  return retryOnConflict(client, node, async (n) => {
    const { taints: next, updated } = withTaints(n.spec?.taints ?? [], taints);
    return updated ? patchNodeTaints(client, n, next) : n;
  });
}

/** RemoveTaintOffNode: nothing to do (no call at all) when the cached node has none of them. */
export async function removeTaintOffNode(
  client: ClientInterface,
  node: Node,
  taints: readonly Taint[],
): Promise<void> {
  if (taints.length === 0 || !taints.some((t) => taintExists(node.spec?.taints, t))) return;
  await retryOnConflict(client, node, async (n) => {
    const current = n.spec?.taints ?? [];
    const next = current.filter((x) => !taints.some((t) => matchTaint(x, t)));
    if (next.length !== current.length) await patchNodeTaints(client, n, next);
  });
}

/**
 * SwapNodeControllerTaint: adds `add` (stamped with timeAdded now), then removes `remove` from
 * the node as the add left it; throws when either fails.
 */
export async function swapNodeControllerTaint(
  client: ClientInterface,
  node: Node,
  add: readonly Taint[],
  remove: readonly Taint[],
  nowMs: number,
): Promise<void> {
  const stamped = add.map((t) => ({ ...cloneObject(t), timeAdded: metav1Time(new Date(nowMs)) }));
  const after = await addOrUpdateTaintOnNode(client, node, stamped);
  await removeTaintOffNode(client, after, remove);
}

/** AddOrUpdateLabelsOnNode: a strategic merge patch of the labels, retried on conflict. */
export async function addOrUpdateLabelsOnNode(
  client: ClientInterface,
  node: Node,
  labels: Record<string, string>,
): Promise<void> {
  await retryOnConflict(client, node, async (n) => {
    const patch = { metadata: { resourceVersion: n.metadata.resourceVersion, labels } };
    await client.resource<Node>("v1", "nodes").patch(n.metadata.name, patch, "strategic");
  });
}
