import { type CommandIO, processIO } from "./command.js";
import { commands } from "./commands.js";

export function usage(): string {
  const width = Math.max(...[...commands.keys()].map((n) => n.length));
  const lines = [...commands.values()].map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "skiff: a Kubernetes-style control plane with its own Raft-replicated etcd",
    "",
    "Usage:",
    "  skiff <command> [flags]",
    "",
    "Commands:",
    ...lines,
    "",
    "Flags:",
    "  -h, --help  Show help for skiff or for a command (skiff <command> --help)",
    "",
  ].join("\n");
}

/** Entry point of the skiff binary; returns the process exit code. */
export async function main(argv: readonly string[], io: CommandIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    io.out(usage());
    return name === undefined ? 1 : 0;
  }
  const command = commands.get(name);
  if (command === undefined) {
    io.err(`skiff: unknown command "${name}"\nRun 'skiff --help' for usage.\n`);
    return 1;
  }
  return command.run(rest, io);
}
