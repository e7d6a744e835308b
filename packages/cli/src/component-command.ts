import type { Command, CommandIO } from "./command.js";

/** What a component's package gives its command: the flags (for --help) and the run function. */
export interface ComponentEntry {
  readonly flags: { usage(): string };
  run(args: readonly string[]): Promise<number>;
}

export interface ComponentCommandSpec {
  readonly name: string;
  readonly summary: string;
  /** The usage line after "Usage: ", e.g. "skiff store [flags]". */
  readonly synopsis: string;
  /** A sentence or two under the usage line. */
  readonly about: string;
  /** Loads the component's package only when the command runs (so `skiff version` stays light). */
  load(): Promise<ComponentEntry>;
  /** Subcommands handled before the component runs (e.g. `skiff store snapshot restore`). */
  sub?(args: readonly string[], io: CommandIO): Promise<number | undefined>;
}

/**
 * A subcommand that runs one long-running component: `--help` prints the flags from the same
 * definitions the parser uses, a bad flag or a failed start is `skiff NAME: message` and exit 1.
 */
export function componentCommand(spec: ComponentCommandSpec): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    async run(args, io) {
      const handled = await spec.sub?.(args, io);
      if (handled !== undefined) return handled;
      const entry = await spec.load();
      if (args.includes("-h") || args.includes("--help")) {
        io.out(`Usage: ${spec.synopsis}\n\n${spec.about}\n\nFlags:\n${entry.flags.usage()}\n`);
        return 0;
      }
      try {
        return await entry.run(args);
      } catch (e) {
        io.err(`skiff ${spec.name}: ${e instanceof Error ? e.message : String(e)}\n`);
        return 1;
      }
    },
  };
}
