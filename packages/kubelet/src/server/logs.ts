/**
 * GET /containerLogs/{namespace}/{pod}/{container}: a container's log as text/plain, with kube's
 * PodLogOptions in the query (kube's kubelet server.go getContainerLogs). The API server
 * validates the options first (pods/log); the kubelet checks them again as upstream does.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { LogOptions } from "../logs/logs.js";
import type { KubeletServerDeps } from "./deps.js";
import { containerIdOf, findPod, podPath } from "./pods.js";
import { badRequest } from "./status.js";

const TRUE = new Set(["true", "1", "True", "TRUE", "t", "T", ""]);

const flag = (q: URLSearchParams, name: string) => q.has(name) && TRUE.has(q.get(name) as string);

function intParam(q: URLSearchParams, name: string, min: number): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`${name}: invalid value "${v}": must be an integer`);
  const n = Number(v);
  if (n < min) throw badRequest(`${name}: invalid value ${n}: must be greater than or equal to ${min}`);
  return n;
}

/** kube's PodLogOptions from the query, checked as validation.ValidatePodLogOptions does. */
export function parseLogOptions(q: URLSearchParams): LogOptions & { previous: boolean } {
  const opts: LogOptions & { previous: boolean } = { previous: flag(q, "previous") };
  if (flag(q, "follow")) opts.follow = true;
  if (flag(q, "timestamps")) opts.timestamps = true;
  const tailLines = intParam(q, "tailLines", 0);
  if (tailLines !== undefined) opts.tailLines = tailLines;
  const limitBytes = intParam(q, "limitBytes", 1);
  if (limitBytes !== undefined) opts.limitBytes = limitBytes;
  const sinceSeconds = intParam(q, "sinceSeconds", 1);
  const sinceTime = q.get("sinceTime");
  if (sinceSeconds !== undefined && sinceTime !== null)
    throw badRequest("at most one of `sinceTime` or `sinceSeconds` may be specified");
  if (sinceSeconds !== undefined) opts.sinceSeconds = sinceSeconds;
  if (sinceTime !== null) {
    if (Number.isNaN(Date.parse(sinceTime))) throw badRequest(`sinceTime: invalid value "${sinceTime}"`);
    opts.sinceTime = sinceTime;
  }
  return opts;
}

export async function containerLogs(
  deps: KubeletServerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  segments: readonly string[],
  query: URLSearchParams,
): Promise<void> {
  const { namespace, name, uid, container } = podPath(segments, true);
  const { previous, ...opts } = parseLogOptions(query);
  const pod = findPod(deps, namespace, name, uid);
  const id = containerIdOf(deps, pod, container, previous);
  const files = deps.logFiles(pod, container, previous);
  if (files === undefined)
    throw badRequest(`container "${container}" in pod "${name}" has no log (it has not started)`);
  const aborted = new AbortController();
  req.once("close", () => aborted.abort());
  res.once("close", () => aborted.abort());
  res.writeHead(200, { "content-type": "text/plain", "cache-control": "no-cache, private" });
  res.flushHeaders();
  // A previous instance has stopped already: nothing to follow.
  const containerDone = previous || opts.follow !== true ? Promise.resolve() : deps.containerRunning(id);
  await deps.readLogs(files, opts, res, { containerDone, signal: aborted.signal });
  if (!res.writableEnded) res.end();
}
