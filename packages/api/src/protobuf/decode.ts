/** Descriptor-driven decoding of Kubernetes protobuf request bodies into their JSON-equivalent objects. */

import { metav1Time } from "../meta.js";
import { Deployment, Job } from "./descriptors-apps.js";
import * as auth from "./descriptors-auth.js";
import { ConfigMap, Namespace, Pod, Secret, Service, ServiceAccount } from "./descriptors-core.js";
import {
  CertificateSigningRequest,
  HorizontalPodAutoscaler,
  HorizontalPodAutoscalerV1,
  PriorityClass,
} from "./descriptors-kinds.js";
import { CronJob, PodDisruptionBudget, ResourceQuota } from "./descriptors-more.js";
import { type ElemType, type FieldDesc, isMessage, type MessageDesc } from "./dsl.js";
import { decodeUtf8, ProtobufDecodeError, Reader, WireType, wireTypeNames } from "./wire.js";

export const PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf";
/** "k8s\0": the prefix of every Kubernetes protobuf-encoded object. */
export const PROTOBUF_MAGIC: readonly number[] = [0x6b, 0x38, 0x73, 0x00];

export interface DecodedObject {
  apiVersion: string;
  kind: string;
  object: Record<string, unknown>;
}

const kinds = new Map<string, MessageDesc>([
  ["v1 Namespace", Namespace],
  ["v1 ConfigMap", ConfigMap],
  ["v1 Secret", Secret],
  ["v1 ServiceAccount", ServiceAccount],
  ["v1 Service", Service],
  ["v1 Pod", Pod],
  ["apps/v1 Deployment", Deployment],
  ["batch/v1 Job", Job],
  ["v1 ResourceQuota", ResourceQuota],
  ["policy/v1 PodDisruptionBudget", PodDisruptionBudget],
  ["batch/v1 CronJob", CronJob],
  ["scheduling.k8s.io/v1 PriorityClass", PriorityClass],
  ["certificates.k8s.io/v1 CertificateSigningRequest", CertificateSigningRequest],
  ["autoscaling/v2 HorizontalPodAutoscaler", HorizontalPodAutoscaler],
  ["autoscaling/v1 HorizontalPodAutoscaler", HorizontalPodAutoscalerV1],
  ["authentication.k8s.io/v1 TokenRequest", auth.TokenRequest],
  ["authentication.k8s.io/v1 TokenReview", auth.TokenReview],
  ["authentication.k8s.io/v1 SelfSubjectReview", auth.SelfSubjectReview],
  ["authorization.k8s.io/v1 SelfSubjectAccessReview", auth.SelfSubjectAccessReview],
  ["authorization.k8s.io/v1 SubjectAccessReview", auth.SubjectAccessReview],
  ["authorization.k8s.io/v1 SelfSubjectRulesReview", auth.SelfSubjectRulesReview],
]);

/** The `apiVersion kind` pairs that have a protobuf schema, e.g. "apps/v1 Deployment". */
export function protobufKinds(): string[] {
  return [...kinds.keys()];
}

export function hasProtobufSchema(apiVersion: string, kind: string): boolean {
  return kinds.has(`${apiVersion} ${kind}`);
}

/** Context shared by one decode: unknown fields are collected and reported together at the end. */
interface Ctx {
  unknown: string[];
}

function wireName(wt: number): string {
  return wireTypeNames[wt] ?? `#${wt}`;
}

function expectWire(r: Reader, desc: MessageDesc, f: FieldDesc, got: number, want: number): void {
  if (got !== want) {
    r.fail(
      `field ${f.json} (${f.no}) of ${desc.name} has wire type ${wireName(got)}, expected ${wireName(want)}`,
    );
  }
}

function isVarintKind(t: ElemType): boolean {
  return t === "int32" || t === "int64" || t === "bool";
}

function wireTypeOf(t: ElemType): number {
  return isVarintKind(t) ? WireType.varint : WireType.lengthDelimited;
}

function isScalar(t: ElemType): boolean {
  return t === "string" || t === "bytes" || isVarintKind(t);
}

/** Zero values of non-pointer scalars are dropped, as Go's `omitempty` would (structs are never dropped). */
function isZero(v: unknown): boolean {
  return v === "" || v === 0 || v === false;
}

/** A tiny fixed-shape message decoder for the special types (all fields are small scalars). */
function decodeFixed(
  r: Reader,
  name: string,
  path: string,
  ctx: Ctx,
  fields: Record<number, ElemType>,
): Map<number, unknown> {
  const out = new Map<number, unknown>();
  while (!r.done) {
    const { fieldNo, wireType } = r.tag();
    const t = fields[fieldNo];
    if (t === undefined) {
      ctx.unknown.push(`${name} field ${fieldNo} (${wireName(wireType)}) at ${path || "<root>"}`);
      r.skip(wireType);
      continue;
    }
    if (wireType !== wireTypeOf(t)) {
      r.fail(
        `field ${fieldNo} of ${name} has wire type ${wireName(wireType)}, expected ${wireName(wireTypeOf(t))}`,
      );
    }
    out.set(fieldNo, decodeScalar(r, t, name));
  }
  return out;
}

function decodeScalar(r: Reader, t: ElemType, what: string): unknown {
  switch (t) {
    case "string":
      return decodeUtf8(r.bytes(), what);
    case "bytes":
      return Buffer.from(r.bytes()).toString("base64");
    case "int32":
      return r.int32();
    case "int64":
      return r.int64();
    case "bool":
      return r.bool();
    default:
      throw new Error(`decodeScalar: not a scalar: ${String(t)}`);
  }
}

/** Go's zero time.Time, as Unix seconds (0001-01-01T00:00:00Z). */
const GO_ZERO_TIME_SECONDS = -62135596800;

function decodeTime(r: Reader, path: string, ctx: Ctx): string | undefined {
  const f = decodeFixed(r, "meta.v1.Time", path, ctx, { 1: "int64", 2: "int32" });
  const seconds = (f.get(1) as number | undefined) ?? 0;
  const nanos = (f.get(2) as number | undefined) ?? 0;
  // Like metav1.Time.Unmarshal: an empty message or 0/0 is the zero time, which JSON renders as null.
  if ((seconds === 0 && nanos === 0) || (seconds === GO_ZERO_TIME_SECONDS && nanos === 0)) return undefined;
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) r.fail(`meta.v1.Time seconds ${seconds} is out of range`);
  // metav1.Time serializes to RFC 3339 at second precision (nanos are dropped, as in Go).
  return metav1Time(d);
}

function decodeIntOrString(r: Reader, path: string, ctx: Ctx): number | string {
  const f = decodeFixed(r, "intstr.IntOrString", path, ctx, { 1: "int64", 2: "int32", 3: "string" });
  const type = (f.get(1) as number | undefined) ?? 0;
  if (type === 0) return (f.get(2) as number | undefined) ?? 0;
  if (type === 1) return (f.get(3) as string | undefined) ?? "";
  return r.fail(`intstr.IntOrString at ${path} has unknown type ${type}`);
}

function decodeQuantity(r: Reader, path: string, ctx: Ctx): string {
  const f = decodeFixed(r, "resource.Quantity", path, ctx, { 1: "string" });
  const s = f.get(1) as string | undefined;
  // An empty message is the zero Quantity, which JSON renders as "0".
  return s === undefined ? "0" : s;
}

function decodeRawJson(r: Reader, path: string, ctx: Ctx): unknown {
  const f = decodeFixed(r, "runtime.RawExtension", path, ctx, { 1: "bytes" });
  const b64 = f.get(1) as string | undefined;
  if (b64 === undefined || b64 === "") return undefined;
  const text = decodeUtf8(Buffer.from(b64, "base64"), `raw JSON at ${path}`);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ProtobufDecodeError(`raw JSON at ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Decodes one value of a non-repeated, non-map type; the wire type must already be checked. */
function decodeValue(
  r: Reader,
  t: ElemType,
  path: string,
  ctx: Ctx,
  into?: Record<string, unknown>,
): unknown {
  if (isMessage(t)) return decodeMessage(r.sub(`${t.name} at ${path}`), t, path, ctx, into);
  switch (t) {
    case "time":
      return decodeTime(r.sub(`meta.v1.Time at ${path}`), path, ctx);
    case "intstr":
      return decodeIntOrString(r.sub(`intstr.IntOrString at ${path}`), path, ctx);
    case "quantity":
      return decodeQuantity(r.sub(`resource.Quantity at ${path}`), path, ctx);
    case "rawjson":
      return decodeRawJson(r.sub(`raw JSON at ${path}`), path, ctx);
    default:
      return decodeScalar(r, t, path);
  }
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function decodeField(
  r: Reader,
  desc: MessageDesc,
  f: FieldDesc,
  wt: number,
  path: string,
  ctx: Ctx,
  target: Record<string, unknown>,
): void {
  const t = f.type;
  const fpath = path ? `${path}.${f.json}` : f.json;
  if (typeof t === "object" && t.kind === "list") {
    const arr = (target[f.json] as unknown[] | undefined) ?? [];
    target[f.json] = arr;
    if (isVarintKind(t.of) && wt === WireType.lengthDelimited) {
      const packed = r.sub(`packed ${f.json} of ${desc.name} at ${path || "<root>"}`);
      while (!packed.done) arr.push(decodeScalar(packed, t.of, fpath));
      return;
    }
    expectWire(r, desc, f, wt, wireTypeOf(t.of));
    const v = decodeValue(r, t.of, `${fpath}[${arr.length}]`, ctx);
    arr.push(v === undefined ? null : v);
    return;
  }
  if (typeof t === "object" && t.kind === "map") {
    expectWire(r, desc, f, wt, WireType.lengthDelimited);
    const entry = r.sub(`map entry ${f.json} of ${desc.name} at ${path || "<root>"}`);
    let key = "";
    let value: unknown;
    while (!entry.done) {
      const tag = entry.tag();
      if (tag.fieldNo === 1) {
        if (tag.wireType !== WireType.lengthDelimited)
          entry.fail(`map key has wire type ${wireName(tag.wireType)}`);
        key = decodeUtf8(entry.bytes(), fpath);
      } else if (tag.fieldNo === 2) {
        if (tag.wireType !== wireTypeOf(t.value))
          entry.fail(`map value has wire type ${wireName(tag.wireType)}`);
        value = decodeValue(entry, t.value, `${fpath}[${JSON.stringify(key)}]`, ctx);
      } else {
        ctx.unknown.push(`${desc.name}.${f.json} map entry field ${tag.fieldNo} at ${fpath}`);
        entry.skip(tag.wireType);
      }
    }
    if (value === undefined) value = zeroOf(t.value);
    const obj = asObject(target[f.json]) ?? {};
    obj[key] = value;
    target[f.json] = obj;
    return;
  }
  expectWire(r, desc, f, wt, wireTypeOf(t));
  if (f.inline && isMessage(t)) {
    decodeValue(r, t, path, ctx, target);
    return;
  }
  // A repeated occurrence of a singular message merges into the earlier one (proto semantics).
  const v = decodeValue(r, t, fpath, ctx, isMessage(t) ? asObject(target[f.json]) : undefined);
  if (v === undefined || (!f.ptr && typeof t === "string" && isScalar(t) && isZero(v))) delete target[f.json];
  else target[f.json] = v;
}

function zeroOf(t: ElemType): unknown {
  if (isMessage(t)) return {};
  switch (t) {
    case "string":
    case "bytes":
      return "";
    case "int32":
    case "int64":
      return 0;
    case "bool":
      return false;
    case "quantity":
      return "0";
    case "intstr":
      return 0;
    default:
      return null;
  }
}

/** Decodes the fields of `desc` from `r` into `into` (or a new object). */
export function decodeMessage(
  r: Reader,
  desc: MessageDesc,
  path: string,
  ctx: Ctx,
  into: Record<string, unknown> = {},
): Record<string, unknown> {
  while (!r.done) {
    const { fieldNo, wireType } = r.tag();
    const f = desc.byNo.get(fieldNo);
    if (f === undefined) {
      if (!desc.skipUnknown) {
        ctx.unknown.push(`${desc.name} field ${fieldNo} (${wireName(wireType)}) at ${path || "<root>"}`);
      }
      r.skip(wireType);
      continue;
    }
    decodeField(r, desc, f, wireType, path, ctx, into);
  }
  return into;
}

/** Decodes a bare protobuf-encoded object (no envelope) of the given kind. */
export function decodeProtobufObject(apiVersion: string, kind: string, raw: Uint8Array): DecodedObject {
  const desc = kinds.get(`${apiVersion} ${kind}`);
  if (desc === undefined) throw new ProtobufDecodeError(`no protobuf schema for ${apiVersion} ${kind}`);
  const ctx: Ctx = { unknown: [] };
  const fields = decodeMessage(new Reader(raw, desc.name), desc, "", ctx);
  if (ctx.unknown.length > 0) {
    throw new ProtobufDecodeError(
      `${apiVersion} ${kind}: protobuf fields not in Skiff's schema (refusing to drop data): ${ctx.unknown.join("; ")}`,
    );
  }
  return { apiVersion, kind, object: { apiVersion, kind, ...fields } };
}

/**
 * Decodes a `application/vnd.kubernetes.protobuf` body: "k8s\0" + runtime.Unknown{typeMeta, raw, ...}.
 * Throws ProtobufDecodeError on malformed input, unknown kinds, and fields missing from the schema.
 */
export function decodeKubernetesProtobuf(body: Uint8Array): DecodedObject {
  if (body.length < PROTOBUF_MAGIC.length || PROTOBUF_MAGIC.some((b, i) => body[i] !== b)) {
    const head = Buffer.from(body.subarray(0, 4)).toString("hex") || "<empty>";
    throw new ProtobufDecodeError(
      `not a Kubernetes protobuf body: expected prefix 6b387300 ("k8s\\0"), got ${head}`,
    );
  }
  const r = new Reader(body, "runtime.Unknown", PROTOBUF_MAGIC.length);
  let apiVersion = "";
  let kind = "";
  let raw: Uint8Array = new Uint8Array(0);
  let contentEncoding = "";
  let contentType = "";
  while (!r.done) {
    const { fieldNo, wireType } = r.tag();
    if (fieldNo > 4) r.fail(`unknown field ${fieldNo} in runtime.Unknown`);
    if (wireType !== WireType.lengthDelimited) {
      r.fail(
        `field ${fieldNo} of runtime.Unknown has wire type ${wireName(wireType)}, expected length-delimited`,
      );
    }
    if (fieldNo === 1) {
      const tm = r.sub("runtime.TypeMeta");
      while (!tm.done) {
        const tag = tm.tag();
        if (tag.fieldNo > 2) tm.fail(`unknown field ${tag.fieldNo} in runtime.TypeMeta`);
        if (tag.wireType !== WireType.lengthDelimited)
          tm.fail(`field ${tag.fieldNo} has wire type ${wireName(tag.wireType)}`);
        const s = decodeUtf8(tm.bytes(), "runtime.TypeMeta");
        if (tag.fieldNo === 1) apiVersion = s;
        else kind = s;
      }
    } else if (fieldNo === 2) raw = r.bytes();
    else if (fieldNo === 3) contentEncoding = decodeUtf8(r.bytes(), "runtime.Unknown.contentEncoding");
    else contentType = decodeUtf8(r.bytes(), "runtime.Unknown.contentType");
  }
  if (contentEncoding !== "")
    throw new ProtobufDecodeError(`unsupported contentEncoding ${JSON.stringify(contentEncoding)}`);
  if (contentType !== "" && contentType !== PROTOBUF_CONTENT_TYPE) {
    throw new ProtobufDecodeError(`unsupported runtime.Unknown contentType ${JSON.stringify(contentType)}`);
  }
  if (kind === "" || apiVersion === "") {
    throw new ProtobufDecodeError(
      `runtime.Unknown is missing typeMeta (apiVersion ${JSON.stringify(apiVersion)}, kind ${JSON.stringify(kind)})`,
    );
  }
  return decodeProtobufObject(apiVersion, kind, raw);
}
