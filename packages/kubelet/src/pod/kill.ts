/**
 * Stopping one container as kuberuntime_container.go killContainer does: the grace period from
 * the pod (deletionGracePeriodSeconds, else terminationGracePeriodSeconds; a failed probe's own
 * terminationGracePeriodSeconds when that is the reason), the preStop hook within it, then
 * SIGTERM, up to the rest of the grace period (never under kube's minimum of 2 s unless an
 * override says so), then SIGKILL.
 */
import type { Container, Pod } from "@skiff/api";
import type { Clock, TimerHandle } from "@skiff/client";
import type { KubeletContainer, LifecycleHandler } from "../api-types.js";
import type { ContainerRuntime } from "../runtime/runtime.js";

/** kube's minimumGracePeriodInSeconds. */
export const MINIMUM_GRACE_PERIOD_SECONDS = 2;
const DEFAULT_GRACE_PERIOD_SECONDS = 30;
/** How often a stop re-reads the runtime, in case an exit event was missed. */
const EXIT_POLL_MS = 1000;

export type RunHandler = (
  pod: Pod,
  container: Container,
  containerID: string,
  handler: LifecycleHandler,
  timeoutMs: number,
) => Promise<void>;

export interface KillOptions {
  pod: Pod;
  spec: Container | undefined;
  containerId: string;
  reason?: "liveness" | "startup" | "changed" | "unknown" | "terminate";
  /** Replaces the grace period (eviction, node shutdown). */
  gracePeriodOverride?: number;
  /** From the container's label when the spec is gone (orphans after a restart). */
  labelGracePeriod?: number;
}

export interface KillDeps {
  runtime: ContainerRuntime;
  clock: Clock;
  runHandler?: RunHandler;
  log?: { warn(obj: object, msg: string): void };
}

/** setTerminationGracePeriod. */
export function terminationGracePeriod(o: KillOptions): number {
  let grace = o.pod.metadata.deletionGracePeriodSeconds ?? o.pod.spec.terminationGracePeriodSeconds;
  grace ??= o.labelGracePeriod ?? DEFAULT_GRACE_PERIOD_SECONDS;
  const c = o.spec as KubeletContainer | undefined;
  const probe =
    o.reason === "liveness" ? c?.livenessProbe : o.reason === "startup" ? c?.startupProbe : undefined;
  if (probe?.terminationGracePeriodSeconds !== undefined) grace = probe.terminationGracePeriodSeconds;
  return grace;
}

export async function killContainer(deps: KillDeps, o: KillOptions): Promise<void> {
  const { runtime, clock } = deps;
  let graceSeconds = terminationGracePeriod(o);
  const preStop = (o.spec as KubeletContainer | undefined)?.lifecycle?.preStop;
  if (preStop !== undefined && o.spec !== undefined && graceSeconds > 0 && deps.runHandler !== undefined) {
    const started = clock.now();
    try {
      await withTimeout(
        clock,
        deps.runHandler(o.pod, o.spec, o.containerId, preStop, graceSeconds * 1000),
        graceSeconds * 1000,
      );
    } catch (e) {
      deps.log?.warn({ containerId: o.containerId, err: String(e) }, "preStop hook failed");
    }
    graceSeconds -= Math.floor((clock.now() - started) / 1000);
  }
  if (graceSeconds < MINIMUM_GRACE_PERIOD_SECONDS) graceSeconds = MINIMUM_GRACE_PERIOD_SECONDS;
  if (o.gracePeriodOverride !== undefined) graceSeconds = o.gracePeriodOverride;
  await stopContainer(runtime, clock, o.containerId, graceSeconds * 1000);
}

/** The CRI's StopContainer(timeout): SIGTERM, wait, SIGKILL, wait. */
export async function stopContainer(
  runtime: ContainerRuntime,
  clock: Clock,
  id: string,
  graceMs: number,
): Promise<void> {
  if (graceMs > 0) {
    await runtime.signalContainer(id, "SIGTERM");
    if (await waitForExit(runtime, clock, id, graceMs)) return;
  }
  await runtime.signalContainer(id, "SIGKILL");
  await waitForExit(runtime, clock, id, 10_000);
}

/** Resolves true once the container is not running, false after `timeoutMs`. */
export function waitForExit(
  runtime: ContainerRuntime,
  clock: Clock,
  id: string,
  timeoutMs: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    let poll: TimerHandle | undefined;
    const finish = (exited: boolean) => {
      if (done) return;
      done = true;
      unsubscribe();
      clock.clearTimeout(deadline);
      if (poll !== undefined) clock.clearTimeout(poll);
      resolve(exited);
    };
    const unsubscribe = runtime.onEvent((e) => {
      if (e.type === "exit" && e.id === id) finish(true);
    });
    const deadline = clock.setTimeout(() => finish(false), timeoutMs);
    const check = async () => {
      const s = await runtime.containerStatus(id).catch(() => undefined);
      if (s === undefined || s.state !== "running") finish(true);
      else if (!done) poll = clock.setTimeout(() => void check(), EXIT_POLL_MS);
    };
    void check();
  });
}

function withTimeout<T>(clock: Clock, p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const t = clock.setTimeout(() => resolve(undefined), ms);
    p.then(
      (v) => {
        clock.clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clock.clearTimeout(t);
        reject(e);
      },
    );
  });
}
