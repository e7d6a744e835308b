/**
 * A tiny descriptor DSL for the subset of the Kubernetes `generated.proto` schemas we decode.
 *
 *   msg("core.v1.ConfigMap", { metadata: [1, ObjectMeta], data: [2, map("string")], immutable: [4, "bool", "ptr"] })
 *
 * Field names are the JSON names; numbers are the upstream proto field numbers. Flags:
 * - "ptr": the Go field is a pointer, so a zero value present on the wire is kept (not omitted);
 * - "inline": the Go field is embedded with `json:",inline"`, so its keys merge into the parent.
 */

export type ScalarKind = "string" | "int32" | "int64" | "bool" | "bytes";
/** metav1.Time, intstr.IntOrString, resource.Quantity, runtime.RawExtension / metav1.FieldsV1. */
export type SpecialKind = "time" | "intstr" | "quantity" | "rawjson";
export type ElemType = ScalarKind | SpecialKind | MessageDesc;

export interface MapType {
  readonly kind: "map";
  readonly value: ScalarKind | SpecialKind | MessageDesc;
}

export interface ListType {
  readonly kind: "list";
  readonly of: ElemType;
}

export type FieldType = ElemType | MapType | ListType;
export type FieldFlag = "ptr" | "inline";

export interface FieldDesc {
  readonly json: string;
  readonly no: number;
  readonly type: FieldType;
  readonly ptr: boolean;
  readonly inline: boolean;
}

export interface MessageDesc {
  readonly kind: "message";
  readonly name: string;
  readonly byNo: ReadonlyMap<number, FieldDesc>;
  /** When true, fields missing from the descriptor are skipped instead of reported. */
  readonly skipUnknown: boolean;
}

export type FieldDef = readonly [number, FieldType, ...FieldFlag[]];

export function msg(
  name: string,
  fields: Record<string, FieldDef>,
  opts: { skipUnknown?: boolean } = {},
): MessageDesc {
  const byNo = new Map<number, FieldDesc>();
  for (const [json, [no, type, ...flags]] of Object.entries(fields)) {
    if (!Number.isInteger(no) || no < 1) throw new Error(`${name}.${json}: bad field number ${no}`);
    const prev = byNo.get(no);
    if (prev) throw new Error(`${name}: field number ${no} used by both ${prev.json} and ${json}`);
    const inline = flags.includes("inline");
    if (inline && !isMessage(type)) throw new Error(`${name}.${json}: only message fields can be inline`);
    byNo.set(no, { json, no, type, ptr: flags.includes("ptr"), inline });
  }
  return { kind: "message", name, byNo, skipUnknown: opts.skipUnknown === true };
}

/** A `map<string, V>` field (proto maps always have string keys in the Kubernetes APIs). */
export function map(value: MapType["value"]): MapType {
  return { kind: "map", value };
}

/** A `repeated` field. */
export function list(of: ElemType): ListType {
  return { kind: "list", of };
}

export function isMessage(t: FieldType): t is MessageDesc {
  return typeof t === "object" && t.kind === "message";
}
