import { componentCommand } from "./component-command.js";

const restoreUsage =
  "Usage: skiff store snapshot restore FILE --name N --data-dir D --initial-cluster ... [--initial-cluster-token T]\n";

export const storeCommand = componentCommand({
  name: "store",
  summary: "Run a member of Skiff's own etcd (etcd v3 API, etcd's flags)",
  synopsis: "skiff store [flags]",
  about: "Runs a member of Skiff's etcd-compatible store. Flags (etcd's names):",
  async load() {
    const { runStore, storeFlags } = await import("@skiff/store");
    return { flags: storeFlags, run: runStore };
  },
  async sub(args, io) {
    if (args[0] !== "snapshot") return undefined;
    if (args[1] !== "restore") {
      io.err(restoreUsage);
      return 1;
    }
    const { runSnapshotRestore } = await import("@skiff/store");
    try {
      io.out(`${await runSnapshotRestore(args.slice(2))}\n`);
      return 0;
    } catch (e) {
      io.err(`skiff store snapshot restore: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
  },
});
