/** `skiff hollow-nodes [flags]`: the hollow nodes as their own process (runComponent). */
import { runComponent } from "@skiff/component-base";
import { HollowNodes } from "./hollow-nodes.js";
import { parseHollowNodesFlags } from "./options.js";

/** Runs until SIGTERM or SIGINT, then stops cleanly; resolves to the exit code. */
export async function runHollowNodes(argv: readonly string[]): Promise<number> {
  return runComponent(new HollowNodes(parseHollowNodesFlags(argv)));
}
