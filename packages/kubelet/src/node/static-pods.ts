/**
 * Static pods from `--pod-manifest-path` (pkg/kubelet/config/file.go and common.go's
 * applyDefaults): every non-hidden file of the directory (or the one file named) holding a Pod
 * in YAML or JSON, re-read every fileCheckFrequency (20 s). Each pod gets kube's defaults for a
 * file source: a uid hashed from the node, the file and its content (kube hashes the decoded
 * object; Skiff the bytes), the name suffixed "-<nodeName>", namespace "default", spec.nodeName,
 * the config.hash / config.source / config.seen annotations and a toleration of every NoExecute
 * taint.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Pod } from "@skiff/api";
import { type Clock, realClock } from "@skiff/client";
import { type Logger, silentLogger } from "@skiff/component-base";
import { parse as parseYaml } from "yaml";
import { Periodic } from "./periodic.js";

export const configSourceAnnotation = "kubernetes.io/config.source";
export const configHashAnnotation = "kubernetes.io/config.hash";
export const configSeenAnnotation = "kubernetes.io/config.seen";
export const configMirrorAnnotation = "kubernetes.io/config.mirror";

/** One manifest file as a Pod with the file source's defaults (applyDefaults). */
export function staticPodFromManifest(text: string, file: string, nodeName: string, nowMs: number): Pod {
  const obj = parseYaml(text) as Pod | null;
  if (obj === null || typeof obj !== "object") throw new Error(`${file}: empty manifest`);
  if (obj.kind !== undefined && obj.kind !== "Pod")
    throw new Error(`${file}: kind ${String(obj.kind)}, want Pod`);
  if (obj.metadata?.name === undefined || obj.metadata.name === "")
    throw new Error(`${file}: metadata.name is required`);
  if (!Array.isArray(obj.spec?.containers) || obj.spec.containers.length === 0)
    throw new Error(`${file}: spec.containers: Required value`);
  const pod = structuredClone(obj);
  pod.apiVersion = "v1";
  pod.kind = "Pod";
  const uid =
    pod.metadata.uid ||
    createHash("md5").update(`host:${nodeName}`).update(`file:${file}`).update(text).digest("hex");
  pod.metadata.uid = uid;
  pod.metadata.name = `${pod.metadata.name}-${nodeName}`;
  pod.metadata.namespace = pod.metadata.namespace || "default";
  pod.metadata.annotations = {
    ...pod.metadata.annotations,
    [configHashAnnotation]: uid,
    [configSourceAnnotation]: "file",
    [configSeenAnnotation]: new Date(nowMs).toISOString(),
  };
  pod.spec.nodeName = nodeName;
  const tolerations = pod.spec.tolerations ?? [];
  if (!tolerations.some((t) => t.operator === "Exists" && t.key === undefined && t.effect === "NoExecute"))
    pod.spec.tolerations = [...tolerations, { operator: "Exists", effect: "NoExecute" }];
  pod.status = { phase: "Pending" };
  return pod;
}

export interface StaticPodSourceOptions {
  /** --pod-manifest-path: a directory or one file. */
  path: string;
  nodeName: string;
  /** Called with every static pod whenever the set (or any pod's hash) changes. */
  onChange: (pods: Pod[]) => void;
  /** Default 20 s (fileCheckFrequency). */
  periodMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export class StaticPodSource {
  private readonly clock: Clock;
  private readonly log: Logger;
  private pods: Pod[] = [];
  private lastKey: string | undefined;
  private readonly periodic: Periodic;

  constructor(private readonly o: StaticPodSourceOptions) {
    this.clock = o.clock ?? realClock;
    this.log = o.logger ?? silentLogger;
    this.periodic = new Periodic({
      clock: this.clock,
      periodMs: o.periodMs ?? 20_000,
      run: () => this.listConfig(),
      onError: (e) => this.log.error({ path: o.path, err: String(e) }, "Unable to read config path"),
    });
  }

  /** The pods of the last read. */
  current(): Pod[] {
    return this.pods;
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** listConfig: reads the path; calls onChange when the pods differ from the last read. */
  async listConfig(): Promise<Pod[]> {
    const files = await this.files();
    const pods: Pod[] = [];
    const now = this.clock.now();
    for (const f of files) {
      try {
        const text = await readFile(f, "utf8");
        // A pod read again keeps its config.seen time (the config mux's first sighting).
        const pod = staticPodFromManifest(text, f, this.o.nodeName, now);
        const old = this.pods.find((p) => p.metadata.uid === pod.metadata.uid);
        const seen = old?.metadata.annotations?.[configSeenAnnotation];
        if (seen !== undefined && pod.metadata.annotations !== undefined)
          pod.metadata.annotations[configSeenAnnotation] = seen;
        pods.push(pod);
      } catch (e) {
        this.log.warn({ path: f, err: String(e) }, "Could not process manifest file");
      }
    }
    const key = pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}/${p.metadata.uid}`).join("\n");
    this.pods = pods;
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.o.onChange(pods);
    }
    return pods;
  }

  private async files(): Promise<string[]> {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(this.o.path);
    } catch {
      // kube logs and waits for the path to appear.
      return [];
    }
    if (!st.isDirectory()) return [this.o.path];
    const names = (await readdir(this.o.path, { withFileTypes: true }))
      .filter((d) => d.isFile() && !d.name.startsWith("."))
      .map((d) => d.name)
      .sort();
    return names.map((n) => join(this.o.path, n));
  }
}
