/** A pino-compatible logger: pino, bunyan-style or console-like objects all fit. */
export interface Logger {
  debug(context: object, message?: string): void;
  info(context: object, message?: string): void;
  warn(context: object, message?: string): void;
  error(context: object, message?: string): void;
}

const ignore = () => {};

/** The default: zk-leader says nothing unless given a logger. */
export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
