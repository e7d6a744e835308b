/**
 * Ruleset -> `nft -f` text. One command a line in knftables' style (`add chain ...`, `add rule
 * ...`), so that full and partial syncs share the same pieces and `nft` reports errors by line.
 */
import type { NftSetDef, Ruleset } from "./types.js";

/** Base chains carry their "type ... hook ..." statement as the first line of their body. */
export function isBaseChainHeader(line: string | undefined): line is string {
  return line?.startsWith("type ") === true;
}

export function chainRules(body: readonly string[]): readonly string[] {
  return isBaseChainHeader(body[0]) ? body.slice(1) : body;
}

export function addChain(table: string, name: string, body: readonly string[]): string {
  const header = body[0];
  return isBaseChainHeader(header)
    ? `add chain ip ${table} ${name} { ${header} }`
    : `add chain ip ${table} ${name}`;
}

export function addSet(table: string, name: string, def: NftSetDef): string {
  return `add ${def.kind} ip ${table} ${name} { ${def.declaration}; }`;
}

export function addRules(table: string, chain: string, body: readonly string[]): string[] {
  return chainRules(body).map((rule) => `add rule ip ${table} ${chain} ${rule}`);
}

export function elementsCommand(
  verb: "add" | "delete",
  table: string,
  set: string,
  elements: readonly string[],
): string[] {
  return elements.length === 0 ? [] : [`${verb} element ip ${table} ${set} { ${elements.join(", ")} }`];
}

/**
 * The whole table, replaced in one transaction: `add table` (so the `delete` cannot fail on a
 * node where it does not exist yet), `delete table`, then everything anew. Chains are declared
 * before any rule or element names them. Dynamic affinity entries start empty again.
 */
export function renderFullSync(rs: Ruleset): string {
  const t = rs.table;
  const lines = [`add table ip ${t}`, `delete table ip ${t}`, `add table ip ${t}`];
  for (const [name, body] of rs.chains) lines.push(addChain(t, name, body));
  for (const [name, def] of rs.sets) lines.push(addSet(t, name, def));
  for (const [name, body] of rs.chains) lines.push(...addRules(t, name, body));
  for (const [name, def] of rs.sets) lines.push(...elementsCommand("add", t, name, def.elements));
  return `${lines.join("\n")}\n`;
}
