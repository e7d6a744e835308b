/** Loosely typed JSON objects, as kinds read their own (not yet validated) fields. */
export type Json = Record<string, unknown>;

/** `v` as an object, or an empty one when it is absent or not an object. */
export const asObj = (v: unknown): Json => (typeof v === "object" && v !== null ? (v as Json) : {});

/** `v` as a list of objects, or an empty one. */
export const asList = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

/** A value as text without calling into it: strings as they are, numbers and booleans printed, else "". */
export const text = (v: unknown): string =>
  typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : "";
