/**
 * frameworkImpl (pkg/scheduler/framework/runtime/framework.go): one profile's plugins, built once
 * from the registry, and the Run*Plugins methods the scheduling cycle calls at each extension
 * point. Filter stops at the first plugin that rejects a node (kube's default); Score sums each
 * plugin's normalized score times its weight.
 */
import type { Pod } from "@skiff/api";
import { CycleState } from "./cycle-state.js";
import {
  type BindPlugin,
  type ClusterEventWithHint,
  type FilterPlugin,
  type Handle,
  MAX_NODE_SCORE,
  MIN_NODE_SCORE,
  type NodeScore,
  type NodeToStatus,
  type PermitPlugin,
  type Plugin,
  type PluginFactory,
  type PostBindPlugin,
  type PostFilterPlugin,
  type PostFilterResult,
  type PreBindPlugin,
  type PreEnqueuePlugin,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type QueueSortPlugin,
  type ReservePlugin,
  type ScorePlugin,
} from "./interface.js";
import type { NodeInfo } from "./node-info.js";
import type { PodInfo, QueuedPodInfo } from "./pod-info.js";
import { type ExtensionPoint, POINT_METHOD, type Profile, pluginsAt } from "./profile.js";
import { Code, isSuccess, Status } from "./status.js";

type Has<K extends string> = Plugin & Record<K, unknown>;
const has =
  <K extends string>(k: K) =>
  (p: Plugin): p is Has<K> =>
    typeof (p as unknown as Record<string, unknown>)[k] === "function";

export interface WaitingPod {
  pod: Pod;
  /** Resolves with the permit verdict (Success, or a rejection / timeout). */
  result: Promise<Status>;
  allow(plugin: string): void;
  reject(plugin: string, msg: string): void;
}

export class Framework {
  readonly profileName: string;
  readonly percentageOfNodesToScore: number | undefined;
  readonly plugins = new Map<string, Plugin>();
  readonly preEnqueue: PreEnqueuePlugin[] = [];
  readonly queueSort: QueueSortPlugin;
  readonly preFilter: PreFilterPlugin[] = [];
  readonly filter: FilterPlugin[] = [];
  readonly postFilter: PostFilterPlugin[] = [];
  readonly preScore: PreScorePlugin[] = [];
  readonly score: { plugin: ScorePlugin; weight: number }[] = [];
  readonly reserve: ReservePlugin[] = [];
  readonly permit: PermitPlugin[] = [];
  readonly preBind: PreBindPlugin[] = [];
  readonly bind: BindPlugin[] = [];
  readonly postBind: PostBindPlugin[] = [];
  readonly waitingPods = new Map<string, WaitingPod>();

  constructor(
    profile: Profile,
    registry: ReadonlyMap<string, PluginFactory>,
    readonly handle: Handle,
  ) {
    this.profileName = profile.schedulerName;
    this.percentageOfNodesToScore = profile.percentageOfNodesToScore;
    const instance = (name: string): Plugin => {
      let p = this.plugins.get(name);
      if (p !== undefined) return p;
      const factory = registry.get(name);
      if (factory === undefined) throw new Error(`plugin "${name}" does not exist`);
      try {
        p = factory(profile.pluginConfig.get(name), handle);
      } catch (e) {
        throw new Error(`initializing plugin "${name}": ${e instanceof Error ? e.message : String(e)}`);
      }
      this.plugins.set(name, p);
      return p;
    };
    // A plugin's instance is made (once) only when some point needs it; asking whether a
    // multiPoint plugin implements a point makes it.
    const implementsPoint = (point: ExtensionPoint) => (name: string) =>
      typeof (instance(name) as unknown as Record<string, unknown>)[POINT_METHOD[point]] === "function";
    const at = (point: ExtensionPoint, into: Plugin[]) => {
      for (const { name } of pluginsAt(profile, point, implementsPoint(point))) {
        const p = instance(name);
        if (!has(POINT_METHOD[point])(p)) throw new Error(`plugin "${name}" does not extend ${point} plugin`);
        into.push(p);
      }
    };
    at("preEnqueue", this.preEnqueue);
    const sorts: Plugin[] = [];
    at("queueSort", sorts);
    if (sorts.length !== 1)
      throw new Error(
        `profile "${profile.schedulerName}": exactly one queue sort plugin is required, got ${sorts.length}`,
      );
    this.queueSort = sorts[0] as QueueSortPlugin;
    at("preFilter", this.preFilter);
    at("filter", this.filter);
    at("postFilter", this.postFilter);
    at("preScore", this.preScore);
    for (const { name, weight } of pluginsAt(profile, "score", implementsPoint("score"))) {
      const p = instance(name);
      if (!has("score")(p)) throw new Error(`plugin "${name}" does not extend score plugin`);
      this.score.push({ plugin: p as unknown as ScorePlugin, weight: weight ?? 1 });
    }
    at("reserve", this.reserve);
    at("permit", this.permit);
    at("preBind", this.preBind);
    at("bind", this.bind);
    at("postBind", this.postBind);
    if (this.bind.length === 0)
      throw new Error(`profile "${profile.schedulerName}": at least one bind plugin is needed`);
  }

  /** Every enabled plugin's registered cluster events, for the queue. */
  eventsToRegister(): Map<string, ClusterEventWithHint[]> {
    const out = new Map<string, ClusterEventWithHint[]>();
    for (const [name, p] of this.plugins) {
      const f = (p as unknown as { eventsToRegister?: () => ClusterEventWithHint[] }).eventsToRegister;
      if (typeof f === "function") out.set(name, f.call(p));
    }
    return out;
  }

  less = (a: QueuedPodInfo, b: QueuedPodInfo): boolean => this.queueSort.less(a, b);

  runPreEnqueuePlugins(pod: Pod): Status | undefined {
    for (const p of this.preEnqueue) {
      const s = p.preEnqueue(pod);
      if (!isSuccess(s)) return (s as Status).withPlugin(p.name);
    }
    return undefined;
  }

  /**
   * PreFilter: the merged node-name restriction, or a rejection (every node then gets it). A
   * plugin returning Skip has its Filter skipped this cycle.
   */
  runPreFilterPlugins(
    state: CycleState,
    pod: Pod,
    nodes: readonly NodeInfo[],
  ): { result?: PreFilterResult; status?: Status; unschedulablePlugins: Set<string> } {
    let result: PreFilterResult | undefined;
    const unschedulablePlugins = new Set<string>();
    for (const p of this.preFilter) {
      let r: ReturnType<PreFilterPlugin["preFilter"]>;
      try {
        r = p.preFilter(state, pod, nodes);
      } catch (e) {
        return { status: Status.error(e).withPlugin(p.name), unschedulablePlugins };
      }
      const s = r.status;
      if (s?.isSkip()) {
        state.skipFilterPlugins.add(p.name);
        continue;
      }
      if (!isSuccess(s)) {
        const st = (s as Status).withPlugin(p.name);
        if (st.isRejected()) unschedulablePlugins.add(p.name);
        return { status: st, unschedulablePlugins };
      }
      if (r.result?.nodeNames !== undefined) {
        const prev = result?.nodeNames;
        const names =
          prev === undefined
            ? r.result.nodeNames
            : new Set([...prev].filter((n) => r.result?.nodeNames?.has(n)));
        result = { nodeNames: names };
        if (names.size === 0) {
          unschedulablePlugins.add(p.name);
          return {
            result,
            status: Status.unresolvable(
              `node(s) didn't satisfy plugin(s) [${p.name}] simultaneously`,
            ).withPlugin(p.name),
            unschedulablePlugins,
          };
        }
      }
    }
    return result === undefined ? { unschedulablePlugins } : { result, unschedulablePlugins };
  }

  /** Filter on one node: the first rejection (or error) wins. */
  runFilterPlugins = (state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status | undefined => {
    for (const p of this.filter) {
      if (state.skipFilterPlugins.size > 0 && state.skipFilterPlugins.has(p.name)) continue;
      let s: Status | undefined;
      try {
        s = p.filter(state, pod, nodeInfo);
      } catch (e) {
        return Status.error(e).withPlugin(p.name);
      }
      if (s !== undefined && s.code !== Code.Success) return s.withPlugin(p.name);
    }
    return undefined;
  };

  /**
   * runFilterPluginsWithNominatedPods: a node must fit the pod both with and without the
   * nominated pods of equal or higher priority that preemption has promised to it.
   */
  runFilterPluginsWithNominatedPods(state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status | undefined {
    const nominated = this.handle.podNominator.nominatedPodsForNode(nodeInfo.name);
    if (nominated.length > 0) {
      const prio = pod.spec.priority ?? 0;
      const more = nominated.filter(
        (pi) => (pi.pod.spec.priority ?? 0) >= prio && pi.uid !== pod.metadata.uid,
      );
      if (more.length > 0) {
        const ni = nodeInfo.clone();
        const st = state.clone();
        for (const pi of more) {
          ni.addPod(pi);
          const s = this.runPreFilterExtensionAddPod(st, pod, pi, ni);
          if (!isSuccess(s)) return s;
        }
        const s = this.runFilterPlugins(st, pod, ni);
        if (!isSuccess(s)) return s;
      }
    }
    return this.runFilterPlugins(state, pod, nodeInfo);
  }

  runPreFilterExtensionAddPod = (
    state: CycleState,
    pod: Pod,
    pi: PodInfo,
    ni: NodeInfo,
  ): Status | undefined => this.runPreFilterExtension("addPod", state, pod, pi, ni);

  runPreFilterExtensionRemovePod = (
    state: CycleState,
    pod: Pod,
    pi: PodInfo,
    ni: NodeInfo,
  ): Status | undefined => this.runPreFilterExtension("removePod", state, pod, pi, ni);

  /** AddPod / RemovePod of every PreFilter plugin not skipped this cycle; the first failure wins. */
  private runPreFilterExtension(
    which: "addPod" | "removePod",
    state: CycleState,
    pod: Pod,
    pi: PodInfo,
    ni: NodeInfo,
  ): Status | undefined {
    for (const p of this.preFilter) {
      if (state.skipFilterPlugins.has(p.name)) continue;
      const s = p.preFilterExtensions?.()?.[which](state, pod, pi, ni);
      if (!isSuccess(s)) return (s as Status).withPlugin(p.name);
    }
    return undefined;
  }

  /** PostFilter (preemption): the first plugin that succeeds (or errs) ends the run. */
  async runPostFilterPlugins(
    state: CycleState,
    pod: Pod,
    statuses: NodeToStatus,
  ): Promise<{ result?: PostFilterResult; status: Status }> {
    const reasons: string[] = [];
    for (const p of this.postFilter) {
      let r: Awaited<ReturnType<PostFilterPlugin["postFilter"]>>;
      try {
        r = await p.postFilter(state, pod, statuses);
      } catch (e) {
        return { status: Status.error(e).withPlugin(p.name) };
      }
      const s = r.status;
      if (isSuccess(s))
        return { ...(r.result === undefined ? {} : { result: r.result }), status: Status.success() };
      if ((s as Status).code === Code.Error) return { status: (s as Status).withPlugin(p.name) };
      reasons.push(...(s as Status).reasons);
      if (r.result?.nominatedNodeName !== undefined)
        return { result: r.result, status: (s as Status).withPlugin(p.name) };
    }
    return { status: new Status(Code.Unschedulable, reasons) };
  }

  runPreScorePlugins(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): Status | undefined {
    for (const p of this.preScore) {
      let s: Status | undefined;
      try {
        s = p.preScore(state, pod, nodes);
      } catch (e) {
        return Status.error(e).withPlugin(p.name);
      }
      if (s?.isSkip()) {
        state.skipScorePlugins.add(p.name);
        continue;
      }
      if (!isSuccess(s)) return (s as Status).withPlugin(p.name);
    }
    return undefined;
  }

  /** Score, normalize and weigh: the total per node, in the order of `nodes`. */
  runScorePlugins(
    state: CycleState,
    pod: Pod,
    nodes: readonly NodeInfo[],
  ): { totals: number[]; status?: Status } {
    const totals = new Array<number>(nodes.length).fill(0);
    for (const { plugin: p, weight } of this.score) {
      if (state.skipScorePlugins.has(p.name)) continue;
      const scores: NodeScore[] = new Array(nodes.length);
      try {
        for (let i = 0; i < nodes.length; i++) {
          const ni = nodes[i] as NodeInfo;
          const r = p.score(state, pod, ni);
          if (!isSuccess(r.status)) return { totals, status: (r.status as Status).withPlugin(p.name) };
          scores[i] = { name: ni.name, score: r.score };
        }
        const ext = p.scoreExtensions?.();
        if (ext !== undefined) {
          const s = ext.normalizeScore(state, pod, scores);
          if (!isSuccess(s)) return { totals, status: (s as Status).withPlugin(p.name) };
        }
      } catch (e) {
        return { totals, status: Status.error(e).withPlugin(p.name) };
      }
      for (let i = 0; i < nodes.length; i++) {
        const sc = (scores[i] as NodeScore).score;
        if (sc > MAX_NODE_SCORE || sc < MIN_NODE_SCORE)
          return {
            totals,
            status: Status.error(
              new Error(
                `plugin "${p.name}" returns an invalid score ${sc}, it should in the range of [0, 100] after normalizing`,
              ),
            ).withPlugin(p.name),
          };
        totals[i] = (totals[i] as number) + sc * weight;
      }
    }
    return { totals };
  }

  runReservePluginsReserve(state: CycleState, pod: Pod, nodeName: string): Status | undefined {
    for (const p of this.reserve) {
      let s: Status | undefined;
      try {
        s = p.reserve(state, pod, nodeName);
      } catch (e) {
        s = Status.error(e);
      }
      if (!isSuccess(s)) return (s as Status).withPlugin(p.name);
    }
    return undefined;
  }

  /** In reverse order, every plugin, errors swallowed (Unreserve must not fail). */
  runReservePluginsUnreserve(state: CycleState, pod: Pod, nodeName: string): void {
    for (let i = this.reserve.length - 1; i >= 0; i--) {
      try {
        this.reserve[i]?.unreserve(state, pod, nodeName);
      } catch {
        // kube logs and goes on.
      }
    }
  }

  /** Permit: a rejection, Success, or Wait (the pod joins waitingPods until allowed, rejected or timed out). */
  runPermitPlugins(state: CycleState, pod: Pod, nodeName: string): Status | undefined {
    const waits = new Map<string, number>();
    for (const p of this.permit) {
      let r: ReturnType<PermitPlugin["permit"]>;
      try {
        r = p.permit(state, pod, nodeName);
      } catch (e) {
        return Status.error(e).withPlugin(p.name);
      }
      if (r.status?.isWait()) {
        waits.set(p.name, Math.min(r.timeoutMs ?? 15 * 60_000, 15 * 60_000));
        continue;
      }
      if (!isSuccess(r.status)) return (r.status as Status).withPlugin(p.name);
    }
    if (waits.size === 0) return undefined;
    this.waitingPods.set(pod.metadata.uid ?? "", this.newWaitingPod(pod, waits));
    return new Status(Code.Wait);
  }

  private newWaitingPod(pod: Pod, waits: Map<string, number>): WaitingPod {
    let settle!: (s: Status) => void;
    const result = new Promise<Status>((r) => {
      settle = r;
    });
    const timers: NodeJS.Timeout[] = [];
    const pending = new Set(waits.keys());
    const finish = (s: Status) => {
      for (const t of timers) clearTimeout(t);
      this.waitingPods.delete(pod.metadata.uid ?? "");
      settle(s);
    };
    const wp: WaitingPod = {
      pod,
      result,
      allow: (plugin) => {
        pending.delete(plugin);
        if (pending.size === 0) finish(Status.success());
      },
      reject: (plugin, msg) => finish(Status.unschedulable(msg).withPlugin(plugin)),
    };
    for (const [plugin, ms] of waits)
      timers.push(
        setTimeout(
          () => wp.reject(plugin, `rejected due to timeout after waiting ${ms / 1000}s at plugin ${plugin}`),
          ms,
        ),
      );
    return wp;
  }

  /** Resolves once a waiting pod is allowed or rejected; Success at once for a pod that does not wait. */
  async waitOnPermit(pod: Pod): Promise<Status | undefined> {
    const wp = this.waitingPods.get(pod.metadata.uid ?? "");
    if (wp === undefined) return undefined;
    const s = await wp.result;
    return isSuccess(s) ? undefined : s;
  }

  async runPreBindPlugins(state: CycleState, pod: Pod, nodeName: string): Promise<Status | undefined> {
    for (const p of this.preBind) {
      let s: Status | undefined;
      try {
        s = await p.preBind(state, pod, nodeName);
      } catch (e) {
        s = Status.error(e);
      }
      if (!isSuccess(s)) return (s as Status).withPlugin(p.name);
    }
    return undefined;
  }

  async runBindPlugins(state: CycleState, pod: Pod, nodeName: string): Promise<Status | undefined> {
    for (const p of this.bind) {
      let s: Status | undefined;
      try {
        s = await p.bind(state, pod, nodeName);
      } catch (e) {
        s = Status.error(e);
      }
      if (s?.isSkip()) continue;
      return isSuccess(s) ? undefined : (s as Status).withPlugin(p.name);
    }
    return Status.error(new Error("no bind plugin bound the pod")).withPlugin("");
  }

  runPostBindPlugins(state: CycleState, pod: Pod, nodeName: string): void {
    for (const p of this.postBind) {
      try {
        p.postBind(state, pod, nodeName);
      } catch {
        // Informational only.
      }
    }
  }

  newCycleState(): CycleState {
    return new CycleState();
  }
}
