/**
 * kube's RealPodControl and slowStartBatch (pkg/controller/controller_utils.go): pods are made
 * from a controller's template (its labels, annotations, finalizers and spec; generateName
 * `<controller name>-`; the controller reference), created and deleted through the API with an
 * Event on the controller for each (SuccessfulCreate / FailedCreate, SuccessfulDelete /
 * FailedDelete), and many creates go out in batches of 1, 2, 4, ... that stop at the first
 * failure, so a template that can never be admitted costs one call, not `replicas` calls.
 */
import type { KubeObject, ObjectMeta, OwnerReference, Pod } from "@skiff/api";
import { type ClientInterface, cloneObject, type EventRecorder, isNotFound } from "@skiff/client";

/** kube's SlowStartInitialBatchSize. */
export const SLOW_START_INITIAL_BATCH_SIZE = 1;

export interface PodTemplateSpec {
  metadata?: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
  };
  spec?: Pod["spec"];
}

/** kube's GetPodFromTemplate. */
export function podFromTemplate(
  template: PodTemplateSpec,
  parent: KubeObject,
  controllerRef: OwnerReference | undefined,
): Pod {
  const t = cloneObject(template) as PodTemplateSpec;
  const meta: ObjectMeta = {
    generateName: `${parent.metadata.name}-`,
    ...(parent.metadata.namespace === undefined ? {} : { namespace: parent.metadata.namespace }),
    labels: t.metadata?.labels ?? {},
  };
  if (t.metadata?.annotations !== undefined) meta.annotations = t.metadata.annotations;
  if (t.metadata?.finalizers !== undefined) meta.finalizers = t.metadata.finalizers;
  if (controllerRef !== undefined) meta.ownerReferences = [controllerRef];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: meta,
    spec: t.spec ?? { containers: [] },
  } as unknown as Pod;
}

export class PodControl {
  constructor(
    private readonly client: ClientInterface,
    private readonly recorder: EventRecorder,
  ) {}

  /** Creates one pod from the template (kube's CreatePods); an Event on `parent` either way. */
  async createPod(
    namespace: string,
    template: PodTemplateSpec,
    parent: KubeObject,
    controllerRef: OwnerReference,
    mutate?: (pod: Pod) => void,
  ): Promise<Pod> {
    const pod = podFromTemplate(template, parent, controllerRef);
    mutate?.(pod);
    if (Object.keys(pod.metadata.labels ?? {}).length === 0)
      throw new Error("unable to create pods, no labels");
    try {
      const created = await this.client.resource<Pod>("v1", "pods", namespace).create(pod);
      this.recorder.eventf(parent, "Normal", "SuccessfulCreate", "Created pod: %s", created.metadata.name);
      return created;
    } catch (e) {
      this.recorder.eventf(parent, "Warning", "FailedCreate", "Error creating: %s", messageOf(e));
      throw e;
    }
  }

  /** Deletes a pod (kube's DeletePod); NotFound is returned as false, not thrown. */
  async deletePod(namespace: string, name: string, parent: KubeObject): Promise<boolean> {
    try {
      await this.client.resource<Pod>("v1", "pods", namespace).delete(name);
      this.recorder.eventf(parent, "Normal", "SuccessfulDelete", "Deleted pod: %s", name);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      this.recorder.eventf(parent, "Warning", "FailedDelete", "Error deleting: %s", messageOf(e));
      throw e;
    }
  }
}

/**
 * kube's slowStartBatch: calls `fn` `count` times in batches of initialBatchSize, doubling, and
 * stops after the first batch with a failure. Returns how many succeeded and the first error.
 */
export async function slowStartBatch(
  count: number,
  initialBatchSize: number,
  fn: (i: number) => Promise<unknown>,
): Promise<{ successes: number; error: unknown }> {
  let remaining = count;
  let successes = 0;
  let index = 0;
  for (let batch = Math.min(remaining, initialBatchSize); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn(index++)));
    let error: unknown;
    for (const r of results) {
      if (r.status === "fulfilled") successes++;
      else error ??= r.reason;
    }
    if (error !== undefined) return { successes, error };
    remaining -= batch;
  }
  return { successes, error: undefined };
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
