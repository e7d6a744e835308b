/**
 * Whether a learner may be promoted, as etcd 3.4's isLearnerReady (etcdserver/server.go): only the
 * leader knows each member's match index, and a learner is ready once its match reaches 90% of the
 * leader's. A member the leader tracks no progress for is not held back here (the membership
 * checks that follow refuse an unknown id).
 */
import type { NodeId } from "@skiff/raft";
import type { EtcdErrorCode } from "../grpc/errors.js";

/** etcd's readyPercent. */
const readyPercent = 0.9;

export interface LeaderProgress {
  readonly id: NodeId;
  matchIndexes(): ReadonlyMap<NodeId, number> | undefined;
}

/** undefined when the learner may be promoted, else etcd's error. */
export function isLearnerReady(node: LeaderProgress, learner: NodeId): EtcdErrorCode | undefined {
  const match = node.matchIndexes();
  if (match === undefined) return "NotLeader";
  const learnerMatch = match.get(learner);
  if (learnerMatch === undefined) return undefined;
  const leaderMatch = match.get(node.id) ?? 0;
  return learnerMatch < leaderMatch * readyPercent ? "LearnerNotReady" : undefined;
}
