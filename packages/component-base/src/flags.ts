/**
 * Command-line flags for every Skiff component, spelled and checked as the upstream binary it
 * stands for does: `--flag value` and `--flag=value`; an unknown flag or a bad value is an error
 * that names the flag. One FlagSet per command gives both the parser and the `--help` text, so
 * the two cannot drift.
 */
import { parseArgs } from "node:util";

export interface FlagDef {
  readonly type: "string" | "boolean";
  readonly default?: string | boolean;
  /** One line for --help. */
  readonly usage: string;
}

export type FlagDefs = Readonly<Record<string, FlagDef>>;

/** Parsed values: booleans as booleans, strings as given (undefined when unset and no default). */
export type FlagValues<D extends FlagDefs> = {
  [K in keyof D]: D[K]["type"] extends "boolean"
    ? boolean
    : D[K] extends { default: string }
      ? string
      : string | undefined;
};

/** A bad command line; the message is what the user sees after the command's name. */
export class FlagError extends Error {
  override readonly name = "FlagError";
}

/**
 * How the upstream binary words an unknown flag: etcd (Go's flag package) says
 * "flag provided but not defined", Kubernetes components (spf13/pflag) say "unknown flag".
 */
export type FlagStyle = "etcd" | "kube";

export class FlagSet<D extends FlagDefs> {
  constructor(
    readonly defs: D,
    readonly style: FlagStyle = "kube",
  ) {}

  get names(): string[] {
    return Object.keys(this.defs);
  }

  /** Parses argv; positionals are an error unless `allowPositionals`. Throws FlagError. */
  parse(argv: readonly string[], allowPositionals = false): { values: FlagValues<D>; positionals: string[] } {
    const options: Record<string, { type: "string" | "boolean"; default?: string | boolean }> = {};
    for (const [name, d] of Object.entries(this.defs))
      options[name] = d.default === undefined ? { type: d.type } : { type: d.type, default: d.default };
    const { args, booleans } = this.explicitBooleans(argv);
    try {
      const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals });
      for (const [name, v] of booleans) (values as Record<string, unknown>)[name] = v;
      return { values: values as FlagValues<D>, positionals };
    } catch (e) {
      throw new FlagError(this.explain((e as Error).message));
    }
  }

  /**
   * Takes `--flag=true|false` for boolean flags out of argv (node's parseArgs refuses a value
   * on a boolean; pflag and Go's flag package take one, as in `--leader-elect=false`). The last
   * mention of a flag wins, `--flag` counting as true.
   */
  private explicitBooleans(argv: readonly string[]): { args: string[]; booleans: Map<string, boolean> } {
    const args: string[] = [];
    const booleans = new Map<string, boolean>();
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i] as string;
      if (a === "--") {
        args.push(...argv.slice(i));
        break;
      }
      const m = /^--([^=]+)(?:=(.*))?$/s.exec(a);
      const name = m?.[1];
      if (m === null || name === undefined || this.defs[name]?.type !== "boolean") {
        args.push(a);
        continue;
      }
      const raw = m[2];
      if (raw === undefined) {
        booleans.set(name, true);
        args.push(a);
        continue;
      }
      const v = parseBool(raw);
      if (v === undefined)
        throw new FlagError(
          this.style === "etcd"
            ? `invalid boolean value "${raw}" for -${name}: parse error`
            : `invalid argument "${raw}" for "--${name}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`,
        );
      booleans.set(name, v);
    }
    return { args, booleans };
  }

  /** The flags section of --help: one line per flag, its default and usage. */
  usage(): string {
    const rows = Object.entries(this.defs).map(([name, d]) => {
      const left = d.type === "boolean" ? `--${name}` : `--${name} string`;
      const dflt =
        d.default === undefined || d.default === "" || d.default === false
          ? ""
          : ` (default ${JSON.stringify(d.default)})`;
      return [left, `${d.usage}${dflt}`] as const;
    });
    const width = Math.max(...rows.map(([l]) => l.length));
    return rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`).join("\n");
  }

  private explain(message: string): string {
    const unknown = /Unknown option '([^']+)'/.exec(message);
    if (unknown) {
      const flag = unknown[1] as string;
      return this.style === "etcd" ? `flag provided but not defined: ${flag}` : `unknown flag: ${flag}`;
    }
    const needsValue = /Option '(?:-\w, )?(--[^ ]+) <value>' argument missing/.exec(message);
    if (needsValue) return `flag needs an argument: ${needsValue[1]}`;
    const positional = /Unexpected argument '([^']+)'/.exec(message);
    if (positional) return `unexpected argument "${positional[1]}"`;
    return message;
  }
}

/** Go's strconv.ParseBool. */
function parseBool(v: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  return undefined;
}

/** An error for a flag's value, worded as both etcd and Kubernetes components word it. */
export function invalidFlag(flag: string, value: string, why?: string): FlagError {
  return new FlagError(`invalid value "${value}" for flag --${flag}${why === undefined ? "" : `: ${why}`}`);
}

/** An integer flag in [min, max]. */
export function intFlag(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max)
    throw invalidFlag(flag, value, `must be an integer from ${min} to ${max}`);
  return n;
}

/** A comma-separated list flag; empty items are dropped. */
export function listFlag(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const durationUnitsMs: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A Go duration (time.ParseDuration: "1h30m", "2.5s", "100ms", "0") in milliseconds, as
 * Kubernetes components take --leader-elect-lease-duration, --event-ttl and the like.
 */
export function parseDuration(value: string): number {
  const s = value.startsWith("+") ? value.slice(1) : value;
  if (s === "0") return 0;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let at = 0;
  while (at < s.length) {
    part.lastIndex = at;
    const m = part.exec(s);
    if (m === null) break;
    ms += Number(m[1]) * (durationUnitsMs[m[2] as string] as number);
    at = part.lastIndex;
  }
  if (s === "" || at !== s.length) throw new Error(`time: invalid duration "${value}"`);
  return ms;
}

/** A duration flag in milliseconds. */
export function durationFlag(flag: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (e) {
    throw invalidFlag(flag, value, (e as Error).message);
  }
}

/**
 * A host:port flag such as --metrics-bind-address ("" turns it off: undefined); an IPv6 host may
 * be bracketed. The error is pflag's for a value that does not parse.
 */
export function hostPortFlag(flag: string, value: string): { host: string; port: number } | undefined {
  if (value === "") return undefined;
  const i = value.lastIndexOf(":");
  const port = Number(value.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new FlagError(`invalid argument "${value}" for "--${flag}" flag: must be host:port`);
  return { host: value.slice(0, i).replace(/^\[|\]$/g, ""), port };
}
