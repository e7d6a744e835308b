/**
 * What the Deployment controller's sync steps (sync.ts, rolling.ts, recreate.ts, progress.ts)
 * need from the controller, as kube's methods on *DeploymentController use its fields: the
 * client, the recorder, the clock and the queue. Also the one way a Deployment's status is
 * written.
 */
import type { ClientInterface, EventRecorder, ResourceClient } from "@skiff/client";
import type { Logger } from "@skiff/component-base";
import { canonicalJson } from "../util/hash.js";
import type { Deployment, DeploymentStatus, ReplicaSet } from "./types.js";

export interface DeploymentSyncer {
  readonly client: ClientInterface;
  readonly recorder: EventRecorder;
  readonly logger: Logger;
  /** The ReplicaSet cache (a hash collision is checked against it). */
  getReplicaSet(namespace: string, name: string): ReplicaSet | undefined;
  now(): number;
  enqueueAfter(d: Deployment, ms: number): void;
  enqueueRateLimited(d: Deployment): void;
}

export const deploymentsOf = (dc: DeploymentSyncer, ns: string): ResourceClient<Deployment> =>
  dc.client.resource<Deployment>("apps/v1", "deployments", ns);

export const replicaSetsOf = (dc: DeploymentSyncer, ns: string): ResourceClient<ReplicaSet> =>
  dc.client.resource<ReplicaSet>("apps/v1", "replicasets", ns);

/** Status fields Go leaves out when zero (omitempty on non-pointers); collisionCount is a pointer. */
const OMIT_ZERO = [
  "observedGeneration",
  "replicas",
  "updatedReplicas",
  "readyReplicas",
  "availableReplicas",
  "unavailableReplicas",
] as const;

/** The status as apps/v1 serializes it. */
export function wireStatus(s: DeploymentStatus | undefined): DeploymentStatus {
  const out: DeploymentStatus = { ...s };
  for (const k of OMIT_ZERO) if (out[k] === 0 || out[k] === undefined) delete out[k];
  if (out.conditions?.length === 0) delete out.conditions;
  return out;
}

/** reflect.DeepEqual of two statuses, after serialization. */
export function statusEqual(a: DeploymentStatus | undefined, b: DeploymentStatus | undefined): boolean {
  return canonicalJson(wireStatus(a)) === canonicalJson(wireStatus(b));
}

/**
 * kube's UpdateStatus of a Deployment. kube's status strategy keeps annotation changes, so one
 * call writes the revision annotation and the status; Skiff's API server takes only the status
 * from /status, so a changed annotation goes first through the main resource (no spec change:
 * the generation stays). The written resourceVersion is kept on `d`, so the sync's next write
 * does not conflict with its own.
 */
export async function updateDeploymentStatus(
  dc: DeploymentSyncer,
  d: Deployment,
  annotationsChanged = false,
): Promise<Deployment> {
  const deployments = deploymentsOf(dc, d.metadata.namespace);
  if (annotationsChanged) {
    const updated = await deployments.update(d);
    d.metadata.resourceVersion = updated.metadata.resourceVersion as string;
  }
  const written = await deployments.updateStatus({ ...d, status: wireStatus(d.status) });
  d.metadata.resourceVersion = written.metadata.resourceVersion as string;
  return written;
}
