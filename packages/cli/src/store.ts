import type { Command } from "./command.js";

export const storeCommand: Command = {
  name: "store",
  summary: "Run a member of Skiff's own etcd (etcd v3 API, etcd's flags)",
  async run(args, io) {
    const { runStore, storeFlagNames } = await import("@skiff/store");
    if (args.includes("-h") || args.includes("--help")) {
      io.out(
        `Usage: skiff store [flags]\n\nRuns a member of Skiff's etcd-compatible store. Flags (etcd's names):\n${storeFlagNames.map((f) => `  --${f}`).join("\n")}\n`,
      );
      return 0;
    }
    try {
      return await runStore(args);
    } catch (e) {
      io.err(`skiff store: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
  },
};
