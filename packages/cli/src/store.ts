import type { Command } from "./command.js";

export const storeCommand: Command = {
  name: "store",
  summary: "Run a member of Skiff's own etcd (etcd v3 API, etcd's flags)",
  async run(args, io) {
    const { runSnapshotRestore, runStore, storeFlags } = await import("@skiff/store");
    if (args[0] === "snapshot") {
      if (args[1] !== "restore") {
        io.err(
          "Usage: skiff store snapshot restore FILE --name N --data-dir D --initial-cluster ... [--initial-cluster-token T]\n",
        );
        return 1;
      }
      try {
        io.out(`${await runSnapshotRestore(args.slice(2))}\n`);
        return 0;
      } catch (e) {
        io.err(`skiff store snapshot restore: ${e instanceof Error ? e.message : String(e)}\n`);
        return 1;
      }
    }
    if (args.includes("-h") || args.includes("--help")) {
      io.out(
        `Usage: skiff store [flags]\n\nRuns a member of Skiff's etcd-compatible store. Flags (etcd's names):\n${storeFlags.usage()}\n`,
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
