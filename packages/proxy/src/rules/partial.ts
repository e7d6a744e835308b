/**
 * renderPartialSync: the one transaction that turns a live table built from `prev` into `next`,
 * touching only what changed, as kube-proxy's nftables mode does after its first full sync (it
 * rewrites the chains of changed Services and updates map elements; the base chains stay).
 */
import { cmp } from "./endpoints.js";
import {
  addChain,
  addRules,
  addSet,
  chainRules,
  elementsCommand,
  isBaseChainHeader,
  renderFullSync,
} from "./render.js";
import type { NftSetDef, Ruleset } from "./types.js";

/** A chain reused from a cached fragment is the same array in both Rulesets: equal at no cost. */
function sameLines(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The key of an element: a map's "KEY : VALUE" without its value; a set's element itself. */
function elementKey(def: NftSetDef, element: string): string {
  if (def.kind === "set") return element;
  const i = element.indexOf(" : ");
  return i < 0 ? element : element.slice(0, i);
}

/**
 * A base chain's hook or a set's type cannot be changed in place; such a change (the table's name,
 * the masquerade options, an affinity timeout) takes a full sync instead.
 */
function needsFullSync(prev: Ruleset, next: Ruleset): boolean {
  if (prev.table !== next.table) return true;
  for (const [name, body] of next.chains) {
    const old = prev.chains.get(name);
    if (old === undefined) {
      if (isBaseChainHeader(body[0])) return true;
    } else if (isBaseChainHeader(body[0]) || isBaseChainHeader(old[0])) {
      if (body[0] !== old[0]) return true;
    }
  }
  for (const [name, body] of prev.chains)
    if (!next.chains.has(name) && isBaseChainHeader(body[0])) return true;
  for (const [name, def] of next.sets) {
    const old = prev.sets.get(name);
    if (old !== undefined && (old.kind !== def.kind || old.declaration !== def.declaration)) return true;
  }
  return false;
}

/**
 * Order inside the transaction: declare new chains and sets; delete map elements that went away
 * or changed value (so nothing points at a chain about to go); flush changed and removed chains;
 * write the rules of new and changed chains; add new elements; delete the removed chains (now
 * empty and unreferenced) and sets. Returns undefined when nothing changed.
 */
export function renderPartialSync(prev: Ruleset, next: Ruleset): string | undefined {
  if (needsFullSync(prev, next)) {
    const full = renderFullSync(next);
    // A renamed table leaves the old one behind otherwise.
    return prev.table === next.table
      ? full
      : `add table ip ${prev.table}\ndelete table ip ${prev.table}\n${full}`;
  }
  const t = next.table;
  const declare: string[] = [];
  const deleteElements: string[] = [];
  const flush: string[] = [];
  const rules: string[] = [];
  const addElements: string[] = [];
  const remove: string[] = [];

  for (const [name, body] of next.chains) {
    const old = prev.chains.get(name);
    if (old === undefined) {
      declare.push(addChain(t, name, body));
      rules.push(...addRules(t, name, body));
    } else if (old !== body && !sameLines(chainRules(old), chainRules(body))) {
      flush.push(`flush chain ip ${t} ${name}`);
      rules.push(...addRules(t, name, body));
    }
  }
  for (const name of prev.chains.keys())
    if (!next.chains.has(name)) {
      flush.push(`flush chain ip ${t} ${name}`);
      remove.push(`delete chain ip ${t} ${name}`);
    }

  for (const [name, def] of next.sets) {
    const old = prev.sets.get(name);
    if (old === undefined) {
      declare.push(addSet(t, name, def));
      addElements.push(...elementsCommand("add", t, name, def.elements));
      continue;
    }
    if (old.elements.length === 0 && def.elements.length === 0) continue;
    const before = new Set(old.elements);
    const after = new Set(def.elements);
    // A key whose value changed is deleted and re-added, as kube's nftElementStorage does.
    const gone = old.elements.filter((e) => !after.has(e)).map((e) => elementKey(old, e));
    deleteElements.push(...elementsCommand("delete", t, name, gone.sort(cmp)));
    addElements.push(
      ...elementsCommand(
        "add",
        t,
        name,
        def.elements.filter((e) => !before.has(e)),
      ),
    );
  }
  for (const [name, def] of prev.sets)
    if (!next.sets.has(name)) remove.push(`delete ${def.kind} ip ${t} ${name}`);

  const lines = [...declare, ...deleteElements, ...flush, ...rules, ...addElements, ...remove];
  return lines.length === 0 ? undefined : `${lines.join("\n")}\n`;
}
