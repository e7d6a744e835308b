/**
 * `skiff controller-manager [flags]`: kube-controller-manager as its own process. It serves
 * /metrics and the health endpoints on --metrics-bind-address, and exits 1 when it loses its
 * lease (as kube-controller-manager).
 */
import { runComponent, serveOps } from "@skiff/component-base";
import { ControllerManagerComponent } from "./component.js";
import { parseControllerManagerFlags } from "./options.js";

export async function runControllerManager(argv: readonly string[]): Promise<number> {
  const o = parseControllerManagerFlags(argv);
  const c = new ControllerManagerComponent(o);
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
