import type { Command } from "./command.js";

export const SKIFF_VERSION = "0.1.0";

export const versionCommand: Command = {
  name: "version",
  summary: "Print the version of skiff",
  async run(_args, io) {
    io.out(`skiff version ${SKIFF_VERSION}\n`);
    return 0;
  },
};
