/**
 * `skiff agent [flags]`: the kubelet as its own process. SIGTERM stops it; with
 * --shutdown-grace-period it first terminates its pods by priority (graceful node shutdown),
 * otherwise the pods keep running and the next agent adopts them.
 */
import { runComponent } from "@skiff/component-base";
import { Kubelet } from "./kubelet.js";
import { parseAgentFlags } from "./options.js";

export async function runAgent(argv: readonly string[]): Promise<number> {
  return runComponent(new Kubelet(parseAgentFlags(argv)));
}
