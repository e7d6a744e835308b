/**
 * Where a streaming subresource is served on the kubelet (kube's pod/rest LogLocation,
 * ExecLocation, AttachLocation, PortForwardLocation and node/rest ResourceLocation): the pod,
 * its node and container are checked here, so kubectl gets kube's errors from the API server.
 */
import { type FieldError, invalid, type KubeObject } from "@skiff/api";
import type { RequestScope } from "../handlers/scope.js";
import type { ResourcePath } from "../request/requestinfo.js";
import { badRequest, invalidObject, methodNotAllowed, StatusError } from "../status.js";
import { type KubeletLocation, kubeletLocation } from "./kubelet.js";

export interface Location {
  kubelet: KubeletLocation;
  /** Path and query on the kubelet. */
  path: string;
}

type Query = URLSearchParams;

const BOOLS = new Set(["true", "false", "1", "0", "t", "f", "TRUE", "FALSE", "True", "False", "T", "F"]);

/** kube's query parameter conversion: booleans and integers must parse (else 400). */
function convert(q: Query, bools: readonly string[], ints: readonly string[]): void {
  for (const b of bools) {
    const v = q.get(b);
    if (v !== null && v !== "" && !BOOLS.has(v))
      throw badRequest(`invalid value "${v}" for ${b}: strconv.ParseBool: parsing "${v}": invalid syntax`);
  }
  for (const i of ints) {
    const v = q.get(i);
    if (v !== null && !/^-?\d+$/.test(v))
      throw badRequest(`invalid value "${v}" for ${i}: strconv.ParseInt: parsing "${v}": invalid syntax`);
  }
}

/** kube's validation.ValidatePodLogOptions: 422 Invalid with the PodLogOptions kind. */
function validateLogOptions(q: Query, name: string): void {
  const errs: FieldError[] = [];
  const num = (n: string) => (q.get(n) === null ? undefined : Number(q.get(n)));
  const tailLines = num("tailLines");
  if (tailLines !== undefined && tailLines < 0)
    errs.push(invalid("tailLines", tailLines, "must be greater than or equal to 0"));
  const limitBytes = num("limitBytes");
  if (limitBytes !== undefined && limitBytes < 1)
    errs.push(invalid("limitBytes", limitBytes, "must be greater than 0"));
  const sinceSeconds = num("sinceSeconds");
  const sinceTime = q.get("sinceTime");
  if (sinceSeconds !== undefined && sinceTime !== null)
    errs.push({
      type: "FieldValueForbidden",
      field: "",
      detail: "at most one of `sinceTime` or `sinceSeconds` may be specified",
    });
  else if (sinceSeconds !== undefined && sinceSeconds < 1)
    errs.push(invalid("sinceSeconds", sinceSeconds, "must be greater than 0"));
  if (errs.length > 0) throw invalidObject({ kind: "PodLogOptions", group: "" }, name, errs);
  if (sinceTime !== null && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(sinceTime))
    throw badRequest(`invalid value "${sinceTime}" for sinceTime: parsing time as RFC 3339`);
}

interface PodSpec {
  nodeName?: string;
  containers?: { name: string }[];
  initContainers?: { name: string }[];
  ephemeralContainers?: { name: string }[];
}

/** kube's pod/rest container choice: the one named, or the only one; errors as kube words them. */
function containerOf(pod: KubeObject, requested: string | null): string {
  const spec = (pod.spec ?? {}) as PodSpec;
  const name = pod.metadata.name as string;
  const regular = (spec.containers ?? []).map((c) => c.name);
  const init = (spec.initContainers ?? []).map((c) => c.name);
  const all = [...regular, ...init, ...(spec.ephemeralContainers ?? []).map((c) => c.name)];
  if (requested === null || requested === "") {
    if (regular.length === 1) return regular[0] as string;
    let message = `a container name must be specified for pod ${name}, choose one of: [${regular.join(" ")}]`;
    if (init.length > 0) message += ` or one of the init containers: [${init.join(" ")}]`;
    throw badRequest(message);
  }
  if (!all.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

async function nodeLocation(scope: RequestScope, nodeName: string): Promise<KubeletLocation> {
  const nodeKind = scope.registry.resource("", "v1", "nodes");
  if (nodeKind === undefined) throw new Error("the registry has no nodes");
  const node = await scope.store.get(nodeKind, undefined, nodeName);
  const loc = kubeletLocation(node);
  if (loc === undefined)
    throw new StatusError(503, "ServiceUnavailable", `node ${nodeName} has no address to reach its kubelet`);
  return loc;
}

const enc = encodeURIComponent;

/**
 * The kubelet location of pods/{log,exec,attach,portforward}; undefined for a log of a pod
 * not yet on a node (kube answers that with an empty body).
 */
export async function podLocation(
  scope: RequestScope,
  path: ResourcePath,
  q: Query,
): Promise<Location | undefined> {
  const sub = path.subresource as string;
  const name = path.name as string;
  const ns = path.namespace as string;
  if (sub === "log") {
    convert(
      q,
      ["follow", "previous", "timestamps", "insecureSkipTLSVerifyBackend"],
      ["tailLines", "limitBytes", "sinceSeconds"],
    );
    validateLogOptions(q, name);
  } else convert(q, ["stdin", "stdout", "stderr", "tty"], []);
  const pod = await scope.store.get(path.kind, ns, name);
  const spec = (pod.spec ?? {}) as PodSpec;
  const container = sub === "portforward" ? "" : containerOf(pod, q.get("container"));
  const nodeName = spec.nodeName ?? "";
  if (nodeName === "") {
    if (sub === "log") return undefined;
    throw badRequest(`pod ${name} does not have a host assigned`);
  }
  const kubelet = await nodeLocation(scope, nodeName);
  const out = new URLSearchParams();
  let route: string;
  if (sub === "log") {
    route = `/containerLogs/${enc(ns)}/${enc(name)}/${enc(container)}`;
    for (const k of [
      "follow",
      "previous",
      "timestamps",
      "tailLines",
      "limitBytes",
      "sinceSeconds",
      "sinceTime",
    ]) {
      const v = q.get(k);
      if (v !== null) out.set(k, v);
    }
  } else if (sub === "exec" || sub === "attach") {
    route = `/${sub}/${enc(ns)}/${enc(name)}/${enc(container)}`;
    for (const c of q.getAll("command")) out.append("command", c);
    for (const k of ["stdin", "stdout", "stderr", "tty"]) {
      const v = q.get(k);
      if (v !== null) out.set(k, v);
    }
  } else if (sub === "portforward") {
    route = `/portForward/${enc(ns)}/${enc(name)}`;
    // PodPortForwardOptions.ports become the kubelet's `port` parameters.
    for (const p of q.getAll("ports").flatMap((s) => s.split(","))) out.append("port", p);
  } else throw methodNotAllowed(`subresource ${sub} is not served`);
  const query = out.toString();
  return { kubelet, path: query === "" ? route : `${route}?${query}` };
}

/** nodes/{name}/proxy/{path}: the kubelet's own path, with the request's query. */
export async function nodeProxyLocation(
  scope: RequestScope,
  path: ResourcePath,
  url: string,
): Promise<Location> {
  const name = path.name as string;
  // Everything after /proxy in the request's path, as sent (kube keeps it escaped).
  const rawPath = url.split("?")[0] as string;
  const marker = `/nodes/${enc(name)}/proxy`;
  const at = rawPath.indexOf(marker);
  const rest = at < 0 ? "/" : rawPath.slice(at + marker.length) || "/";
  const queryAt = url.indexOf("?");
  const kubelet = await nodeLocation(scope, name);
  return {
    kubelet,
    path: `${rest.startsWith("/") ? rest : `/${rest}`}${queryAt < 0 ? "" : url.slice(queryAt)}`,
  };
}

/** The subresources proxied to a kubelet. */
export function isKubeletSubresource(path: ResourcePath | undefined): boolean {
  if (path === undefined || path.name === undefined) return false;
  const { kind, subresource: sub } = path;
  if (kind.group !== "") return false;
  if (kind.kind === "Pod")
    return sub === "log" || sub === "exec" || sub === "attach" || sub === "portforward";
  return kind.kind === "Node" && sub === "proxy";
}
