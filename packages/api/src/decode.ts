/**
 * Strict decoding against a kind's schema, as kube-apiserver's decoder with fieldValidation:
 * unknown fields are reported as `unknown field "spec.foo"` (Strict: 400; Warn: a warning header;
 * Ignore: dropped silently), and values of the wrong JSON type are errors in every mode (the Go
 * decoder cannot put a string into an int32).
 */
import type { Schema } from "./schema.js";

export interface DecodeProblems {
  /** Paths of fields the schema does not know, as kube-apiserver prints them. */
  unknown: string[];
  /** Values of the wrong type: `json: cannot unmarshal string into Go value of type int32`. */
  typeErrors: string[];
}

const join = (path: string, key: string) => (path === "" ? key : `${path}.${key}`);

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v === "object" ? "object" : typeof v;
}

/** Walks `value` along `schema`; removes unknown fields when `drop` is set (fieldValidation=Ignore/Warn). */
export function checkFields(value: unknown, schema: Schema, drop = false): DecodeProblems {
  const out: DecodeProblems = { unknown: [], typeErrors: [] };
  walk(value, schema, "", out, drop);
  return out;
}

function walk(v: unknown, s: Schema, path: string, out: DecodeProblems, drop: boolean): void {
  if (v === null || v === undefined) return; // null means "unset" for every Kubernetes field
  const bad = (want: string): void => {
    out.typeErrors.push(
      `json: cannot unmarshal ${typeName(v)} into Go value of type ${want} (field ${path})`,
    );
  };
  switch (s.type) {
    case "any":
      return;
    case "string":
      if (typeof v !== "string") bad("string");
      return;
    case "integer":
      if (typeof v !== "number" || !Number.isInteger(v)) bad(s.format ?? "int64");
      return;
    case "number":
      if (typeof v !== "number") bad("float64");
      return;
    case "boolean":
      if (typeof v !== "boolean") bad("bool");
      return;
    case "int-or-string":
      if (typeof v !== "string" && !(typeof v === "number" && Number.isInteger(v))) bad("intstr.IntOrString");
      return;
    case "array":
      if (!Array.isArray(v)) {
        bad("array");
        return;
      }
      v.forEach((item, i) => {
        walk(item, s.items, `${path}[${i}]`, out, drop);
      });
      return;
    case "map":
      if (typeof v !== "object" || Array.isArray(v)) {
        bad("map");
        return;
      }
      for (const [k, item] of Object.entries(v as Record<string, unknown>))
        walk(item, s.values, join(path, k), out, drop);
      return;
    case "object": {
      if (typeof v !== "object" || Array.isArray(v)) {
        bad("struct");
        return;
      }
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        const sub = s.properties[k];
        if (sub === undefined) {
          out.unknown.push(join(path, k));
          if (drop) delete o[k];
        } else walk(o[k], sub, join(path, k), out, drop);
      }
      return;
    }
  }
}
