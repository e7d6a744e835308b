import { agentCommand } from "./agent.js";
import type { Command } from "./command.js";
import { controllerManagerCommand } from "./controller-manager.js";
import { hollowNodesCommand } from "./hollow-nodes.js";
import { imageCommand } from "./image.js";
import { schedulerCommand } from "./scheduler.js";
import { serverCommand } from "./server.js";
import { storeCommand } from "./store.js";
import { versionCommand } from "./version.js";

/** Every subcommand of `skiff`, by name. `skiff --help` lists exactly these. */
export const commands: ReadonlyMap<string, Command> = new Map(
  [
    agentCommand,
    controllerManagerCommand,
    hollowNodesCommand,
    imageCommand,
    schedulerCommand,
    serverCommand,
    storeCommand,
    versionCommand,
  ].map((c) => [c.name, c] as const),
);
