/** A subcommand of `skiff`. Each lives in its own module and registers in commands.ts. */
export interface Command {
  /** The word after `skiff`, e.g. "store". */
  readonly name: string;
  /** One line for `skiff --help`. */
  readonly summary: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(args: readonly string[], io: CommandIO): Promise<number>;
}

/** Where a command writes; injected so commands are testable without a process. */
export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
}

export const processIO: CommandIO = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};
