/**
 * The schema language every kind is written in: the one source from which strict decoding
 * (unknown fields), OpenAPI v3 documents, strategic-merge-patch metadata and `kubectl explain`
 * text are derived. Deliberately small: the Kubernetes types need objects, maps, lists, scalars,
 * int-or-string, quantities and timestamps.
 */

interface Base {
  readonly description?: string;
}

export interface StringSchema extends Base {
  readonly type: "string";
  readonly enum?: readonly string[];
  /** date-time: RFC 3339; byte: base64; quantity: a resource.Quantity. */
  readonly format?: "date-time" | "byte" | "quantity";
}
export interface IntegerSchema extends Base {
  readonly type: "integer";
  readonly format?: "int32" | "int64";
}
export interface NumberSchema extends Base {
  readonly type: "number";
}
export interface BooleanSchema extends Base {
  readonly type: "boolean";
}
export interface IntOrStringSchema extends Base {
  readonly type: "int-or-string";
}
export interface ObjectSchema extends Base {
  readonly type: "object";
  readonly properties: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
}
export interface MapSchema extends Base {
  readonly type: "map";
  readonly values: Schema;
}
export interface ArraySchema extends Base {
  readonly type: "array";
  readonly items: Schema;
  /** Strategic merge patch: the key that identifies list elements, and the strategy. */
  readonly patchMergeKey?: string;
  readonly patchStrategy?: "merge" | "retainKeys" | "merge,retainKeys" | "replace";
  /**
   * Server-side apply (x-kubernetes-list-type): "map" (items keyed by `listMapKeys`), "set" (of
   * scalars) or "atomic". Unset: derived from the patch strategy (see managedfields/typeinfo.ts).
   */
  readonly listType?: "atomic" | "set" | "map";
  /** x-kubernetes-list-map-keys when they are more than the patch merge key (ports: containerPort, protocol). */
  readonly listMapKeys?: readonly string[];
  /** Defaults of list map keys an item may omit (kube: the key field's default, e.g. protocol TCP). */
  readonly listMapKeyDefaults?: Readonly<Record<string, string | number>>;
}
/** Free-form JSON (x-kubernetes-preserve-unknown-fields). */
export interface AnySchema extends Base {
  readonly type: "any";
}

export type Schema =
  | StringSchema
  | IntegerSchema
  | NumberSchema
  | BooleanSchema
  | IntOrStringSchema
  | ObjectSchema
  | MapSchema
  | ArraySchema
  | AnySchema;

// ---- builders: short, so kind files read like the Go types ----

export const str = (description?: string, extra: Partial<StringSchema> = {}): StringSchema => ({
  type: "string",
  description,
  ...extra,
});
export const enumOf = (values: readonly string[], description?: string): StringSchema => ({
  type: "string",
  enum: values,
  description,
});
export const time = (description?: string): StringSchema => ({
  type: "string",
  format: "date-time",
  description,
});
export const quantity = (description?: string): StringSchema => ({
  type: "string",
  format: "quantity",
  description,
});
export const int32 = (description?: string): IntegerSchema => ({
  type: "integer",
  format: "int32",
  description,
});
export const int64 = (description?: string): IntegerSchema => ({
  type: "integer",
  format: "int64",
  description,
});
export const bool = (description?: string): BooleanSchema => ({ type: "boolean", description });
export const intOrString = (description?: string): IntOrStringSchema => ({
  type: "int-or-string",
  description,
});
export const any = (description?: string): AnySchema => ({ type: "any", description });
export const mapOf = (values: Schema, description?: string): MapSchema => ({
  type: "map",
  values,
  description,
});
export const stringMap = (description?: string): MapSchema => mapOf(str(), description);
export const obj = (
  properties: Record<string, Schema>,
  description?: string,
  required?: readonly string[],
): ObjectSchema => ({ type: "object", properties, description, required });
export const list = (
  items: Schema,
  description?: string,
  patch: { mergeKey?: string; strategy?: ArraySchema["patchStrategy"] } = {},
): ArraySchema => ({
  type: "array",
  items,
  description,
  patchMergeKey: patch.mergeKey,
  patchStrategy: patch.strategy,
});
/** A list merged by `key` in strategic merge patches (containers by name, ports by containerPort...). */
export const mergeList = (items: Schema, key: string, description?: string): ArraySchema =>
  list(items, description, { mergeKey: key, strategy: "merge" });
export const strings = (description?: string): ArraySchema => list(str(), description);

/** The same list keyed, for server-side apply, by several fields (x-kubernetes-list-map-keys). */
export const withListMapKeys = (
  s: ArraySchema,
  keys: readonly string[],
  defaults?: Readonly<Record<string, string | number>>,
): ArraySchema => ({ ...s, listType: "map", listMapKeys: keys, listMapKeyDefaults: defaults });

/** The schema at a property path (array elements are stepped through), or undefined. */
export function schemaAt(root: Schema, path: readonly string[]): Schema | undefined {
  let s: Schema | undefined = root;
  for (const p of path) {
    while (s?.type === "array") s = s.items;
    if (s === undefined) return undefined;
    if (s.type === "object") s = s.properties[p];
    else if (s.type === "map") s = s.values;
    else if (s.type === "any") return s;
    else return undefined;
  }
  return s;
}
