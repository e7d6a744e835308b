/**
 * A set of field paths (fieldpath.Set): a tree of path elements where a node is a member (the
 * path to it is in the set) and may have children. Encoded as FieldsV1: a member with children
 * carries `".": {}`, a member without is `{}`.
 */
import type { JsonObject } from "../patch/json.js";
import { isPathElement, type Path, type PathElement } from "./path.js";

export class FieldSet {
  member = false;
  readonly children = new Map<PathElement, FieldSet>();

  static of(...paths: Path[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  insert(path: Path): void {
    let node: FieldSet = this;
    for (const e of path) {
      let next = node.children.get(e);
      if (next === undefined) {
        next = new FieldSet();
        node.children.set(e, next);
      }
      node = next;
    }
    node.member = true;
  }

  has(path: Path): boolean {
    const n = this.node(path);
    return n?.member === true;
  }

  /** The subtree at `path`, if any. */
  node(path: Path): FieldSet | undefined {
    let node: FieldSet | undefined = this;
    for (const e of path) node = node?.children.get(e);
    return node;
  }

  /** The members of the subtree below `e` (fieldpath.Set.WithPrefix). */
  child(e: PathElement): FieldSet | undefined {
    return this.children.get(e);
  }

  empty(): boolean {
    if (this.member) return false;
    for (const c of this.children.values()) if (!c.empty()) return false;
    return true;
  }

  union(o: FieldSet): FieldSet {
    const r = new FieldSet();
    r.member = this.member || o.member;
    for (const [e, c] of this.children) r.children.set(e, c.union(o.children.get(e) ?? new FieldSet()));
    for (const [e, c] of o.children) if (!this.children.has(e)) r.children.set(e, c.union(new FieldSet()));
    return r;
  }

  /** Members of this set that are not members of `o` (children compared one by one). */
  difference(o: FieldSet): FieldSet {
    const r = new FieldSet();
    r.member = this.member && !o.member;
    for (const [e, c] of this.children) {
      const oc = o.children.get(e);
      const d = oc === undefined ? c.union(new FieldSet()) : c.difference(oc);
      if (!d.empty()) r.children.set(e, d);
    }
    return r;
  }

  /** Members of this set with no member of `o` at or above them (fieldpath RecursiveDifference). */
  recursiveDifference(o: FieldSet): FieldSet {
    if (o.member) return new FieldSet();
    const r = new FieldSet();
    r.member = this.member;
    for (const [e, c] of this.children) {
      const oc = o.children.get(e);
      const d = oc === undefined ? c.union(new FieldSet()) : c.recursiveDifference(oc);
      if (!d.empty()) r.children.set(e, d);
    }
    return r;
  }

  intersection(o: FieldSet): FieldSet {
    const r = new FieldSet();
    r.member = this.member && o.member;
    for (const [e, c] of this.children) {
      const oc = o.children.get(e);
      if (oc === undefined) continue;
      const i = c.intersection(oc);
      if (!i.empty()) r.children.set(e, i);
    }
    return r;
  }

  /** Every member path, children in sorted order. */
  paths(prefix: PathElement[] = []): Path[] {
    const out: Path[] = [];
    if (this.member && prefix.length > 0) out.push([...prefix]);
    for (const e of [...this.children.keys()].sort()) {
      prefix.push(e);
      out.push(...(this.children.get(e) as FieldSet).paths(prefix));
      prefix.pop();
    }
    return out;
  }

  equals(o: FieldSet): boolean {
    return this.difference(o).empty() && o.difference(this).empty();
  }

  /** The FieldsV1 JSON of the set. */
  toFieldsV1(): JsonObject {
    const out: JsonObject = {};
    for (const e of [...this.children.keys()].sort()) {
      const c = this.children.get(e) as FieldSet;
      if (c.empty()) continue;
      const inner = c.toFieldsV1();
      out[e] = c.member && Object.keys(inner).length > 0 ? { ".": {}, ...inner } : inner;
    }
    return out;
  }

  /** Parses FieldsV1; throws an Error naming what is wrong. */
  static fromFieldsV1(v: unknown): FieldSet {
    const s = new FieldSet();
    parseInto(s, v, 0);
    return s;
  }
}

function parseInto(node: FieldSet, v: unknown, depth: number): void {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("expected an object");
  if (depth > 100) throw new Error("too deeply nested");
  for (const [k, c] of Object.entries(v)) {
    if (k === ".") {
      if (typeof c !== "object" || c === null || Object.keys(c).length > 0)
        throw new Error('expected an empty object for "."');
      node.member = true;
      continue;
    }
    if (!isPathElement(k)) throw new Error(`invalid path element ${JSON.stringify(k)}`);
    const child = new FieldSet();
    parseInto(child, c, depth + 1);
    if (child.children.size === 0) child.member = true;
    node.children.set(k, child);
  }
}
