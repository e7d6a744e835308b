/** Where the client machinery logs (elector, event broadcaster): a pino Logger fits. */
export interface ClientLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Logs nothing: the default. */
export const silentLogger: ClientLogger = { info() {}, warn() {}, error() {} };
