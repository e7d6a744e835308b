/**
 * Structured logs: one JSON line per event on stderr, with the component and the ids that matter
 * (member id, term, uid) as fields. The interface is the subset of pino's that components call, so
 * a pino logger fits as it is and tests can pass a silent or recording one.
 */
import { pino } from "pino";

export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export const logLevels: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

/** A logger on stderr whose every line carries `component` and the given fields. */
export function newLogger(component: string, level: string = "info", fields: object = {}): Logger {
  if (!(logLevels as readonly string[]).includes(level))
    throw new Error(`log level "${level}" is not one of ${logLevels.join(", ")}`);
  return pino({ level, base: { component, ...fields } }, pino.destination(2));
}
