/**
 * Service IP and node port allocation, as kube-apiserver's: a ClusterIP from
 * --service-cluster-ip-range (default 10.96.0.0/12; the first address goes to the `kubernetes`
 * service) and node ports from 30000-32767. Each allocation is a claim key in the store written in
 * the same transaction as the Service (storage/registry-store.ts), so concurrent creates can never
 * get the same IP or port, and a delete releases them in the same transaction. A requested value
 * that is out of range or taken is a 422.
 */
import { randomInt } from "node:crypto";
import type { FieldError, KindDef, KubeObject } from "@skiff/api";
import { invalidObject } from "../../status.js";
import {
  type Claims,
  ClaimTaken,
  type GuardedWrite,
  type RegistryStore,
} from "../../storage/registry-store.js";

type Json = Record<string, unknown>;
const specOf = (svc: KubeObject) => (svc.spec ?? {}) as Json;
const portsOf = (svc: KubeObject) => (specOf(svc).ports as Json[] | undefined) ?? [];

export const IP_PREFIX = "/registry/ranges/serviceips/";
export const PORT_PREFIX = "/registry/ranges/servicenodeports/";

function ipToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

const intToIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

export class ServiceAllocator {
  private readonly base: number;
  private readonly size: number;

  constructor(
    readonly range = "10.96.0.0/12",
    readonly ports: readonly [number, number] = [30000, 32767],
  ) {
    const [addr, bits] = range.split("/");
    const base = ipToInt(addr ?? "");
    const prefix = Number(bits);
    if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30)
      throw new Error(`invalid --service-cluster-ip-range ${range}`);
    this.size = 2 ** (32 - prefix);
    this.base = base - (base % this.size);
  }

  /** The address of the `kubernetes` service: the range's first usable address. */
  get firstIP(): string {
    return intToIp(this.base + 1);
  }

  private inRange(ip: string): boolean {
    const n = ipToInt(ip);
    return n !== undefined && n > this.base && n < this.base + this.size - 1;
  }

  private needsNodePorts(svc: KubeObject): boolean {
    const t = specOf(svc).type;
    return t === "NodePort" || t === "LoadBalancer";
  }

  private hasClusterIP(svc: KubeObject): boolean {
    const spec = specOf(svc);
    return spec.type !== "ExternalName" && spec.clusterIP !== "None";
  }

  /** The claim keys a service holds. */
  claims(svc: KubeObject): string[] {
    const out: string[] = [];
    const ip = specOf(svc).clusterIP;
    if (this.hasClusterIP(svc) && typeof ip === "string" && ip !== "") out.push(`${IP_PREFIX}${ip}`);
    for (const p of portsOf(svc)) if (typeof p.nodePort === "number") out.push(`${PORT_PREFIX}${p.nodePort}`);
    return out;
  }

  /** Requested values out of range (422 before anything is stored). */
  private checkRequested(k: KindDef, svc: KubeObject): void {
    const errs: FieldError[] = [];
    const ip = specOf(svc).clusterIP;
    if (this.hasClusterIP(svc) && typeof ip === "string" && ip !== "" && !this.inRange(ip))
      errs.push({
        type: "FieldValueInvalid",
        field: "spec.clusterIPs",
        value: [ip],
        detail: `failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.range}`,
      });
    portsOf(svc).forEach((p, i) => {
      const n = p.nodePort;
      if (typeof n === "number" && (n < this.ports[0] || n > this.ports[1]))
        errs.push({
          type: "FieldValueInvalid",
          field: `spec.ports[${i}].nodePort`,
          value: n,
          detail: `provided port is not in the valid range. The range of valid ports is ${this.ports[0]}-${this.ports[1]}`,
        });
    });
    if (errs.length > 0) throw invalidObject(k, svc.metadata.name ?? "", errs);
  }

  /** Fills in what is missing: a random free-looking IP and node ports (the store decides). */
  private assign(svc: KubeObject, old?: KubeObject): void {
    const spec = specOf(svc);
    if (this.hasClusterIP(svc) && (spec.clusterIP === undefined || spec.clusterIP === "")) {
      const oldIp = old === undefined ? undefined : specOf(old).clusterIP;
      spec.clusterIP =
        typeof oldIp === "string" && oldIp !== "" ? oldIp : intToIp(this.base + randomInt(2, this.size - 1));
    }
    if (this.hasClusterIP(svc)) spec.clusterIPs = [spec.clusterIP];
    const oldPorts = old === undefined ? [] : portsOf(old);
    for (const p of portsOf(svc)) {
      if (!this.needsNodePorts(svc)) {
        delete p.nodePort;
        continue;
      }
      if (p.nodePort === undefined) {
        const prev = oldPorts.find(
          (o) => o.port === p.port && (o.protocol ?? "TCP") === (p.protocol ?? "TCP"),
        );
        p.nodePort =
          typeof prev?.nodePort === "number" ? prev.nodePort : randomInt(this.ports[0], this.ports[1] + 1);
      }
    }
  }

  /** Which requested (not generated) claim was taken: a 422 naming the field. */
  private taken(k: KindDef, svc: KubeObject, requested: Set<string>, claim: string): Error | undefined {
    if (!requested.has(claim)) return undefined;
    const value = claim.slice(claim.lastIndexOf("/") + 1);
    const isIp = claim.startsWith(IP_PREFIX);
    const i = portsOf(svc).findIndex((p) => String(p.nodePort) === value);
    return invalidObject(k, svc.metadata.name ?? "", [
      {
        type: "FieldValueInvalid",
        field: isIp ? "spec.clusterIPs" : `spec.ports[${i}].nodePort`,
        value: isIp ? [value] : Number(value),
        detail: isIp
          ? `failed to allocate IP ${value}: provided IP is already allocated`
          : "provided port is already allocated",
      },
    ]);
  }

  /** Creates a service with its allocations, retrying generated values that were taken. */
  async create(
    store: RegistryStore,
    k: KindDef,
    svc: KubeObject,
    guarded: GuardedWrite[] = [],
  ): Promise<KubeObject> {
    this.checkRequested(k, svc);
    const requested = new Set(this.claims(svc));
    for (let attempt = 0; ; attempt++) {
      const candidate = structuredClone(svc);
      this.assign(candidate);
      try {
        return await store.create(k, candidate, { claims: { add: this.claims(candidate) }, guarded });
      } catch (e) {
        if (!(e instanceof ClaimTaken)) throw e;
        const err = this.taken(k, candidate, requested, e.claim);
        if (err !== undefined || attempt >= 20) throw err ?? e;
      }
    }
  }

  /** Validates and fills an update (clusterIP is immutable); returns the claims to add and remove. */
  prepareUpdate(k: KindDef, next: KubeObject, old: KubeObject): Claims {
    const oldIp = specOf(old).clusterIP;
    const newIp = specOf(next).clusterIP;
    if (typeof oldIp === "string" && oldIp !== "" && newIp !== undefined && newIp !== "" && newIp !== oldIp)
      throw invalidObject(k, next.metadata.name ?? "", [
        {
          type: "FieldValueInvalid",
          field: "spec.clusterIPs[0]",
          value: newIp,
          detail: "may not change once set",
        },
      ]);
    this.checkRequested(k, next);
    this.assign(next, old);
    const before = new Set(this.claims(old));
    const after = new Set(this.claims(next));
    return {
      add: [...after].filter((c) => !before.has(c)),
      remove: [...before].filter((c) => !after.has(c)),
    };
  }

  /** Maps a taken claim during an update to the 422 kube-apiserver gives. */
  updateError(k: KindDef, next: KubeObject, e: unknown): unknown {
    if (!(e instanceof ClaimTaken)) return e;
    return this.taken(k, next, new Set([e.claim]), e.claim) ?? e;
  }
}
