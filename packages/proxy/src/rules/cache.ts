/**
 * What one Service contributes to the table (its chains, affinity sets, map elements and
 * ServicePortInfos), and the cache that keeps those fragments between builds. kube-proxy's
 * nftables mode rewrites only the chains of Services that changed since the last sync
 * (syncProxyRules with its serviceChanges/endpointsChanges trackers); here the whole Ruleset is
 * still assembled each time, but an unchanged Service's fragment is reused as it was, so a
 * sync after one EndpointSlice change recomputes one Service, and renderPartialSync can skip
 * every reused chain by reference before comparing any text.
 */
import type { EndpointSlice, Service } from "../api-types.js";
import type { NftSetDef, ProxyRulesInput, ServicePortInfo } from "./types.js";

/** Where the per-Service-port rules go: the whole table's builder or one Service's fragment. */
export interface RuleSink {
  chain(name: string): string[];
  rule(chain: string, rule: string): void;
  set(name: string, def: NftSetDef): void;
  element(set: string, element: string): void;
}

/** One Service's part of the Ruleset; never mutated once built (several Rulesets share it). */
export interface ServiceFragment {
  /** Chain name -> rules, in the order the chains were first named. */
  readonly chains: ReadonlyMap<string, readonly string[]>;
  readonly sets: ReadonlyMap<string, NftSetDef>;
  /** [set or map name, element], in the order they were added. */
  readonly elements: readonly (readonly [string, string])[];
  readonly servicePorts: readonly ServicePortInfo[];
}

/** Records a Service's chains, sets and elements; the table's builder merges them later. */
export class FragmentBuilder implements RuleSink {
  private readonly chains = new Map<string, string[]>();
  private readonly sets = new Map<string, NftSetDef>();
  private readonly elements: [string, string][] = [];

  chain(name: string): string[] {
    let body = this.chains.get(name);
    if (body === undefined) {
      body = [];
      this.chains.set(name, body);
    }
    return body;
  }

  rule(chain: string, rule: string): void {
    this.chain(chain).push(rule);
  }

  set(name: string, def: NftSetDef): void {
    if (!this.sets.has(name)) this.sets.set(name, def);
  }

  element(set: string, element: string): void {
    this.elements.push([set, element]);
  }

  finish(servicePorts: ServicePortInfo[]): ServiceFragment {
    return { chains: this.chains, sets: this.sets, elements: this.elements, servicePorts };
  }
}

interface Entry {
  service: Service;
  slices: readonly EndpointSlice[];
  fragment: ServiceFragment;
}

/**
 * Fragments by Service ("namespace/name"), valid while the Service object and its
 * EndpointSlice objects are the very same ones. Informers replace an object when it changes and
 * never modify it in place, so identity is a sound key; callers that edit objects in place must
 * not pass a cache. Options and node name are part of the key: a change to either drops all.
 * Entries of Services absent from a build are dropped after it.
 */
export class RulesetCache {
  private context: string | undefined;
  private entries = new Map<string, Entry>();
  private next = new Map<string, Entry>();

  /** Starts a build: forgets everything when the options or the node changed. */
  begin(input: ProxyRulesInput): void {
    const { table, masqueradeBit, clusterCIDR } = input.options;
    const context = JSON.stringify([input.nodeName, table, masqueradeBit, clusterCIDR ?? null]);
    if (context !== this.context) this.entries.clear();
    this.context = context;
    this.next = new Map();
  }

  /** The fragment built for exactly this Service object and these slice objects, if any. */
  get(key: string, service: Service, slices: readonly EndpointSlice[]): ServiceFragment | undefined {
    const e = this.entries.get(key);
    if (e === undefined || e.service !== service || e.slices.length !== slices.length) return undefined;
    for (let i = 0; i < slices.length; i++) if (e.slices[i] !== slices[i]) return undefined;
    this.next.set(key, e);
    return e.fragment;
  }

  put(key: string, service: Service, slices: readonly EndpointSlice[], fragment: ServiceFragment): void {
    this.next.set(key, { service, slices, fragment });
  }

  /** Ends a build: keeps only the Services it saw. */
  end(): void {
    this.entries = this.next;
    this.next = new Map();
  }

  /** Forgets everything (e.g. after a build threw halfway). */
  clear(): void {
    this.entries.clear();
    this.next = new Map();
    this.context = undefined;
  }

  get size(): number {
    return this.entries.size;
  }
}
