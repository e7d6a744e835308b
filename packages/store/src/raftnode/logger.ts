import { type Logger, newLogger } from "@skiff/component-base";

/** A member's structured logger on stderr: component "raft" and its member id on every line. */
export function memberLogger(member: string, level = "info"): Logger {
  return newLogger("raft", level, { member });
}
