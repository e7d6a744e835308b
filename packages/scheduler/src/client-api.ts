/**
 * The scheduler's writes, over the Kubernetes API: binding (pods/binding with the pod's uid),
 * graceful deletion of preemption victims (uid precondition), and status patches for
 * PodScheduled and nominatedNodeName (strategic merge on the conditions list, as kube's
 * util.PatchPodStatus).
 */
import type { Pod, PodCondition } from "@skiff/api";
import { ApiError, isNotFound, type KubeClient } from "@skiff/client";
import type { SchedulerApi } from "./framework/interface.js";
import type { StatusWriter } from "./scheduler.js";

const podPath = (pod: Pod) =>
  `/api/v1/namespaces/${encodeURIComponent(pod.metadata.namespace)}/pods/${encodeURIComponent(pod.metadata.name)}`;

export class ClientSchedulerApi implements SchedulerApi, StatusWriter {
  constructor(private readonly client: KubeClient) {}

  private async call(method: string, path: string, body: unknown, contentType?: string): Promise<void> {
    const res = await this.client.raw(
      method,
      path,
      body,
      contentType === undefined ? undefined : { "content-type": contentType },
    );
    if (res.status < 200 || res.status > 299) throw new ApiError(res.status, res.body, `${method} ${path}`);
  }

  bind(pod: Pod, nodeName: string): Promise<void> {
    return this.call("POST", `${podPath(pod)}/binding`, {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
      target: { apiVersion: "v1", kind: "Node", name: nodeName },
    });
  }

  async deletePod(pod: Pod, _reason: string): Promise<void> {
    try {
      await this.call("DELETE", podPath(pod), {
        apiVersion: "v1",
        kind: "DeleteOptions",
        preconditions: { uid: pod.metadata.uid },
      });
    } catch (e) {
      // Already gone: what preemption wanted.
      if (!isNotFound(e)) throw e;
    }
  }

  setNominatedNodeName(pod: Pod, nodeName: string): Promise<void> {
    return this.call(
      "PATCH",
      `${podPath(pod)}/status`,
      { status: { nominatedNodeName: nodeName === "" ? null : nodeName } },
      "application/merge-patch+json",
    );
  }

  patchPodCondition(pod: Pod, condition: Record<string, unknown>): Promise<void> {
    return this.call(
      "PATCH",
      `${podPath(pod)}/status`,
      { metadata: { uid: pod.metadata.uid }, status: { conditions: [condition] } },
      "application/strategic-merge-patch+json",
    );
  }

  async updatePodCondition(pod: Pod, condition: PodCondition, nominatedNodeName?: string): Promise<void> {
    const status: Record<string, unknown> = { conditions: [condition] };
    if (nominatedNodeName !== undefined)
      status.nominatedNodeName = nominatedNodeName === "" ? null : nominatedNodeName;
    try {
      await this.call(
        "PATCH",
        `${podPath(pod)}/status`,
        { metadata: { uid: pod.metadata.uid }, status },
        "application/strategic-merge-patch+json",
      );
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
