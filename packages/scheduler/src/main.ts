/**
 * `skiff scheduler [flags]`: kube-scheduler as its own process. It serves /metrics and the health
 * endpoints on --metrics-bind-address, and exits 1 when it loses its lease (as kube-scheduler).
 */
import { runComponent, serveOps } from "@skiff/component-base";
import { SchedulerComponent } from "./component.js";
import { parseSchedulerFlags } from "./options.js";

export async function runScheduler(argv: readonly string[]): Promise<number> {
  const o = parseSchedulerFlags(argv);
  const c = new SchedulerComponent(o);
  const ops =
    o.metricsBindAddress === undefined
      ? undefined
      : await serveOps([o.metricsBindAddress], { health: c.health, metrics: c.metrics });
  try {
    const code = await runComponent(c, { until: c.lost });
    return c.leaseLost ? 1 : code;
  } finally {
    await ops?.close();
  }
}
