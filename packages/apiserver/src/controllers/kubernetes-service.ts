/**
 * The `default/kubernetes` Service and its endpoints (kube-apiserver's kubernetesservice
 * controller and endpoint reconciler, pkg/controlplane/controller/kubernetesservice and
 * pkg/controlplane/reconcilers): the Service takes the first IP of the service range (10.96.0.1
 * by default), port 443 named https to the API server's port; the Endpoints (labelled
 * endpointslice.kubernetes.io/skip-mirror) and the EndpointSlice `kubernetes` list the API
 * server's advertised address. Checked at start and every 10 s (kube's interval); anything
 * missing or different is written again through the normal API. The Service's ports and type
 * are corrected on the first pass only, as kube's.
 */
import { networkInterfaces } from "node:os";
import type { KindDef, KubeObject } from "@skiff/api";
import type { Logger } from "@skiff/component-base";
import { type Clock, ControllerLoop, type SyncResult } from "./loop.js";
import type { LoopbackClient } from "./loopback.js";

type Json = Record<string, unknown>;
const NAME = "kubernetes";
const NS = "default";

export interface KubernetesServiceOptions {
  client: LoopbackClient;
  clock: Clock;
  /** The Service's cluster IP: the first address of --service-cluster-ip-range. */
  clusterIP: string;
  /** The API server's advertised address and port. */
  address: string;
  port: number;
  intervalMs?: number;
  log?: Logger;
}

export class KubernetesServiceController {
  readonly loop: ControllerLoop;
  private readonly kinds: { svc: KindDef; ep: KindDef; slice: KindDef };
  private reconciled = false;
  private address: string;
  private port: number;

  constructor(private readonly o: KubernetesServiceOptions) {
    this.address = o.address;
    this.port = o.port;
    const c = o.client;
    this.kinds = {
      svc: c.kind("", "v1", "services"),
      ep: c.kind("", "v1", "endpoints"),
      slice: c.kind("discovery.k8s.io", "v1", "endpointslices"),
    };
    this.loop = new ControllerLoop({
      name: "kubernetes-service",
      sync: () => this.sync(),
      listKeys: async () => [NAME],
      resyncMs: o.intervalMs ?? 10_000,
      clock: o.clock,
      log: o.log,
      maxBackoffMs: o.intervalMs ?? 10_000,
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Moves the endpoints to another address and port (the Service's targetPort follows). */
  readvertise(address: string, port: number): void {
    if (address === this.address && port === this.port) return;
    this.address = address;
    this.port = port;
    this.reconciled = false;
    this.loop.add(NAME);
  }

  private ports(): Json[] {
    return [{ name: "https", port: 443, protocol: "TCP", targetPort: this.port }];
  }

  private async sync(): Promise<SyncResult> {
    await this.ensureService();
    await this.ensureEndpoints();
    await this.ensureSlice();
    return undefined;
  }

  private async ensureService(): Promise<void> {
    const { client } = this.o;
    const svc = await client.find(this.kinds.svc, NS, NAME);
    if (svc === undefined) {
      await client.create(this.kinds.svc, NS, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: NAME, namespace: NS, labels: { component: "apiserver", provider: "kubernetes" } },
        spec: {
          type: "ClusterIP",
          clusterIP: this.o.clusterIP,
          ports: this.ports(),
          sessionAffinity: "None",
        },
      });
      this.reconciled = true;
      return;
    }
    if (this.reconciled) return;
    const spec = (svc.spec ?? {}) as Json;
    const ports = ((spec.ports as Json[] | undefined) ?? []).map((p) => ({
      name: p.name,
      port: p.port,
      protocol: p.protocol ?? "TCP",
      targetPort: p.targetPort,
    }));
    if (JSON.stringify(ports) !== JSON.stringify(this.ports()) || spec.type !== "ClusterIP")
      await client.update(this.kinds.svc, {
        ...svc,
        spec: { ...spec, type: "ClusterIP", ports: this.ports() },
      });
    this.reconciled = true;
  }

  private async ensureEndpoints(): Promise<void> {
    const subsets = [
      { addresses: [{ ip: this.address }], ports: [{ name: "https", port: this.port, protocol: "TCP" }] },
    ];
    const labels = { "endpointslice.kubernetes.io/skip-mirror": "true" };
    await this.ensure(
      this.kinds.ep,
      { subsets },
      labels,
      (ep) => JSON.stringify(ep.subsets) === JSON.stringify(subsets),
    );
  }

  private async ensureSlice(): Promise<void> {
    const want = {
      addressType: "IPv4",
      endpoints: [{ addresses: [this.address], conditions: { ready: true } }],
      ports: [{ name: "https", port: this.port, protocol: "TCP" }],
    };
    const labels = { "kubernetes.io/service-name": NAME };
    await this.ensure(this.kinds.slice, want, labels, (s) =>
      ["addressType", "endpoints", "ports"].every(
        (f) => JSON.stringify(s[f]) === JSON.stringify((want as Json)[f]),
      ),
    );
  }

  /** Creates the object, or rewrites its content when `same` says it differs. */
  private async ensure(
    kind: KindDef,
    content: Json,
    labels: Record<string, string>,
    same: (o: KubeObject) => boolean,
  ) {
    const { client } = this.o;
    const cur = await client.find(kind, NS, NAME);
    const apiVersion = kind.group === "" ? kind.version : `${kind.group}/${kind.version}`;
    if (cur === undefined) {
      await client.create(kind, NS, {
        apiVersion,
        kind: kind.kind,
        metadata: { name: NAME, namespace: NS, labels },
        ...content,
      });
      return;
    }
    const hasLabels = Object.entries(labels).every(([k, v]) => cur.metadata.labels?.[k] === v);
    if (same(cur) && hasLabels) return;
    await client.update(kind, {
      ...cur,
      metadata: { ...cur.metadata, labels: { ...cur.metadata.labels, ...labels } },
      ...content,
    });
  }
}

/** The address kube-apiserver advertises: the bind address, or the host's first non-loopback IPv4 for 0.0.0.0 and loopback. */
export function advertiseAddress(bindAddress: string): string {
  if (
    bindAddress !== "0.0.0.0" &&
    bindAddress !== "::" &&
    !bindAddress.startsWith("127.") &&
    bindAddress !== "::1"
  )
    return bindAddress;
  for (const list of Object.values(networkInterfaces()))
    for (const i of list ?? []) if (i.family === "IPv4" && !i.internal) return i.address;
  return bindAddress === "0.0.0.0" || bindAddress === "::" ? "127.0.0.1" : bindAddress;
}
