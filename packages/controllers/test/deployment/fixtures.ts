/**
 * Unit-test fixtures for the Deployment controller (kube's deployment_controller_test.go
 * fixture): a FakeClient whose tracker and the controller's informer caches hold the same
 * objects, a fake clock, and the events the controller recorded.
 */
import type { KubeObject, Pod } from "@skiff/api";
import { DeploymentController } from "../../src/deployment/deployment-controller.js";
import {
  DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY,
  type Deployment,
  type ReplicaSet,
} from "../../src/deployment/types.js";
import {
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  REVISION_ANNOTATION,
} from "../../src/deployment/util/annotations.js";
import { newControllerRef } from "../../src/util/controller-ref.js";
import { computeHash } from "../../src/util/hash.js";
import { newFakeContext } from "../fake-context.js";

export const NS = "default";
export const T0 = Date.parse("2025-01-01T00:00:00Z");

export interface DeploymentOptions {
  replicas?: number;
  image?: string;
  maxSurge?: number | string;
  maxUnavailable?: number | string;
  strategy?: "RollingUpdate" | "Recreate";
  paused?: boolean;
  revisionHistoryLimit?: number;
  progressDeadlineSeconds?: number;
  generation?: number;
}

export function newDeployment(name: string, o: DeploymentOptions = {}): Deployment {
  const strategy = o.strategy ?? "RollingUpdate";
  const d: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NS, generation: o.generation ?? 1, uid: `uid-${name}` },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "c", image: o.image ?? "img:1" }] },
      },
      strategy:
        strategy === "Recreate"
          ? { type: "Recreate" }
          : {
              type: "RollingUpdate",
              rollingUpdate: { maxSurge: o.maxSurge ?? "25%", maxUnavailable: o.maxUnavailable ?? "25%" },
            },
      revisionHistoryLimit: o.revisionHistoryLimit ?? 10,
      progressDeadlineSeconds: o.progressDeadlineSeconds ?? 600,
    },
    status: {},
  };
  if (o.paused === true) d.spec.paused = true;
  return d;
}

export interface ReplicaSetOptions {
  replicas: number;
  image?: string;
  revision?: number;
  /** status.replicas, readyReplicas and availableReplicas (default: all of `replicas`). */
  available?: number;
  /** The deployment size recorded in desired-replicas (and max-replicas = it + maxSurgeSeen). */
  desired?: number;
  maxReplicas?: number;
  createdSecondsAfterT0?: number;
  owned?: boolean;
}

/** A ReplicaSet of `d` for the template with `image`, as the controller would have made it. */
export function newReplicaSet(d: Deployment, o: ReplicaSetOptions): ReplicaSet {
  const template = structuredClone(d.spec.template);
  template.spec = { containers: [{ name: "c", image: o.image ?? "img:1" }] };
  const hash = computeHash(template);
  template.metadata = {
    labels: { ...template.metadata?.labels, [DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY]: hash },
  };
  const annotations: Record<string, string> = {};
  if (o.revision !== undefined) annotations[REVISION_ANNOTATION] = String(o.revision);
  if (o.desired !== undefined) annotations[DESIRED_REPLICAS_ANNOTATION] = String(o.desired);
  if (o.maxReplicas !== undefined) annotations[MAX_REPLICAS_ANNOTATION] = String(o.maxReplicas);
  const available = o.available ?? o.replicas;
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: NS,
      uid: `uid-${d.metadata.name}-${hash}`,
      generation: 1,
      creationTimestamp: new Date(T0 + (o.createdSecondsAfterT0 ?? 0) * 1000).toISOString(),
      labels: { ...template.metadata.labels },
      annotations,
      ...(o.owned === false
        ? {}
        : { ownerReferences: [newControllerRef(d, { apiVersion: "apps/v1", kind: "Deployment" })] }),
    },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: { ...template.metadata.labels } },
      template,
    },
    status: {
      replicas: o.replicas,
      readyReplicas: available,
      availableReplicas: available,
      observedGeneration: 1,
    },
  };
}

export class Fixture {
  private readonly fake = newFakeContext({ start: T0, recordPatches: false });
  readonly clock = this.fake.clock;
  readonly client = this.fake.client;
  readonly events = this.fake.events;
  readonly broadcaster = this.fake.broadcaster;
  readonly ctx = this.fake.ctx;
  readonly dc = new DeploymentController(this.ctx);

  /** Puts objects into the tracker and the matching informer cache. */
  add(...objs: KubeObject[]): void {
    for (const o of objs) {
      const stored = this.client.tracker.add(o);
      const informer =
        o.kind === "Deployment"
          ? this.dc.dInformer
          : o.kind === "ReplicaSet"
            ? this.dc.rsInformer
            : this.dc.podInformer;
      (informer.indexer as { add(o: KubeObject): void }).add(stored);
    }
  }

  async sync(d: Deployment): Promise<void> {
    this.client.clearActions();
    await this.dc.sync(`${NS}/${d.metadata.name}`);
  }

  /** The writes of the last sync, as "verb resource[/subresource] name". */
  writes(): string[] {
    return this.client
      .writes()
      .filter((a) => a.resource !== "events")
      .map((a) =>
        `${a.verb} ${a.resource}${a.subresource === undefined ? "" : `/${a.subresource}`} ${a.name ?? a.object?.metadata.name ?? ""}`.trim(),
      );
  }

  deployment(name: string): Deployment {
    return this.client.tracker.get("apps/v1", "deployments", NS, name) as Deployment;
  }

  replicaSets(): ReplicaSet[] {
    return this.client.tracker.list("apps/v1", "replicasets", NS) as ReplicaSet[];
  }

  async eventMessages(): Promise<string[]> {
    await this.broadcaster.flush();
    return this.events.map((e) => `${e.reason}: ${e.message}`);
  }

  async close(): Promise<void> {
    await this.broadcaster.shutdown();
    this.dc.queue.shutDown();
  }
}

export function newPod(
  rs: ReplicaSet,
  name: string,
  phase: "Running" | "Succeeded" | "Failed" = "Running",
): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${name}`,
      labels: { ...rs.spec.template.metadata?.labels },
      ownerReferences: [newControllerRef(rs, { apiVersion: "apps/v1", kind: "ReplicaSet" })],
    },
    spec: { containers: [{ name: "c", image: "img" }] },
    status: { phase },
  };
}
