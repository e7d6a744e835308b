/**
 * The pod's UTS namespace, the part of kube's pod sandbox that carries its hostname. Upstream the
 * CRI runtime's sandbox (the pause container) owns one UTS namespace with the pod's hostname set
 * before any container starts, and every container of the pod joins it (containerd's CRI plugin:
 * WithPodNamespaces). Skiff has no pause container, so the kubelet keeps the namespace itself, as
 * it keeps the pod's network namespace (network/), and each container joins it through
 * ContainerConfig.utsPath. hostNetwork pods get none: they share the node's, as in kube.
 */

export interface PodUTSNamespaces {
  /**
   * Makes the pod's UTS namespace with `hostname` set and returns its path; idempotent: a
   * namespace already there (this agent's or a previous one's) is reused as it is.
   */
  setUpPod(podUID: string, hostname: string): Promise<string>;
  /** Unmounts and removes the pod's namespace file; idempotent. */
  tearDownPod(podUID: string): Promise<void>;
  /** UIDs of every pod namespace this node has (to find and remove leftovers). */
  listPods(): Promise<string[]>;
}
