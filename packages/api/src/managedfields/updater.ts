/**
 * The field manager's two operations on an object's managers (structured-merge-diff's
 * merge.Updater): Update (the manager takes the fields it changed, from everyone) and Apply (the
 * configuration is merged into the live object; fields the applier set before and sets no more
 * are removed unless someone else owns them; fields another manager owns that the apply would
 * change are conflicts, unless forced).
 */
import type { JsonValue } from "../patch/json.js";
import type { Schema } from "../schema.js";
import { type Comparison, compare } from "./compare.js";
import { type ManagerEntry, type Managers, printManager } from "./managers.js";
import { merge, removeItems } from "./merge.js";
import { type Path, pathString } from "./path.js";
import { FieldSet } from "./set.js";
import { toFieldSet } from "./tofieldset.js";

export interface Conflict {
  manager: ManagerEntry;
  path: Path;
}

export class ConflictError extends Error {
  constructor(readonly conflicts: Conflict[]) {
    super(conflictMessage(conflicts));
  }

  /** metav1.StatusCause per conflict (reason FieldManagerConflict). */
  causes() {
    return this.conflicts.map((c) => ({
      reason: "FieldManagerConflict",
      message: `conflict with ${printManager(c.manager)}`,
      field: pathString(c.path),
    }));
  }
}

/** kube's getConflictMessage. */
function conflictMessage(conflicts: Conflict[]): string {
  const [first] = conflicts;
  if (conflicts.length === 1 && first !== undefined)
    return `Apply failed with 1 conflict: conflict with ${printManager(first.manager)}: ${pathString(first.path)}`;
  const lines: string[] = [];
  let last: string | undefined;
  for (const c of conflicts) {
    const who = printManager(c.manager);
    if (who !== last) lines.push(`conflicts with ${who}:`);
    last = who;
    lines.push(`- ${pathString(c.path)}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
}

/** Keeps only the fields a manager may own through this request (kube: the reset fields). */
export type FieldFilter = (s: FieldSet) => FieldSet;

const copyManagers = (m: Managers): Managers => new Map([...m].map(([k, v]) => [k, { ...v }]));

/** The shared step: other managers lose what changed (conflicts unless `force`) and what went. */
function updateOthers(
  schema: Schema,
  old: JsonValue,
  next: JsonValue,
  managers: Managers,
  self: string,
  force: boolean,
): Comparison {
  const cmp = compare(schema, old, next);
  const changed = cmp.modified.union(cmp.added);
  const conflicts: Conflict[] = [];
  for (const [id, m] of [...managers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (id === self) continue;
    const lost = m.set.intersection(changed);
    for (const path of lost.paths()) conflicts.push({ manager: m, path });
    m.set = m.set.difference(lost).difference(cmp.removed);
  }
  if (!force && conflicts.length > 0) throw new ConflictError(conflicts);
  for (const [id, m] of managers) if (m.set.empty()) managers.delete(id);
  return cmp;
}

/** An Update by `entry`: returns the new managers. */
export function updateManagers(
  schema: Schema,
  old: JsonValue,
  next: JsonValue,
  managers: Managers,
  self: string,
  entry: Omit<ManagerEntry, "set">,
  filter: FieldFilter,
): Managers {
  const out = copyManagers(managers);
  const cmp = updateOthers(schema, old, next, out, self, true);
  const mine = out.get(self)?.set ?? new FieldSet();
  const set = filter(mine.difference(cmp.removed).union(cmp.modified).union(cmp.added));
  out.delete(self);
  if (!set.empty()) out.set(self, { ...entry, set });
  return out;
}

/** An Apply of `config` by `entry`: the new object and managers, or a ConflictError. */
export function applyManagers(
  schema: Schema,
  live: JsonValue,
  config: JsonValue,
  managers: Managers,
  self: string,
  entry: Omit<ManagerEntry, "set">,
  force: boolean,
  filter: FieldFilter,
): { object: JsonValue; managers: Managers } {
  const out = copyManagers(managers);
  const lastSet = out.get(self)?.set;
  const set = filter(toFieldSet(schema, config, true));
  let merged = merge(schema, live, config);
  out.set(self, { ...entry, set });
  if (lastSet !== undefined && !lastSet.empty()) {
    let owned = new FieldSet();
    for (const m of out.values()) owned = owned.union(m.set);
    const drop = lastSet.difference(owned);
    // Merging the configuration again restores what it sets but no set records (empty lists).
    if (!drop.empty()) merged = merge(schema, removeItems(schema, merged, drop, owned) ?? {}, config);
  }
  updateOthers(schema, live, merged, out, self, force);
  if (set.empty()) out.delete(self);
  return { object: merged, managers: out };
}
