/**
 * In-memory PodUTSNamespaces for unit tests: a pod's "namespace" is a path under a directory
 * that never exists and the hostname recorded for it, which FakeRuntime reads back
 * (FakeRuntimeOptions.utsHostname) for a container that joins it.
 */
import type { PodUTSNamespaces } from "./uts.js";

export class FakeUTSNamespaces implements PodUTSNamespaces {
  /** Pod uid -> its namespace's path and hostname. */
  readonly pods = new Map<string, { path: string; hostname: string }>();
  /** Set to make setUpPod fail, e.g. to test FailedCreatePodSandBox. */
  setUpError: string | undefined;

  constructor(private readonly dir = "/nonexistent/skiff-fake-uts") {}

  async setUpPod(podUID: string, hostname: string): Promise<string> {
    const have = this.pods.get(podUID);
    if (have !== undefined) return have.path;
    if (this.setUpError !== undefined) throw new Error(this.setUpError);
    const path = `${this.dir}/${podUID}`;
    this.pods.set(podUID, { path, hostname });
    return path;
  }

  async tearDownPod(podUID: string): Promise<void> {
    this.pods.delete(podUID);
  }

  async listPods(): Promise<string[]> {
    return [...this.pods.keys()];
  }

  /** The hostname of the namespace at `path`, if one is set up there. */
  hostnameAt(path: string): string | undefined {
    for (const p of this.pods.values()) if (p.path === path) return p.hostname;
    return undefined;
  }
}
