/**
 * Finding and ordering a Deployment's ReplicaSets (deploymentutil.FindNewReplicaSet,
 * FindOldReplicaSets, FilterActiveReplicaSets, FindActiveOrLatest, the replica counters, and
 * controller's ReplicaSetsByCreationTimestamp / BySizeOlder / BySizeNewer / ByRevision).
 */
import type { Deployment, ReplicaSet } from "../types.js";
import { revisionOf } from "./annotations.js";
import { equalIgnoreHash } from "./hash.js";

export const specReplicas = (rs: ReplicaSet): number => rs.spec.replicas ?? 0;

/** controller.ReplicaSetsByCreationTimestamp: oldest first, then by name. */
export function byCreationTimestamp(a: ReplicaSet, b: ReplicaSet): number {
  const ta = Date.parse(a.metadata.creationTimestamp ?? "") || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? "") || 0;
  if (ta !== tb) return ta - tb;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** controller.ReplicaSetsBySizeOlder: largest first, the older of two equal ones first. */
export function bySizeOlder(a: ReplicaSet, b: ReplicaSet): number {
  return specReplicas(b) - specReplicas(a) || byCreationTimestamp(a, b);
}

/** controller.ReplicaSetsBySizeNewer: largest first, the newer of two equal ones first. */
export function bySizeNewer(a: ReplicaSet, b: ReplicaSet): number {
  return specReplicas(b) - specReplicas(a) || byCreationTimestamp(b, a);
}

/** deploymentutil.ReplicaSetsByRevision: lowest revision first, then oldest. */
export function byRevision(a: ReplicaSet, b: ReplicaSet): number {
  const ra = revisionOf(a) ?? 0;
  const rb = revisionOf(b) ?? 0;
  return ra === rb ? byCreationTimestamp(a, b) : ra - rb;
}

/**
 * FindNewReplicaSet: the oldest ReplicaSet whose template equals the Deployment's (hash label
 * aside); several can exist after an upgrade, and the choice must be deterministic.
 */
export function findNewReplicaSet(d: Deployment, rsList: readonly ReplicaSet[]): ReplicaSet | undefined {
  return [...rsList]
    .sort(byCreationTimestamp)
    .find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
}

/** FindOldReplicaSets: [old ones with replicas, every old one]. */
export function findOldReplicaSets(
  d: Deployment,
  rsList: readonly ReplicaSet[],
): [ReplicaSet[], ReplicaSet[]] {
  const newRS = findNewReplicaSet(d, rsList);
  const all = rsList.filter((rs) => newRS === undefined || rs.metadata.uid !== newRS.metadata.uid);
  return [all.filter((rs) => specReplicas(rs) !== 0), all];
}

/** FilterActiveReplicaSets: those with spec.replicas > 0. */
export function filterActiveReplicaSets(rss: readonly (ReplicaSet | undefined)[]): ReplicaSet[] {
  return rss.filter((rs): rs is ReplicaSet => rs !== undefined && specReplicas(rs) > 0);
}

/**
 * FindActiveOrLatest: the one active ReplicaSet, or with none active the new one (else the
 * newest old one); undefined when several are active.
 */
export function findActiveOrLatest(
  newRS: ReplicaSet | undefined,
  oldRSs: readonly ReplicaSet[],
): ReplicaSet | undefined {
  if (newRS === undefined && oldRSs.length === 0) return undefined;
  const newestFirst = [...oldRSs].sort((a, b) => byCreationTimestamp(b, a));
  const active = filterActiveReplicaSets([...newestFirst, newRS]);
  if (active.length === 0) return newRS ?? newestFirst[0];
  return active.length === 1 ? active[0] : undefined;
}

const sum = (rss: readonly (ReplicaSet | undefined)[], f: (rs: ReplicaSet) => number | undefined) =>
  rss.reduce((n, rs) => n + (rs === undefined ? 0 : (f(rs) ?? 0)), 0);

/** GetReplicaCountForReplicaSets: the sum of spec.replicas. */
export const replicaCount = (rss: readonly (ReplicaSet | undefined)[]) => sum(rss, (rs) => rs.spec.replicas);
/** GetActualReplicaCountForReplicaSets: the sum of status.replicas. */
export const actualReplicaCount = (rss: readonly (ReplicaSet | undefined)[]) =>
  sum(rss, (rs) => rs.status?.replicas);
/** GetReadyReplicaCountForReplicaSets. */
export const readyReplicaCount = (rss: readonly (ReplicaSet | undefined)[]) =>
  sum(rss, (rs) => rs.status?.readyReplicas);
/** GetAvailableReplicaCountForReplicaSets. */
export const availableReplicaCount = (rss: readonly (ReplicaSet | undefined)[]) =>
  sum(rss, (rs) => rs.status?.availableReplicas);
