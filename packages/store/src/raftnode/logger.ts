import { pino } from "pino";

/** The logging calls the node makes (a subset of pino's, so pino loggers fit as they are). */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A structured JSON logger on stderr, one line per event, with the component and member id. */
export function memberLogger(member: string, level = "info"): Logger {
  return pino({ level, base: { component: "raft", member } }, pino.destination(2));
}
