/**
 * OpenAPI v3 documents generated from the kinds' schemas, in the shape kube-apiserver serves at
 * /openapi/v3/<api|apis/group>/<version>: component schemas tagged with
 * x-kubernetes-group-version-kind (kubectl explain finds kinds by it), patch merge keys and
 * strategies (kubectl apply computes strategic merge patches from them), and one path item per
 * resource whose PATCH declares the fieldValidation parameter (then kubectl apply/create send
 * ?fieldValidation=Strict and leave validation to the server).
 */
import { apiVersionOf, type KindDef } from "./kind.js";
import type { GroupVersion } from "./registry.js";
import type { Schema } from "./schema.js";

type Json = Record<string, unknown>;

export function toOpenApi(s: Schema): Json {
  const d = s.description === undefined ? {} : { description: s.description };
  switch (s.type) {
    case "string":
      return {
        ...d,
        type: "string",
        ...(s.format ? { format: s.format === "quantity" ? undefined : s.format } : {}),
        ...(s.enum ? { enum: s.enum } : {}),
      };
    case "integer":
      return { ...d, type: "integer", format: s.format ?? "int64" };
    case "number":
      return { ...d, type: "number", format: "double" };
    case "boolean":
      return { ...d, type: "boolean" };
    case "int-or-string":
      return { ...d, "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }] };
    case "any":
      return { ...d, type: "object", "x-kubernetes-preserve-unknown-fields": true };
    case "map":
      return { ...d, type: "object", additionalProperties: toOpenApi(s.values) };
    case "array": {
      const out: Json = { ...d, type: "array", items: toOpenApi(s.items) };
      if (s.patchMergeKey) out["x-kubernetes-patch-merge-key"] = s.patchMergeKey;
      if (s.patchStrategy) out["x-kubernetes-patch-strategy"] = s.patchStrategy;
      return out;
    }
    case "object": {
      const properties: Json = {};
      for (const [k, v] of Object.entries(s.properties)) properties[k] = toOpenApi(v);
      return { ...d, type: "object", properties, ...(s.required?.length ? { required: s.required } : {}) };
    }
  }
}

/** io.k8s.api.<group short>.<version>.<Kind>, as upstream names components. */
export function componentName(k: KindDef): string {
  const g = k.group === "" ? "core" : k.group.replace(/\.k8s\.io$/, "").replace(/\./g, "_");
  return `io.k8s.api.${g}.${k.version}.${k.kind}`;
}

const gvk = (k: KindDef) => [{ group: k.group, version: k.version, kind: k.kind }];

const param = (name: string, description: string, where = "query"): Json => ({
  name,
  in: where,
  description,
  schema: { type: "string", uniqueItems: true },
});

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function operation(k: KindDef, action: string, verb: string, extra: Json[] = []): Json {
  return {
    description: `${action} the specified ${k.kind}`,
    operationId: `${verb}${k.kind}`,
    parameters: extra,
    responses: {
      "200": { description: "OK", content: { "application/json": { schema: ref(componentName(k)) } } },
    },
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": gvk(k)[0],
  };
}

function paths(k: KindDef, root: string): Json {
  const ns = k.namespaced ? "/namespaces/{namespace}" : "";
  const collection = `${root}${ns}/${k.resource}`;
  const item = `${collection}/{name}`;
  const write = [
    param("dryRun", "When present, modifications are not persisted."),
    param("fieldManager", "A name associated with the actor making these changes."),
    param("fieldValidation", "How the server handles unknown or duplicate fields: Ignore, Warn or Strict."),
  ];
  const out: Json = {
    [collection]: {
      get: operation(k, "list", "list"),
      post: operation(k, "post", "create", write),
      // Namespaces have no DELETE on the collection (kube's namespace storage has no DeleteCollection).
      ...(k.group === "" && k.resource === "namespaces"
        ? {}
        : { delete: operation(k, "deletecollection", "deletecollection") }),
    },
    [item]: {
      get: operation(k, "get", "read"),
      put: operation(k, "put", "replace", write),
      patch: operation(k, "patch", "patch", [...write, param("force", "Force apply requests.")]),
      delete: operation(k, "delete", "delete"),
    },
  };
  if (k.hasStatus)
    out[`${item}/status`] = {
      get: operation(k, "get", "readStatus"),
      put: operation(k, "put", "replaceStatus", write),
      patch: operation(k, "patch", "patchStatus", write),
    };
  if (k.subresources.includes("approval"))
    out[`${item}/approval`] = {
      get: operation(k, "get", "readApproval"),
      put: operation(k, "put", "replaceApproval", write),
      patch: operation(k, "patch", "patchApproval", write),
    };
  return out;
}

/** The /openapi/v3/<prefix> document of one group-version. */
export function openApiDocument(gv: GroupVersion, gitVersion: string): Json {
  const root = gv.group === "" ? `/api/${gv.version}` : `/apis/${gv.group}/${gv.version}`;
  const schemas: Json = {};
  let allPaths: Json = {};
  for (const k of gv.kinds) {
    schemas[componentName(k)] = { ...toOpenApi(k.schema), "x-kubernetes-group-version-kind": gvk(k) };
    allPaths = { ...allPaths, ...paths(k, root) };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: gitVersion },
    paths: allPaths,
    components: { schemas },
  };
}

/** The index at /openapi/v3: one entry per group-version, with a content hash for caching. */
export function openApiIndex(gvs: GroupVersion[], hashOf: (gv: GroupVersion) => string): Json {
  const paths: Json = {};
  for (const gv of gvs) {
    const p = gv.group === "" ? `api/${gv.version}` : `apis/${gv.group}/${gv.version}`;
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hashOf(gv)}` };
  }
  return { paths };
}

export { apiVersionOf };
