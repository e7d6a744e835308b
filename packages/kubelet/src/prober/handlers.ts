/**
 * postStart and preStop hooks, as pkg/kubelet/lifecycle/handlers.go's handlerRunner.Run: exec
 * through the runtime (a non-zero exit is an error), httpGet through the node network's dialer
 * (any answer will do: only a transport error fails it; an HTTPS hook that gets a plain HTTP
 * answer is retried over HTTP), sleep for the given seconds. Returns kube's message for a
 * failed hook (the pod workers put it in the FailedPostStartHook / FailedPreStopHook event),
 * or undefined when the hook succeeded.
 */
import type { Pod } from "@skiff/api";
import { type Clock, realClock, sleep } from "@skiff/client";
import type { KubeletContainer, LifecycleHandler } from "../api-types.js";
import { combinedOutput } from "./exec.js";
import { HTTP_RESPONSE_TO_HTTPS, httpGet, newRequestForHTTPGetAction } from "./http.js";
import { podKey } from "./probe.js";
import type { Dialer, ExecSync } from "./types.js";
import { bareContainerID, goQuote } from "./types.js";

export interface LifecycleHandlerDeps {
  dial: Dialer;
  execSync: ExecSync;
  /** The pod's IP, the default host of an httpGet hook. */
  podIP?: string;
  /** Times the sleep hook. */
  clock?: Clock;
  /** Aborting ends a sleep hook early (the container is gone). */
  signal?: AbortSignal;
}

export async function runLifecycleHandler(
  pod: Pod,
  container: KubeletContainer,
  containerID: string,
  handler: LifecycleHandler,
  timeoutMs: number,
  deps: LifecycleHandlerDeps,
): Promise<string | undefined> {
  const where = `for Container ${goQuote(container.name)} in Pod ${goQuote(podKey(pod))}`;
  if (handler.exec !== undefined) {
    const cmd = handler.exec.command ?? [];
    const err = await runExec(deps.execSync, bareContainerID(containerID), cmd, timeoutMs);
    if (err === undefined) return undefined;
    return `Exec lifecycle hook ([${cmd.join(" ")}]) ${where} failed - error: ${err.message}, message: ${goQuote(err.output)}`;
  }
  if (handler.httpGet !== undefined) {
    const err = await runHTTP(pod, container, handler, timeoutMs, deps);
    if (err === undefined) return undefined;
    return `HTTP lifecycle hook (${handler.httpGet.path ?? ""}) ${where} failed - error: ${err}`;
  }
  if (handler.sleep !== undefined) {
    const seconds = handler.sleep.seconds;
    if (seconds <= 0) return undefined;
    const full = seconds * 1000 <= timeoutMs;
    const slept = await sleep(deps.clock ?? realClock, Math.min(seconds * 1000, timeoutMs), deps.signal);
    if (slept && full) return undefined;
    return `Sleep lifecycle hook (${seconds}) ${where} failed - error: container terminated before sleep hook finished`;
  }
  return `Cannot run handler: invalid handler: ${JSON.stringify(handler)}`;
}

/** RunInContainer through ExecSync: the CRI client's error for a non-zero exit or a timeout. */
async function runExec(
  execSync: ExecSync,
  id: string,
  cmd: readonly string[],
  timeoutMs: number,
): Promise<{ message: string; output: string } | undefined> {
  try {
    const r = await execSync(id, cmd, timeoutMs);
    const output = combinedOutput(r.stdout, r.stderr);
    if (r.timedOut) return { message: `command ${goQuote(cmd.join(" "))} timed out`, output };
    if (r.exitCode === 0) return undefined;
    const stderr = Buffer.from(r.stderr).toString("utf8");
    return { message: `command '${cmd.join(" ")}' exited with ${r.exitCode}: ${stderr}`, output };
  } catch (err) {
    return { message: (err as Error).message, output: "" };
  }
}

async function runHTTP(
  pod: Pod,
  container: KubeletContainer,
  handler: LifecycleHandler,
  timeoutMs: number,
  deps: LifecycleHandlerDeps,
): Promise<string | undefined> {
  const action = handler.httpGet;
  if (action === undefined) return undefined;
  const podIP = deps.podIP ?? "";
  if ((action.host ?? "") === "" && podIP === "")
    return `failed to find networking container: pod ${podKey(pod)} has no IP`;
  try {
    const req = newRequestForHTTPGetAction(action, container, podIP, "lifecycle");
    try {
      await httpGet(deps.dial, req, timeoutMs);
      return undefined;
    } catch (err) {
      if (req.scheme !== "https" || !(err as Error).message.endsWith(HTTP_RESPONSE_TO_HTTPS)) throw err;
      // As kube: an HTTPS hook answered in plain HTTP is tried again over HTTP, without credentials.
      const headers = new Map(req.headers);
      headers.delete("Authorization");
      await httpGet(
        deps.dial,
        { ...req, scheme: "http", url: req.url.replace(/^https:/, "http:"), headers },
        timeoutMs,
      );
      return undefined;
    }
  } catch (err) {
    return (err as Error).message;
  }
}
