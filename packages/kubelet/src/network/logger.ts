/** The structured logger the agent hands its parts (pino's shape: (obj, msg)). */
export interface NetworkLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}
