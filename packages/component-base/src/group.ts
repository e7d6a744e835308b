/**
 * Several components run as one, as k3s's agent runs the kubelet and kube-proxy in one process:
 * started in the order given (each after the one before is ready, since later ones may lean on
 * earlier ones: kube-proxy programs the node namespace the kubelet made), stopped in reverse,
 * their health checks and metrics served together. A member that fails to start stops the ones
 * already started.
 */
import { Registry } from "prom-client";
import { type Component, once, Readiness } from "./component.js";
import { Health } from "./health.js";

export class ComponentGroup implements Component {
  readonly health = new Health();
  readonly metrics = new Registry();
  readonly stop: () => Promise<void>;
  private readonly readiness = new Readiness();
  private readonly started: Component[] = [];
  private readonly afterStop: (() => Promise<void>) | undefined;

  constructor(
    readonly name: string,
    readonly members: readonly Component[],
    /** Runs once, after every member has stopped (what the members shared: a client, a socket). */
    afterStop?: () => Promise<void>,
  ) {
    this.afterStop = afterStop === undefined ? undefined : once(afterStop);
    if (members.length === 0) throw new Error(`${name}: a component group needs members`);
    this.stop = once(() => this.shutdown());
    for (const m of members) {
      this.health.addLivez(m.name, async () => failing(m, "livez"));
      this.health.addReadyz(m.name, async () => failing(m, "readyz"));
    }
    // One exposition of every member's metrics, as one process's /metrics.
    this.metrics.metrics = async () => (await Promise.all(members.map((m) => m.metrics.metrics()))).join("");
  }

  get ready(): Promise<void> {
    return this.readiness.promise;
  }

  describe(): Record<string, unknown> {
    return Object.assign({}, ...this.members.map((m) => m.describe()));
  }

  async start(): Promise<void> {
    try {
      for (const m of this.members) {
        this.started.push(m);
        await m.start();
        await m.ready;
      }
      this.readiness.resolve();
    } catch (e) {
      this.readiness.reject(e);
      await this.shutdown();
      throw e;
    }
  }

  private async shutdown(): Promise<void> {
    for (const m of [...this.started].reverse()) await m.stop();
    this.started.length = 0;
    await this.afterStop?.();
  }
}

async function failing(m: Component, endpoint: "livez" | "readyz"): Promise<string | undefined> {
  const names = await m.health.failing(endpoint);
  return names.length === 0 ? undefined : `${m.name}: ${names.join(", ")}`;
}
