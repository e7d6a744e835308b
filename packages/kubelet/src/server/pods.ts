/**
 * Finding the pod and container a streaming request names, with the errors kube's kubelet
 * answers (server.go getContainerLogs, GetExec/GetAttach: `pod does not exist`, container not
 * in the pod).
 */
import type { Pod } from "@skiff/api";
import type { KubeletServerDeps } from "./deps.js";
import { badRequest, notFound } from "./status.js";

export function findPod(deps: KubeletServerDeps, namespace: string, name: string, uid?: string): Pod {
  const pod = deps.getPod(namespace, name);
  if (pod === undefined || (uid !== undefined && pod.metadata.uid !== uid))
    throw notFound(`pod "${namespace}/${name}" does not exist`);
  return pod;
}

/** The names of the pod's containers (init containers too: their logs are readable). */
function containerNames(pod: Pod): string[] {
  const spec = (pod.spec ?? {}) as { containers?: { name: string }[]; initContainers?: { name: string }[] };
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c) => c.name);
}

export function checkContainer(pod: Pod, container: string): void {
  if (!containerNames(pod).includes(container))
    throw badRequest(`container ${container} is not valid for pod ${pod.metadata.name}`);
}

/** The id of the running (or, with previous, the earlier) instance of `container`. */
export function containerIdOf(
  deps: KubeletServerDeps,
  pod: Pod,
  container: string,
  previous = false,
): string {
  checkContainer(pod, container);
  const id = deps.containerID(pod.metadata.uid as string, container, { previous });
  if (id !== undefined) return id;
  if (previous)
    throw badRequest(`previous terminated container "${container}" in pod "${pod.metadata.name}" not found`);
  throw badRequest(`container "${container}" in pod "${pod.metadata.name}" is waiting to start`);
}

/** Path segments after the route's name: ns, pod, [uid,] container. */
export function podPath(segments: readonly string[], withContainer: boolean) {
  const want = withContainer ? [3, 4] : [2, 3];
  if (!want.includes(segments.length)) throw notFound("the server could not find the requested resource");
  const [namespace, name] = segments as [string, string];
  const uid = segments.length === want[1] ? segments[2] : undefined;
  const container = withContainer ? (segments[segments.length - 1] as string) : "";
  return { namespace, name, uid, container };
}
