import { PatchError, PatchLimitError } from "./errors.js";
import { clone, isObject, type JsonValue, jsonEqual, setKey } from "./json.js";

/** One RFC 6902 operation. `value` is required for add/replace/test, `from` for move/copy. */
export interface JsonPatchOperation {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  value?: JsonValue;
  from?: string;
}

/** Parses an RFC 6901 JSON pointer into unescaped reference tokens ("" is the whole document). */
export function parseJsonPointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/"))
    throw new PatchError(`jsonpatch: invalid JSON pointer: ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split("/")
    .map((tok) => {
      if (/~[^01]|~$/.test(tok)) {
        throw new PatchError(`jsonpatch: invalid escape in JSON pointer: ${JSON.stringify(pointer)}`);
      }
      return tok.replace(/~1/g, "/").replace(/~0/g, "~");
    });
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

function arrayIndex(tok: string, length: number, allowEnd: boolean): number | undefined {
  if (allowEnd && tok === "-") return length;
  if (!ARRAY_INDEX.test(tok)) return undefined;
  const i = Number(tok);
  return i < length || (allowEnd && i === length) ? i : undefined;
}

function child(container: JsonValue, tok: string): JsonValue | undefined {
  if (Array.isArray(container)) {
    const i = arrayIndex(tok, container.length, false);
    return i === undefined ? undefined : container[i];
  }
  if (isObject(container) && Object.hasOwn(container, tok)) return container[tok];
  return undefined;
}

function get(doc: JsonValue, tokens: readonly string[]): JsonValue | undefined {
  let cur: JsonValue | undefined = doc;
  for (const tok of tokens) {
    if (cur === undefined) return undefined;
    cur = child(cur, tok);
  }
  return cur;
}

function missing(op: string, pointer: string): PatchError {
  return new PatchError(
    `jsonpatch ${op} operation does not apply: doc is missing path: ${JSON.stringify(pointer)}`,
  );
}

/** Parent container and final token of `tokens`; throws when the parent does not exist. */
function parentOf(doc: JsonValue, tokens: readonly string[], op: string, pointer: string) {
  const parent = get(doc, tokens.slice(0, -1));
  if (!Array.isArray(parent) && !isObject(parent)) throw missing(op, pointer);
  return { parent, last: tokens[tokens.length - 1] as string };
}

/** Adds `value` in place; returns the (possibly new) root. */
function add(
  doc: JsonValue,
  tokens: readonly string[],
  value: JsonValue,
  op: string,
  pointer: string,
): JsonValue {
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens, op, pointer);
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, true);
    if (i === undefined) {
      throw new PatchError(
        `jsonpatch ${op} operation does not apply: index out of bounds or invalid: ${JSON.stringify(pointer)}`,
      );
    }
    parent.splice(i, 0, value);
  } else {
    setKey(parent, last, value);
  }
  return doc;
}

/** Removes in place; returns the (possibly new) root. */
function remove(doc: JsonValue, tokens: readonly string[], op: string, pointer: string): JsonValue {
  if (tokens.length === 0) return null;
  const { parent, last } = parentOf(doc, tokens, op, pointer);
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, false);
    if (i === undefined) throw missing(op, pointer);
    parent.splice(i, 1);
  } else {
    if (!Object.hasOwn(parent, last)) throw missing(op, pointer);
    delete parent[last];
  }
  return doc;
}

function requireString(op: JsonPatchOperation, field: "path" | "from"): string {
  const v: unknown = op[field];
  if (typeof v !== "string") {
    throw new PatchError(`jsonpatch ${String(op.op)} operation is missing or has an invalid "${field}"`);
  }
  return v;
}

function requireValue(op: JsonPatchOperation): JsonValue {
  if (!Object.hasOwn(op, "value") || op.value === undefined) {
    throw new PatchError(`jsonpatch ${op.op} operation is missing "value"`);
  }
  return clone(op.value);
}

export interface JsonPatchOptions {
  /**
   * The most bytes (as serialized JSON) all `copy` operations together may add; 0 or unset means
   * no bound (json-patch's AccumulatedCopySizeLimit, which kube-apiserver sets to 3 MiB).
   */
  accumulatedCopySizeLimit?: number;
}

/** The size of `v` as JSON, without building the text past `limit` bytes (then any larger figure). */
function jsonSize(v: JsonValue, limit: number): number {
  let size = 0;
  const stack: JsonValue[] = [v];
  while (stack.length > 0 && size <= limit) {
    const cur = stack.pop() as JsonValue;
    if (Array.isArray(cur)) {
      size += 2 + Math.max(0, cur.length - 1);
      for (const e of cur) stack.push(e);
    } else if (isObject(cur)) {
      const keys = Object.keys(cur);
      size += 2 + Math.max(0, keys.length - 1);
      for (const k of keys) {
        size += JSON.stringify(k).length + 1;
        stack.push(cur[k] as JsonValue);
      }
    } else size += JSON.stringify(cur).length;
  }
  return size;
}

/**
 * RFC 6902 JSON Patch (`application/json-patch+json`). Operations apply in order and atomically:
 * the first failing one throws a {@link PatchError} and no result is produced. Inputs are not mutated.
 * A `copy` past `opts.accumulatedCopySizeLimit` throws a {@link PatchLimitError} before it copies.
 */
export function applyJsonPatch(
  doc: JsonValue,
  ops: readonly JsonPatchOperation[],
  opts: JsonPatchOptions = {},
): JsonValue {
  if (!Array.isArray(ops)) throw new PatchError("jsonpatch: patch must be an array of operations");
  const copyLimit = opts.accumulatedCopySizeLimit ?? 0;
  let copied = 0;
  let out = clone(doc);
  for (const op of ops) {
    if (!isObject(op as unknown)) throw new PatchError("jsonpatch: operation must be an object");
    const pointer = requireString(op, "path");
    const tokens = parseJsonPointer(pointer);
    switch (op.op) {
      case "add":
        out = add(out, tokens, requireValue(op), "add", pointer);
        break;
      case "remove":
        out = remove(out, tokens, "remove", pointer);
        break;
      case "replace": {
        const value = requireValue(op);
        if (get(out, tokens) === undefined) throw missing("replace", pointer);
        if (tokens.length === 0) {
          out = value;
        } else {
          out = remove(out, tokens, "replace", pointer);
          out = add(out, tokens, value, "replace", pointer);
        }
        break;
      }
      case "move": {
        const from = requireString(op, "from");
        const fromTokens = parseJsonPointer(from);
        const value = get(out, fromTokens);
        if (value === undefined) throw missing("move", from);
        if (pointer === from) break;
        if (pointer.startsWith(`${from}/`)) {
          throw new PatchError(
            `jsonpatch move operation does not apply: cannot move ${JSON.stringify(from)} into its own child ${JSON.stringify(pointer)}`,
          );
        }
        out = remove(out, fromTokens, "move", from);
        out = add(out, tokens, value, "move", pointer);
        break;
      }
      case "copy": {
        const from = requireString(op, "from");
        const value = get(out, parseJsonPointer(from));
        if (value === undefined) throw missing("copy", from);
        if (copyLimit > 0) {
          copied += jsonSize(value, copyLimit - copied);
          if (copied > copyLimit)
            throw new PatchLimitError(
              `Unable to complete the copy, the accumulated size increase of copy is ${copied}, exceeding the limit ${copyLimit}`,
            );
        }
        out = add(out, tokens, clone(value), "copy", pointer);
        break;
      }
      case "test": {
        const value = requireValue(op);
        if (!jsonEqual(get(out, tokens), value)) throw new PatchError(`testing value ${pointer} failed`);
        break;
      }
      default:
        throw new PatchError(`jsonpatch: unexpected kind of operation: ${JSON.stringify(op.op ?? null)}`);
    }
  }
  return out;
}
