/**
 * Request bodies (JSON, YAML, Kubernetes protobuf, and the three patch types) and response
 * negotiation (JSON, YAML, Table). Bodies arrive as raw bytes (fastify parses nothing), at most
 * 3 MiB, nested at most MAX_DEPTH deep, and any malformed body is a 400, never a crash.
 */
import { parse as parseYaml } from "yaml";
import { badRequest, notAcceptable, tooLarge, unsupportedMediaType } from "../status.js";

/** kube-apiserver's --max-request-body-bytes default; also the largest object a patch may produce. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/**
 * How deep a body may nest. kube's JSON decoder stops at 10000; JavaScript's recursive walks
 * (JSON.stringify among them) run out of stack well before that, so Skiff bounds it lower.
 */
export const MAX_DEPTH = 1000;

/** Whether `v` nests deeper than `max` objects and arrays (iteratively: any depth is safe here). */
export function nestedDeeperThan(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [cur, depth] = stack.pop() as [unknown, number];
    if (typeof cur !== "object" || cur === null) continue;
    if (depth + 1 > max) return true;
    for (const e of Array.isArray(cur) ? cur : Object.values(cur)) stack.push([e, depth + 1]);
  }
  return false;
}

/** 400 for a value nested too deeply (kube's decoder: "exceeded max depth"). */
export function checkDepth(v: unknown): void {
  if (nestedDeeperThan(v, MAX_DEPTH))
    throw badRequest(
      `the body of the request was in an unknown format: exceeded max depth of ${MAX_DEPTH} nested objects and arrays`,
    );
}

/** 413 for an object whose JSON would exceed the request size limit (a patch's result). */
export function checkObjectSize(v: unknown): void {
  if (Buffer.byteLength(JSON.stringify(v)) > MAX_BODY_BYTES) throw tooLarge();
}

export type PatchType = "json" | "merge" | "strategic" | "apply";

const mediaType = (contentType: string | undefined) =>
  (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";

export function patchTypeOf(contentType: string | undefined): PatchType {
  switch (mediaType(contentType)) {
    case "application/json-patch+json":
      return "json";
    case "application/merge-patch+json":
      return "merge";
    case "application/strategic-merge-patch+json":
      return "strategic";
    case "application/apply-patch+yaml":
      return "apply";
    default:
      throw unsupportedMediaType(contentType ?? "");
  }
}

export type ProtobufDecoder = (body: Uint8Array) => {
  apiVersion: string;
  kind: string;
  object: Record<string, unknown>;
};

let protobufDecoder: ProtobufDecoder | undefined;

/** Installed by the server at start (the decoder lives in @skiff/api). */
export function setProtobufDecoder(d: ProtobufDecoder): void {
  protobufDecoder = d;
}

/** Decodes an object body by its Content-Type. */
export function decodeBody(body: Buffer | undefined, contentType: string | undefined): unknown {
  const decoded = decodeRaw(body, contentType);
  checkDepth(decoded);
  return decoded;
}

function decodeRaw(body: Buffer | undefined, contentType: string | undefined): unknown {
  if (body === undefined || body.length === 0) throw badRequest("the request body is empty");
  const type = mediaType(contentType);
  if (type === "application/vnd.kubernetes.protobuf") {
    if (protobufDecoder === undefined) throw unsupportedMediaType(type);
    try {
      const { apiVersion, kind, object } = protobufDecoder(body);
      return { ...object, apiVersion, kind };
    } catch (e) {
      throw badRequest(`failed to decode protobuf body: ${(e as Error).message}`);
    }
  }
  if (type === "application/yaml" || type === "application/apply-patch+yaml") return parseYamlBody(body);
  if (type === "" || type === "application/json" || type.endsWith("+json")) return parseJson(body);
  throw unsupportedMediaType(type);
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw badRequest(`the body of the request was in an unknown format: ${(e as Error).message}`);
  }
}

function parseYamlBody(body: Buffer): unknown {
  try {
    return parseYaml(body.toString("utf8"), { maxAliasCount: 100 });
  } catch (e) {
    throw badRequest(`error converting YAML to JSON: ${(e as Error).message}`);
  }
}

export type MetadataTarget = "PartialObjectMetadata" | "PartialObjectMetadataList";

export interface Negotiated {
  /** Serialize as a meta.k8s.io/v1 Table. */
  table: boolean;
  yaml: boolean;
  /** Only the metadata, as meta.k8s.io/v1 PartialObjectMetadata(List) (the metadata client's `as=`). */
  metadata?: MetadataTarget;
}

const SERVED = new Set(["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]);

/**
 * kube's NegotiateOutputMediaType: the first Accept clause the server can serve wins. Clauses
 * with `as=` name a conversion: Table (JSON or YAML; kubectl get sends
 * `application/json;as=Table;v=v1;g=meta.k8s.io,application/json`) and PartialObjectMetadata or
 * PartialObjectMetadataList (the metadata client), all in meta.k8s.io v1 or v1beta1; a clause
 * asking for anything else is skipped, and when none is left the answer is 406. Protobuf is
 * accepted and answered as JSON (clients read the Content-Type).
 */
export function negotiate(accept: string | undefined): Negotiated {
  if (accept === undefined || accept.trim() === "") return { table: false, yaml: false };
  for (const clause of accept.split(",")) {
    const [type = "", ...rest] = clause.split(";").map((s) => s.trim());
    const mt = type.toLowerCase();
    const any = mt === "*/*" || mt === "application/*";
    if (!any && !SERVED.has(mt)) continue;
    const p = new Map(
      rest.map((kv) => {
        const at = kv.indexOf("=");
        return [kv.slice(0, at).trim(), kv.slice(at + 1).trim()] as const;
      }),
    );
    const yaml = mt === "application/yaml";
    const as = p.get("as");
    if (as === undefined) return { table: false, yaml };
    if (p.get("g") !== "meta.k8s.io" || (p.get("v") !== "v1" && p.get("v") !== "v1beta1")) continue;
    if (as === "Table" && mt !== "application/vnd.kubernetes.protobuf") return { table: true, yaml };
    if (as === "PartialObjectMetadata" || as === "PartialObjectMetadataList")
      return { table: false, yaml, metadata: as };
  }
  throw notAcceptable();
}
