/**
 * PodUTSNamespaces on real UTS namespaces kept alive by a bind mount, as `ip netns add` keeps a
 * network namespace: `unshare --uts=<dir>/<uid> hostname <name>` makes the namespace, bind-mounts
 * it on the (existing, empty) file and sets the hostname in it before any container exists; every
 * container of the pod then runs with `ctr run --with-ns uts:<dir>/<uid>`. The file being a
 * mount of the namespace file system is what marks a finished set-up: a plain file there is
 * what an interrupted one leaves, and is made again. Teardown unmounts and removes the file.
 */
import { statSync } from "node:fs";
import { mkdir, readdir, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { mustRun, runCommand } from "../network/command.js";
import type { NetworkLogger } from "../network/logger.js";
import { isPodUID } from "../network/names.js";
import type { PodUTSNamespaces } from "./uts.js";

export interface UnshareUTSNamespacesOptions {
  /** Where the namespace files go (the agent's `<data-dir>/uts`), one per pod UID. */
  dir: string;
  logger: NetworkLogger;
}

/** A hostname as kube allows one (a DNS-1123 subdomain of at most 63 characters). */
const HOSTNAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

export class UnshareUTSNamespaces implements PodUTSNamespaces {
  readonly dir: string;
  private readonly logger: NetworkLogger;

  constructor(opts: UnshareUTSNamespacesOptions) {
    this.dir = opts.dir;
    this.logger = opts.logger;
  }

  /** The namespace file of a pod; the UID is checked, as it becomes a file name. */
  pathOf(podUID: string): string {
    if (!isPodUID(podUID)) throw new Error(`invalid pod UID ${JSON.stringify(podUID)} for a UTS namespace`);
    return join(this.dir, podUID);
  }

  async setUpPod(podUID: string, hostname: string): Promise<string> {
    const path = this.pathOf(podUID);
    if (!HOSTNAME.test(hostname)) throw new Error(`invalid hostname ${JSON.stringify(hostname)}`);
    if (isNamespaceFile(path)) {
      // Made by this agent, or by one before a restart: the pod's hostname never changes.
      return path;
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // unshare bind-mounts the namespace on an existing file only.
    await writeFile(path, "", { mode: 0o600 });
    const r = await runCommand("unshare", [`--uts=${path}`, "hostname", hostname]);
    if (r.code !== 0) {
      await this.tearDownPod(podUID).catch((e: unknown) =>
        this.logger.warn({ podUID, err: String(e) }, "clean-up after a failed UTS namespace set-up"),
      );
      throw new Error(`unshare --uts=${path} hostname ${hostname}: exit ${r.code}: ${r.stderr.trim()}`);
    }
    this.logger.debug({ podUID, hostname, path }, "pod UTS namespace set up");
    return path;
  }

  async tearDownPod(podUID: string): Promise<void> {
    const path = this.pathOf(podUID);
    // A file mounted over twice (never made here, but cheap to undo) needs one umount per mount.
    for (let i = 0; i < 8 && isNamespaceFile(path); i++) await mustRun("umount", [path]);
    await rm(path, { force: true });
    this.logger.debug({ podUID, path }, "pod UTS namespace torn down");
  }

  async listPods(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter(isPodUID);
  }

  /** Removes every pod's namespace and the directory (the agent's node teardown). */
  async tearDownNode(): Promise<void> {
    for (const uid of await this.listPods()) await this.tearDownPod(uid);
    await rmdir(this.dir).catch(() => undefined);
  }
}

/** Whether `path` is a namespace file (on nsfs, the file system of /proc/self/ns/*). */
function isNamespaceFile(path: string): boolean {
  try {
    return statSync(path).dev === statSync("/proc/self/ns/uts").dev;
  } catch {
    return false;
  }
}
