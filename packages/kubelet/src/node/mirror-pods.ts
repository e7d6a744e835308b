/**
 * Mirror pods (pkg/kubelet/pod/mirror_client.go and the kubelet's sync of static pods): each
 * static pod is shown in the API as a mirror pod of the same namespace and name, carrying
 * kubernetes.io/config.mirror = the static pod's hash and owned by the Node (so deleting the
 * Node deletes its mirror pods). A mirror pod whose hash is not its static pod's, or that is
 * being deleted, is deleted (with a uid precondition and no grace) and made again; a mirror pod
 * without a static pod is deleted (HandlePodCleanups' orphaned mirror pods).
 */
import type { Node, Pod } from "@skiff/api";
import { type ClientInterface, isAlreadyExists, isNotFound } from "@skiff/client";
import { type Logger, silentLogger } from "@skiff/component-base";
import { configHashAnnotation, configMirrorAnnotation } from "./static-pods.js";

export interface MirrorPodManagerOptions {
  client: ClientInterface;
  nodeName: string;
  logger?: Logger;
}

const fullName = (p: Pod) => `${p.metadata.namespace}/${p.metadata.name}`;

/** IsMirrorPodOf: the mirror's hash is the static pod's. */
export function isMirrorPodOf(mirror: Pod, pod: Pod): boolean {
  const hash = pod.metadata.annotations?.[configHashAnnotation];
  return (
    mirror.metadata.deletionTimestamp == null &&
    hash !== undefined &&
    mirror.metadata.annotations?.[configMirrorAnnotation] === hash
  );
}

export class MirrorPodManager {
  private readonly log: Logger;

  constructor(private readonly o: MirrorPodManagerOptions) {
    this.log = o.logger ?? silentLogger;
  }

  private pods(namespace?: string) {
    return this.o.client.resource<Pod>("v1", "pods", namespace);
  }

  /** The mirror pods of this node now in the API. */
  async mirrorPods(): Promise<Pod[]> {
    const list = await this.pods().listAll({ fieldSelector: `spec.nodeName=${this.o.nodeName}` });
    return list.items.filter((p) => p.metadata.annotations?.[configMirrorAnnotation] !== undefined);
  }

  /** Brings the API's mirror pods in line with the static pods; returns what it changed. */
  async sync(staticPods: readonly Pod[]): Promise<{ created: string[]; deleted: string[] }> {
    const mirrors = new Map((await this.mirrorPods()).map((m) => [fullName(m), m]));
    const created: string[] = [];
    const deleted: string[] = [];
    for (const pod of staticPods) {
      const name = fullName(pod);
      const mirror = mirrors.get(name);
      mirrors.delete(name);
      if (mirror !== undefined && isMirrorPodOf(mirror, pod)) continue;
      if (mirror !== undefined) {
        this.log.info({ pod: name }, "Trying to delete pod: mirror pod is not of the static pod");
        if (mirror.metadata.deletionTimestamp == null) await this.deleteMirrorPod(mirror);
        deleted.push(name);
        // A mirror still being deleted is made again on a later sync, once it is gone.
        if (mirror.metadata.deletionTimestamp != null) continue;
      }
      if (await this.createMirrorPod(pod)) created.push(name);
    }
    for (const [name, orphan] of mirrors) {
      if (orphan.metadata.deletionTimestamp != null) continue;
      this.log.info({ pod: name }, "Deleting orphaned mirror pod");
      await this.deleteMirrorPod(orphan);
      deleted.push(name);
    }
    return { created, deleted };
  }

  /** CreateMirrorPod: false when the Node is not yet known (retried on the next sync). */
  async createMirrorPod(pod: Pod): Promise<boolean> {
    const nodeUid = await this.getNodeUid();
    if (nodeUid === undefined) return false;
    const hash = pod.metadata.annotations?.[configHashAnnotation] ?? "";
    const copy = structuredClone(pod);
    copy.metadata = {
      name: pod.metadata.name,
      namespace: pod.metadata.namespace,
      ...(pod.metadata.labels === undefined ? {} : { labels: pod.metadata.labels }),
      annotations: { ...pod.metadata.annotations, [configMirrorAnnotation]: hash },
      ownerReferences: [
        { apiVersion: "v1", kind: "Node", name: this.o.nodeName, uid: nodeUid, controller: true },
      ],
    };
    delete copy.status;
    try {
      await this.pods(pod.metadata.namespace).create(copy);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      // Made meanwhile: fine if it is ours, an error otherwise (as mirror_client.go).
      const existing = await this.pods(pod.metadata.namespace).get(pod.metadata.name);
      if (existing.metadata.annotations?.[configMirrorAnnotation] !== hash) throw e;
      return false;
    }
    this.log.info({ pod: fullName(pod) }, "Created mirror pod");
    return true;
  }

  /** DeleteMirrorPod: with the mirror's uid as precondition and no grace period. */
  async deleteMirrorPod(mirror: Pod): Promise<void> {
    try {
      await this.pods(mirror.metadata.namespace).delete(mirror.metadata.name, {
        gracePeriodSeconds: 0,
        ...(mirror.metadata.uid === undefined ? {} : { preconditions: { uid: mirror.metadata.uid } }),
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Read at each creation (rare), not cached: a re-registered Node has a new uid. */
  private async getNodeUid(): Promise<string | undefined> {
    try {
      return (await this.o.client.resource<Node>("v1", "nodes").get(this.o.nodeName)).metadata.uid;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      this.log.info({ node: this.o.nodeName }, "Node does not exist yet; mirror pods wait for it");
      return undefined;
    }
  }
}
