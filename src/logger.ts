/** A pino-compatible logger: pino, bunyan-style or console-like objects all fit. */
export interface Logger {
  /** Detail for debugging: each request retried, each watch. */
  debug(context: object, message?: string): void;
  /** What happened: elected, lost, joined. */
  info(context: object, message?: string): void;
  /** Trouble the library works through: a silent connection, a lost session. */
  warn(context: object, message?: string): void;
  /** A step that failed (also emitted as an `error` event). */
  error(context: object, message?: string): void;
}

const ignore = () => {};

/** The default: zk-leader says nothing unless given a logger. */
export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
