/**
 * nodeTree (pkg/scheduler/backend/cache/node_tree.go): node names grouped by zone and listed
 * round-robin across zones, so that the first nodes a cycle examines (percentageOfNodesToScore)
 * come from every zone rather than from whichever zone registered first.
 */
import type { Node } from "@skiff/api";

const ZONE = "topology.kubernetes.io/zone";
const REGION = "topology.kubernetes.io/region";

export function zoneOf(node: Node): string {
  const l = node.metadata.labels ?? {};
  const region = l[REGION] ?? "";
  const zone = l[ZONE] ?? "";
  return region === "" && zone === "" ? "" : `${region}:\x00:${zone}`;
}

export class NodeTree {
  private readonly zones = new Map<string, string[]>();
  private readonly zoneOfNode = new Map<string, string>();
  numNodes = 0;

  add(node: Node): void {
    const name = node.metadata.name;
    const zone = zoneOf(node);
    const had = this.zoneOfNode.get(name);
    if (had === zone) return;
    if (had !== undefined) this.remove(name);
    let list = this.zones.get(zone);
    if (list === undefined) {
      list = [];
      this.zones.set(zone, list);
    }
    list.push(name);
    this.zoneOfNode.set(name, zone);
    this.numNodes++;
  }

  remove(name: string): void {
    const zone = this.zoneOfNode.get(name);
    if (zone === undefined) return;
    const list = this.zones.get(zone) as string[];
    const i = list.indexOf(name);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.zones.delete(zone);
    this.zoneOfNode.delete(name);
    this.numNodes--;
  }

  /** Every node name, zones interleaved. */
  list(): string[] {
    const out: string[] = [];
    const lists = [...this.zones.values()];
    for (let i = 0; out.length < this.numNodes; i++)
      for (const l of lists) if (i < l.length) out.push(l[i] as string);
    return out;
  }
}
