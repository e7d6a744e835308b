/**
 * The DaemonSet's ControllerRevisions (kube's update.go: constructHistory, snapshot,
 * dedupCurHistories, cleanupHistory). The current revision is the one whose data is the patch of
 * the present template; its `controller-revision-hash` label is the hash every new pod carries.
 * It is created (named `<ds>-<hash>`) when missing, renumbered above the others when the template
 * went back to it, and deduplicated; old revisions beyond revisionHistoryLimit are deleted,
 * oldest first, unless a pod still runs their template.
 */
import type { Pod } from "@skiff/api";
import { cloneObject, isAlreadyExists, toSelector } from "@skiff/client";
import { getTemplatePatch } from "../history/controller-history.js";
import type { ControllerRevision } from "../history/types.js";
import { claimObjects, newControllerRef, recheckController } from "../util/controller-ref.js";
import { canonicalJson, computeHash } from "../util/hash.js";
import type { DaemonSetsController } from "./daemon-controller.js";
import { getDaemonPods, getNodesToDaemonPods } from "./manage.js";
import { DAEMONSET_KIND, type DaemonSet, DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY } from "./types.js";

/** kube's default revisionHistoryLimit (the API server defaults it too). */
const DEFAULT_REVISION_HISTORY_LIMIT = 10;

/** Match: the revision records the DaemonSet's present template. */
export function match(ds: DaemonSet, history: ControllerRevision): boolean {
  return canonicalJson(getTemplatePatch(ds.spec.template)) === canonicalJson(history.data ?? null);
}

const revisionsClient = (dsc: DaemonSetsController, ns: string) =>
  dsc.client.resource<ControllerRevision>("apps/v1", "controllerrevisions", ns);

/** controlledHistories: the revisions the DaemonSet owns, adopting and releasing as for pods. */
async function controlledHistories(dsc: DaemonSetsController, ds: DaemonSet): Promise<ControllerRevision[]> {
  const ns = ds.metadata.namespace;
  const selector = toSelector(ds.spec.selector);
  // Every revision of the namespace: also those owned but no longer matching (to release them).
  return claimObjects(dsc.historyLister.namespace(ns).list(), {
    controller: ds,
    gvk: DAEMONSET_KIND,
    match: (h) => selector.matches(h.metadata.labels),
    client: (n) => revisionsClient(dsc, n),
    canAdopt: recheckController(
      () => dsc.client.resource<DaemonSet>("apps/v1", "daemonsets", ns).get(ds.metadata.name),
      ds,
    ),
  });
}

const maxRevision = (hs: readonly ControllerRevision[]) => hs.reduce((m, h) => Math.max(m, h.revision), 0);

/** constructHistory: the current revision (made if missing) and the old ones. */
export async function constructHistory(
  dsc: DaemonSetsController,
  ds: DaemonSet,
): Promise<{ cur: ControllerRevision; old: ControllerRevision[] }> {
  const current: ControllerRevision[] = [];
  const old: ControllerRevision[] = [];
  for (let history of await controlledHistories(dsc, ds)) {
    // A revision without the hash label gets its name as the label (no hash collision to fear).
    if (history.metadata.labels?.[DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY] === undefined) {
      const toUpdate = cloneObject(history);
      toUpdate.metadata.labels = {
        ...toUpdate.metadata.labels,
        [DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY]: toUpdate.metadata.name as string,
      };
      history = await revisionsClient(dsc, ds.metadata.namespace).update(toUpdate);
    }
    if (match(ds, history)) current.push(history);
    else old.push(history);
  }
  const currRevision = maxRevision(old) + 1;
  if (current.length === 0) return { cur: await snapshot(dsc, ds, currRevision), old };
  const cur = await dedupCurHistories(dsc, ds, current);
  if (cur.revision < currRevision) {
    const toUpdate = cloneObject(cur);
    toUpdate.revision = currRevision;
    await revisionsClient(dsc, ds.metadata.namespace).update(toUpdate);
  }
  return { cur, old };
}

/**
 * dedupCurHistories: of several revisions with the present template keep the newest, move the
 * pods' hash labels to it, and delete the others.
 */
async function dedupCurHistories(
  dsc: DaemonSetsController,
  ds: DaemonSet,
  curHistories: ControllerRevision[],
): Promise<ControllerRevision> {
  if (curHistories.length === 1) return curHistories[0] as ControllerRevision;
  let keep = curHistories[0] as ControllerRevision;
  for (const h of curHistories) if (h.revision >= keep.revision) keep = h;
  const keepHash = keep.metadata.labels?.[DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY] as string;
  for (const pod of await getDaemonPods(dsc, ds))
    if (pod.metadata.labels?.[DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY] !== keepHash)
      await dsc.client
        .resource<Pod>("v1", "pods", ds.metadata.namespace)
        .patch(
          pod.metadata.name,
          { metadata: { labels: { [DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY]: keepHash } } },
          "merge",
        );
  for (const h of curHistories)
    if (h.metadata.name !== keep.metadata.name)
      await revisionsClient(dsc, ds.metadata.namespace).delete(h.metadata.name as string);
  return keep;
}

/**
 * snapshot: creates the revision of the present template. A name already held by a revision of
 * another template is a hash collision: the DaemonSet's status.collisionCount is raised (on a
 * fresh read, and only if the count used was not stale) and the sync fails, to retry under the
 * next name.
 */
async function snapshot(
  dsc: DaemonSetsController,
  ds: DaemonSet,
  revision: number,
): Promise<ControllerRevision> {
  const ns = ds.metadata.namespace;
  const hash = computeHash(ds.spec.template, ds.status?.collisionCount);
  const name = `${ds.metadata.name}-${hash}`;
  const history: ControllerRevision = {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: {
      name,
      namespace: ns,
      labels: { ...ds.spec.template.metadata?.labels, [DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY]: hash },
      ...(ds.metadata.annotations === undefined ? {} : { annotations: { ...ds.metadata.annotations } }),
      ownerReferences: [newControllerRef(ds, DAEMONSET_KIND)],
    },
    data: getTemplatePatch(ds.spec.template),
    revision,
  };
  try {
    return await revisionsClient(dsc, ns).create(history);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    const existed = await revisionsClient(dsc, ns).get(name);
    if (match(ds, existed)) return existed;
    const dsClient = dsc.client.resource<DaemonSet>("apps/v1", "daemonsets", ns);
    const currDS = await dsClient.get(ds.metadata.name);
    if ((currDS.status?.collisionCount ?? undefined) !== (ds.status?.collisionCount ?? undefined))
      throw new Error(
        `found a stale collision count (${ds.status?.collisionCount}, expected ${currDS.status?.collisionCount}) of DaemonSet "${ds.metadata.name}" while processing; will retry until it is updated`,
      );
    currDS.status = {
      ...(currDS.status as NonNullable<DaemonSet["status"]>),
      collisionCount: (currDS.status?.collisionCount ?? 0) + 1,
    };
    await dsClient.updateStatus(currDS);
    dsc.logger.info(
      { daemonset: `${ns}/${ds.metadata.name}`, collisionCount: currDS.status.collisionCount },
      "hash collision: collisionCount raised",
    );
    throw e;
  }
}

/**
 * cleanupHistory: deletes old revisions beyond revisionHistoryLimit, oldest first, skipping those
 * whose hash a pod still carries (terminal pods being deleted included).
 */
export async function cleanupHistory(
  dsc: DaemonSetsController,
  ds: DaemonSet,
  old: readonly ControllerRevision[],
): Promise<void> {
  let toKill = old.length - (ds.spec.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT);
  if (toKill <= 0) return;
  const nodeToDaemonPods = await getNodesToDaemonPods(dsc, ds, true);
  const liveHashes = new Set<string>();
  for (const pods of nodeToDaemonPods.values())
    for (const pod of pods) {
      const h = pod.metadata.labels?.[DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY];
      if (h !== undefined && h !== "") liveHashes.add(h);
    }
  for (const history of [...old].sort((a, b) => a.revision - b.revision)) {
    if (toKill <= 0) break;
    if (liveHashes.has(history.metadata.labels?.[DEFAULT_DAEMONSET_UNIQUE_LABEL_KEY] ?? "")) continue;
    await revisionsClient(dsc, ds.metadata.namespace).delete(history.metadata.name as string);
    toKill--;
  }
}
