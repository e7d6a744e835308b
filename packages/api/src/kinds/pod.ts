/**
 * core/v1 Pod: defaults and validation of the pod spec (shared with every template), and the
 * Pod kind with kube's printer columns (podtable.ts).
 */
import type { KindDef } from "../kind.js";
import { objectSchema } from "../meta.js";
import {
  dns1123Label,
  dns1123Subdomain,
  type FieldError,
  invalid,
  notSupported,
  required,
} from "../validation.js";
import { asObj, type Json } from "./json.js";
import { podSpecSchema, podStatusSchema } from "./podspec.js";
import { podTable } from "./podtable.js";
import { validatePodUpdate } from "./podupdate.js";

/** imagePullPolicy defaults to Always for `:latest` or untagged images, IfNotPresent otherwise. */
export function defaultPullPolicy(image: string): "Always" | "IfNotPresent" {
  const last = image.split("/").at(-1) ?? "";
  if (last.includes("@")) return "IfNotPresent";
  const tag = last.includes(":") ? last.slice(last.lastIndexOf(":") + 1) : "";
  return tag === "" || tag === "latest" ? "Always" : "IfNotPresent";
}

function defaultContainer(c: Json): void {
  if (typeof c.image === "string") c.imagePullPolicy ??= defaultPullPolicy(c.image);
  c.terminationMessagePath ??= "/dev/termination-log";
  c.terminationMessagePolicy ??= "File";
  c.resources ??= {};
  for (const p of (c.ports as Json[] | undefined) ?? []) p.protocol ??= "TCP";
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
    if (probe === undefined) continue;
    const p = asObj(probe);
    p.timeoutSeconds ??= 1;
    p.periodSeconds ??= 10;
    p.successThreshold ??= 1;
    p.failureThreshold ??= 3;
    const get = p.httpGet as Json | undefined;
    if (get !== undefined) {
      get.path ??= "/";
      get.scheme ??= "HTTP";
    }
  }
}

/** SetDefaults_PodSpec (the parts kubectl shows): kube-apiserver's defaults. */
export function defaultPodSpec(spec: Json): void {
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  for (const c of [...((spec.initContainers as Json[]) ?? []), ...((spec.containers as Json[]) ?? [])])
    defaultContainer(c);
  if (spec.serviceAccount !== undefined && spec.serviceAccountName === undefined)
    spec.serviceAccountName = spec.serviceAccount;
}

export function validatePodSpec(spec: Json | undefined, path: string): FieldError[] {
  if (spec === undefined) return [required(path)];
  const errs: FieldError[] = [];
  const containers = (spec.containers as Json[] | undefined) ?? [];
  if (containers.length === 0) errs.push(required(`${path}.containers`));
  const names = new Set<string>();
  for (const [kind, list] of [
    ["initContainers", (spec.initContainers as Json[] | undefined) ?? []],
    ["containers", containers],
  ] as const) {
    list.forEach((c, i) => {
      const at = `${path}.${kind}[${i}]`;
      const name = c.name;
      if (typeof name !== "string" || name === "") errs.push(required(`${at}.name`));
      else {
        for (const m of dns1123Label(name)) errs.push(invalid(`${at}.name`, name, m));
        if (names.has(name))
          errs.push({ type: "FieldValueDuplicate", field: `${at}.name`, detail: "", value: name });
        names.add(name);
      }
      if (typeof c.image !== "string" || c.image.trim() === "") errs.push(required(`${at}.image`));
      ((c.ports as Json[] | undefined) ?? []).forEach((p, j) => {
        const port = p.containerPort;
        if (typeof port !== "number" || port < 1 || port > 65535)
          errs.push(
            invalid(`${at}.ports[${j}].containerPort`, port, "must be between 1 and 65535, inclusive"),
          );
      });
    });
  }
  const rp = spec.restartPolicy;
  if (rp !== undefined && !["Always", "OnFailure", "Never"].includes(rp as string))
    errs.push(notSupported(`${path}.restartPolicy`, rp, ["Always", "OnFailure", "Never"]));
  return errs;
}

/** GetPodQOS: Guaranteed when every container's cpu and memory limits equal its requests. */
export function qosClass(spec: Json): "Guaranteed" | "Burstable" | "BestEffort" {
  const containers = [...((spec.initContainers as Json[]) ?? []), ...((spec.containers as Json[]) ?? [])];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const r = asObj(c.resources);
    const requests = asObj(r.requests);
    const limits = asObj(r.limits);
    if (Object.keys(requests).length > 0 || Object.keys(limits).length > 0) any = true;
    for (const res of ["cpu", "memory"]) {
      const limit = limits[res];
      const request = requests[res] ?? limit;
      if (limit === undefined || String(request) !== String(limit)) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

export const podKind: KindDef = {
  group: "",
  version: "v1",
  kind: "Pod",
  resource: "pods",
  singular: "pod",
  namespaced: true,
  shortNames: ["po"],
  categories: ["all"],
  description:
    "Pod is a collection of containers that can run on a host. This resource is created by clients and scheduled onto hosts.",
  schema: objectSchema("Pod is a collection of containers that can run on a host.", {
    spec: podSpecSchema,
    status: podStatusSchema,
  }),
  nameRule: dns1123Subdomain,
  subresources: ["status", "binding", "eviction", "log", "exec", "attach", "portforward"],
  hasStatus: true,
  defaults(pod) {
    pod.spec = asObj(pod.spec);
    defaultPodSpec(pod.spec as Json);
    const status = asObj(pod.status);
    status.phase ??= "Pending";
    status.qosClass ??= qosClass(pod.spec as Json);
    pod.status = status;
  },
  validate: (pod, old) => [
    ...validatePodSpec(pod.spec as Json | undefined, "spec"),
    ...(old === undefined ? [] : validatePodUpdate(pod.spec, old.spec)),
  ],
  table: podTable,
};
