/**
 * The kubelet (`skiff agent`): one node's agent, wired from its parts as kubelet.go's NewMainKubelet
 * wires its managers. It registers the Node and renews its Lease (node/), runs the pods bound to
 * it (pod/) on containerd through `ctr` (runtime/), each pod in its own UTS namespace carrying
 * its hostname (uts/) and its own network namespace wired by the CNI bridge plugin inside the
 * node's namespace `skiff-<node>` or the host's (network/, with each pod's resolv.conf and the
 * node gateway that brings DNS and the API server into that namespace), under the node's cgroup tree (cm/), with volumes and
 * environment (volume/, env/), probes (prober/), container logs (logs/) and the kubelet's
 * HTTPS API for the API server (server/). Stopping it leaves running pods running, as a
 * kubelet restart does: the next agent adopts them. With --shutdown-grace-period, SIGTERM
 * first terminates every pod by priority.
 */
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Pod } from "@skiff/api";
import { EventBroadcaster, type EventRecorder, Informer, KubeClient } from "@skiff/client";
import { type Component, Health, type Logger, newLogger, once, Readiness } from "@skiff/component-base";
import { Registry } from "prom-client";
import { admitPod } from "./admission.js";
import type { KubeletPodStatus } from "./api-types.js";
import { CgroupfsPodCgroups } from "./cm/cgroupfs.js";
import { makeEnvironment } from "./env/environment.js";
import type { Service } from "./env/service-env.js";
import { ensureBusyboxImage } from "./image/busybox.js";
import { PodLogs } from "./logs/pod-logs.js";
import { NodeFabric } from "./network/fabric.js";
import { KubeletGateway } from "./network/kubelet-gateway.js";
import { NetnsPodNetwork } from "./network/netns.js";
import { RouteController } from "./node/routes.js";
import { NodeAgents } from "./node-agents.js";
import type { AgentOptions } from "./options.js";
import { PodWorkers } from "./pod/pod-workers.js";
import { StatusManager } from "./pod/status-manager.js";
import { runLifecycleHandler } from "./prober/handlers.js";
import { ProberManager } from "./prober/manager.js";
import { CachedRuntime } from "./runtime/cached.js";
import { type ContainerdProcess, containerdVersion, startContainerd } from "./runtime/containerd.js";
import { CtrRuntime } from "./runtime/ctr/runtime.js";
import { KubeletServer } from "./server/server.js";
import { UnshareUTSNamespaces } from "./uts/unshare.js";
import { DirVolumeManager } from "./volume/dir-volume-manager.js";
import { ClientObjectSource } from "./volume/sources.js";

const asset = (name: string) => fileURLToPath(new URL(`../assets/${name}`, import.meta.url));
const MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

export class Kubelet implements Component {
  readonly name = "kubelet";
  readonly health = new Health();
  readonly metrics = new Registry();
  readonly stop: () => Promise<void>;
  private readonly readiness = new Readiness();
  private readonly log: Logger;
  private containerd: ContainerdProcess | undefined;
  private client: KubeClient | undefined;
  private runtime: CachedRuntime | undefined;
  private network: NetnsPodNetwork | undefined;
  private uts: UnshareUTSNamespaces | undefined;
  /** --fabric: the node namespace's link to the other nodes on this machine, and its routes. */
  private fabric: NodeFabric | undefined;
  private routes: RouteController | undefined;
  private shuttingDown = false;
  private gateway: KubeletGateway | undefined;
  private cgroups: CgroupfsPodCgroups | undefined;
  private workers: PodWorkers | undefined;
  private statusManager: StatusManager | undefined;
  private prober: ProberManager | undefined;
  private server: KubeletServer | undefined;
  private pods: Informer<Pod> | undefined;
  private services: Informer<Service> | undefined;
  private node: NodeAgents | undefined;
  private broadcaster: EventBroadcaster | undefined;
  private recorder: EventRecorder | undefined;
  private networkReady = false;
  /** Settles once the node's network is set up (or rejects when the agent stops first). */
  private readonly networkReadiness = new Readiness();
  private starting: Promise<void> | undefined;
  /** Static pods from --pod-manifest-path, by uid. */
  private staticPods = new Map<string, Pod>();

  constructor(readonly options: AgentOptions) {
    this.stop = once(() => this.shutdown());
    this.log = newLogger("kubelet", "info", { node: options.nodeName });
  }

  /**
   * Resolves once the node's network is up: its namespace, pod CIDR and gateway (what kube-proxy
   * and the DNS server need); rejects if the agent stops before.
   */
  nodeNetworkReady(): Promise<void> {
    return this.networkReadiness.promise;
  }

  /** The node's address (its InternalIP), once its network is set up. */
  nodeIP(): string | undefined {
    const ip = this.networkReady ? this.network?.nodeIP() : undefined;
    return ip === "" ? undefined : ip;
  }

  get ready(): Promise<void> {
    return this.readiness.promise;
  }

  describe(): Record<string, unknown> {
    return {
      node: this.options.nodeName,
      dataDir: this.options.dataDir,
      kubeletPort: this.server?.port,
      network: this.options.hostNetwork ? "host" : `netns skiff-${this.options.nodeName}`,
      fabric: this.fabric?.fabricNetns,
    };
  }

  start(): Promise<void> {
    this.starting ??= this.open().then(
      () => this.readiness.resolve(),
      (e: unknown) => {
        this.readiness.reject(e);
        throw e;
      },
    );
    return this.starting;
  }

  private async open(): Promise<void> {
    const o = this.options;
    const log = this.log;
    // The caller makes the serving certificate (skiff server: from the cluster CA; skiff agent: its own).
    const servingCert = o.servingCert;
    if (servingCert === undefined) throw new Error("kubelet: no serving certificate given");
    mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
    if (o.containerdAddress === undefined)
      this.containerd = await startContainerd({ dir: join(o.dataDir, "containerd"), logger: log });
    const address = o.containerdAddress ?? (this.containerd as ContainerdProcess).address;
    const ctr = new CtrRuntime({
      address,
      namespace: `skiff-${o.nodeName}`,
      stateDir: join(o.dataDir, "runtime"),
      loggerPath: asset("skiff-logger"),
      logMaxSize: o.containerLogMaxSize,
      logMaxFiles: o.containerLogMaxFiles,
      logger: log,
    });
    const runtime = new CachedRuntime(ctr);
    this.runtime = runtime;
    await ctr.start();
    await this.importImages(runtime);
    const runtimeVersion = `containerd://${await containerdVersion(address)}`;

    const client = new KubeClient(o.client);
    this.client = client;
    const network = new NetnsPodNetwork({
      nodeName: o.nodeName,
      dataDir: o.dataDir,
      mode: o.hostNetwork ? "host" : "netns",
      nodeIP: o.nodeIP,
      logger: log,
    });
    this.network = network;
    const uts = new UnshareUTSNamespaces({ dir: join(o.dataDir, "uts"), logger: log });
    this.uts = uts;
    if (o.fabric !== undefined && o.nodeIP !== undefined)
      this.fabric = new NodeFabric({ fabric: o.fabric, nodeName: o.nodeName, nodeIP: o.nodeIP, logger: log });
    const cgroups = new CgroupfsPodCgroups({ nodeName: o.nodeName, logger: log });
    this.cgroups = cgroups;
    const broadcaster = new EventBroadcaster({ client });
    this.broadcaster = broadcaster;
    const recorder = broadcaster.newRecorder({ component: "kubelet", host: o.nodeName });
    this.recorder = recorder;
    const sources = new ClientObjectSource(client);
    this.services = new Informer<Service>(client.resource<Service>("v1", "services"), {
      onError: (e) => log.warn({ err: String(e) }, "services informer"),
    }).start();
    const services = this.services;
    const logsRoot = join(o.dataDir, "logs");
    // Until the pod's first sync after a restart, the status the API holds names its containers.
    const podLogs = new PodLogs(
      runtime,
      logsRoot,
      (uid) =>
        this.statusManager?.getPodStatus(uid) ??
        (this.pods?.list().find((p) => p.metadata.uid === uid)?.status as KubeletPodStatus | undefined),
    );
    this.server = new KubeletServer({
      host: o.address,
      port: o.port,
      tls: servingCert,
      clientCA: o.clientCA ?? o.client.ca ?? "",
      deps: {
        getPod: (ns, name) => this.pods?.get(`${ns}/${name}`) ?? this.staticPodByName(ns, name),
        listPods: () => [...(this.pods?.list() ?? []), ...this.staticPods.values()],
        containerID: (uid, name, opts) => podLogs.containerID(uid, name, opts.previous),
        logFiles: (pod, name, previous) => podLogs.logFiles(pod, name, previous),
        readLogs: (files, opts, out, stop) => podLogs.read(files, opts, out, stop),
        containerRunning: (id) => podLogs.running(id),
        exec: (id, opts) => runtime.exec(id, opts),
        dial: async (pod, port) => {
          const ip = pod.status?.podIP;
          if (ip === undefined || ip === "") throw new Error(`pod ${pod.metadata.name} has no IP address`);
          return network.dial(ip, port, 10_000);
        },
        logger: log,
      },
    });
    await this.server.listen();
    const node = await NodeAgents.create({
      options: o,
      client,
      runtime,
      runtimeVersion,
      logger: log,
      networkReady: () => this.networkReady,
      nodeIP: () => network.nodeIP(),
      kubeletPort: () => this.server?.port ?? o.port,
      activePods: () => this.activePods(),
      evictPod: (pod, message, grace) =>
        this.workers?.terminatePod(pod.metadata.uid ?? "", {
          gracePeriodSeconds: grace,
          reason: "Evicted",
          message,
        }),
      killPod: async (pod, grace, reason, message) => {
        const uid = pod.metadata.uid ?? "";
        this.workers?.terminatePod(uid, { gracePeriodSeconds: grace, reason, message });
        while (this.workers !== undefined && !this.workers.podResourcesAreReclaimed(uid))
          await new Promise((r) => setTimeout(r, 200));
      },
      podMemoryWorkingSet: (uid) => cgroups.podMemoryWorkingSet(uid),
      onPodCIDR: (cidr) => void this.onPodCIDR(cidr),
      onStaticPods: (pods) => this.onStaticPods(pods),
    });
    this.node = node;
    const allocatable = () => node.allocatable();
    const volumes = new DirVolumeManager({
      podsDir: join(o.dataDir, "pods"),
      sources,
      nodeName: o.nodeName,
      logger: log,
      nodeAllocatable: allocatable,
      clusterDomain: o.clusterDomain,
      dns: {
        clusterDNS: o.clusterDNS,
        resolvConf: o.resolvConf,
        recordEvent: (pod, reason, message) => recorder.event(podRef(pod), "Warning", reason, message),
      },
    });
    const statusManager = new StatusManager({ client, logger: log });
    this.statusManager = statusManager;
    const dial = (host: string, port: number, timeoutMs: number) => network.dial(host, port, timeoutMs);
    const execSync = (id: string, cmd: readonly string[], timeoutMs: number) =>
      runtime.execSync(id.replace(/^containerd:\/\//, ""), cmd, timeoutMs);
    const prober = new ProberManager({
      dial,
      execSync,
      getPodStatus: (uid) => statusManager.getPodStatus(uid),
      recorder,
      logger: log,
    });
    this.prober = prober;
    this.workers = new PodWorkers({
      runtime,
      network,
      uts,
      cgroups,
      volumes,
      probes: prober,
      statusManager,
      recorder,
      makeEnvironment: (pod, container, podIP) =>
        makeEnvironment(pod, container, {
          podIP,
          hostIP: network.nodeIP(),
          nodeName: o.nodeName,
          sources,
          services: async (ns) => services.list().filter((s) => s.metadata.namespace === ns),
          nodeAllocatable: allocatable(),
          recordEvent: (type, reason, message) => recorder.event(podRef(pod), type, reason, message),
        }),
      logPathFor: (pod, name, restartCount) =>
        join(
          logsRoot,
          `${pod.metadata.namespace}_${pod.metadata.name}_${pod.metadata.uid}`,
          name,
          `${restartCount}.log`,
        ),
      runHandler: async (pod, container, containerID, handler, timeoutMs) => {
        const err = await runLifecycleHandler(pod, container, containerID, handler, timeoutMs, {
          dial,
          execSync,
          podIP: statusManager.getPodStatus(pod.metadata.uid ?? "")?.podIP,
        });
        if (err !== undefined) throw new Error(err);
      },
      logger: log,
    });
    this.pods = new Informer<Pod>(client.resource<Pod>("v1", "pods"), {
      fieldSelector: `spec.nodeName=${o.nodeName}`,
      onAdd: (p) => this.onPod(p),
      onUpdate: (_old, p) => this.onPod(p),
      onDelete: (p) => this.workers?.removePod(p.metadata.uid ?? ""),
      onError: (e) => log.warn({ err: String(e) }, "pods informer"),
    });
    await node.start();
    this.pods.start();
    this.health.addReadyz("pods-informer", () => (this.pods?.hasSynced() ? undefined : "pods not synced"));
  }

  /** Imports every OCI tarball of the image directory (the busybox image is built there first). */
  private async importImages(runtime: CachedRuntime): Promise<void> {
    const dir = this.options.imageDir;
    await ensureBusyboxImage(dir);
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith(".tar"))
      .sort()) {
      try {
        await runtime.importImage(join(dir, f));
      } catch (e) {
        this.log.warn({ file: f, err: String(e) }, "image import failed");
      }
    }
  }

  /** The node has its pod CIDR: set up its network, then start the pod workers (once). */
  private async onPodCIDR(cidr: string): Promise<void> {
    if (this.networkReady || this.network === undefined || this.workers === undefined) return;
    try {
      await this.network.setUpNode(cidr);
      await this.joinFabric();
      await this.startGateway();
      await this.workers.start();
      this.networkReady = true;
      this.networkReadiness.resolve();
      this.log.info({ podCIDR: cidr }, "node network ready");
      this.node?.requestStatusUpdate();
      for (const p of this.pods?.list() ?? []) this.onPod(p);
      for (const p of this.staticPods.values()) this.workers.updatePod(p);
      if (this.pods !== undefined) {
        await this.pods.waitForSync();
        const active = new Set(
          [...this.pods.list(), ...this.staticPods.values()].map((p) => p.metadata.uid ?? ""),
        );
        await this.workers.cleanupOrphanedPods(active);
      }
    } catch (e) {
      this.log.error({ err: String(e), podCIDR: cidr }, "node network set-up failed");
    }
  }

  /** On a fabric: join it (idempotent), then keep the routes to the other nodes' pod CIDRs. */
  private async joinFabric(): Promise<void> {
    if (this.fabric === undefined || this.client === undefined) return;
    await this.fabric.join();
    if (this.shuttingDown) return;
    this.routes ??= new RouteController({ client: this.client, fabric: this.fabric, logger: this.log });
    this.routes.start();
  }

  /**
   * The node gateway (DNS and the API server relay in the node namespace). A failed start is
   * logged, not fatal: the gateway keeps retrying, and pods run without it meanwhile.
   */
  private async startGateway(): Promise<void> {
    const network = this.network;
    if (network === undefined || this.gateway !== undefined) return;
    const o = this.options;
    this.gateway = new KubeletGateway({
      nodeName: o.nodeName,
      dataDir: o.dataDir,
      netns: network.nodeNetns,
      nodeIP: () => network.nodeIP(),
      client: o.client,
      listeners: o.gatewayListeners ?? [],
      logger: this.log,
    });
    await this.gateway
      .start()
      .catch((e: unknown) => this.log.error({ err: String(e) }, "node gateway start failed; retrying"));
  }

  private onPod(pod: Pod): void {
    if (!this.networkReady || this.workers === undefined) return;
    // A mirror pod is the API's view of a static pod this kubelet already runs.
    if (pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined) return;
    const uid = pod.metadata.uid ?? "";
    if (
      this.workers.podPhase(uid) === undefined &&
      pod.status?.phase !== "Succeeded" &&
      pod.status?.phase !== "Failed"
    ) {
      const rejection = admitPod(pod, this.activePods(), {
        allocatable: this.node?.allocatable() ?? {},
        maxPods: this.options.maxPods,
        extra: this.node?.admit(pod),
      });
      if (rejection !== undefined) {
        this.statusManager?.setPodStatus(pod, rejection.status);
        this.recorder?.event(podRef(pod), "Warning", rejection.reason, rejection.message);
        return;
      }
    }
    this.workers.updatePod(pod);
  }

  private onStaticPods(pods: Pod[]): void {
    const next = new Map(pods.map((p) => [p.metadata.uid ?? "", p]));
    for (const uid of this.staticPods.keys()) if (!next.has(uid)) this.workers?.removePod(uid);
    this.staticPods = next;
    if (this.networkReady) for (const p of pods) this.workers?.updatePod(p);
  }

  private staticPodByName(ns: string, name: string): Pod | undefined {
    for (const p of this.staticPods.values())
      if (p.metadata.namespace === ns && p.metadata.name === name) return p;
    return undefined;
  }

  /** Pods this kubelet runs that are not finished (kube's GetActivePods). */
  private activePods(): Pod[] {
    const all = [...(this.pods?.list() ?? []), ...this.staticPods.values()];
    return all.filter((p) => {
      if (p.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined) return false;
      const phase = this.statusManager?.getPodStatus(p.metadata.uid ?? "")?.phase ?? p.status?.phase;
      return (
        phase !== "Succeeded" &&
        phase !== "Failed" &&
        this.workers?.podPhase(p.metadata.uid ?? "") !== "terminated"
      );
    });
  }

  private async shutdown(): Promise<void> {
    this.shuttingDown = true;
    await this.starting?.catch(() => undefined);
    if (!this.readiness.settled) this.readiness.reject(new Error("kubelet stopped before it was ready"));
    if (!this.networkReadiness.settled)
      this.networkReadiness.reject(new Error("kubelet stopped before its node network was ready"));
    // Graceful node shutdown (--shutdown-grace-period): every pod ends before the agent does.
    await this.node?.shutdownPods();
    await this.server?.close().catch(() => undefined);
    await this.node?.stop();
    this.pods?.stop();
    this.services?.stop();
    await this.routes?.stop();
    this.prober?.stop();
    await this.workers?.stop();
    await this.statusManager?.idle().catch(() => undefined);
    this.statusManager?.stop();
    await this.broadcaster?.shutdown?.();
    // Before the node namespace may go: the gateway runs inside it.
    await this.gateway?.stop().catch((e) => this.log.warn({ err: String(e) }, "node gateway stop"));
    const leftovers = (await this.runtime?.listContainers().catch(() => [{}])) ?? [];
    await this.runtime?.close();
    // With no container left the node's namespace, cgroups and pods' UTS namespaces go too; else
    // the next agent adopts them.
    if (leftovers.length === 0) {
      // Off the fabric first; the last node out removes the fabric's namespace.
      await this.fabric?.leave().catch((e) => this.log.warn({ err: String(e) }, "fabric leave"));
      await this.network
        ?.tearDownNode()
        .catch((e) => this.log.warn({ err: String(e) }, "node network teardown"));
      await this.cgroups
        ?.removeNode()
        .catch((e) => this.log.warn({ err: String(e) }, "node cgroups removal"));
      await this.uts
        ?.tearDownNode()
        .catch((e) => this.log.warn({ err: String(e) }, "pod UTS namespaces removal"));
    }
    await this.network?.close();
    await this.containerd?.stop();
    await this.client?.close();
  }
}

function podRef(pod: Pod) {
  return {
    kind: "Pod",
    apiVersion: "v1",
    namespace: pod.metadata.namespace,
    name: pod.metadata.name,
    uid: pod.metadata.uid,
  };
}
