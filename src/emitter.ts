import { EventEmitter } from 'eventemitter3';
import { ZkLeaderError } from './errors.js';
import { silentLogger, type Logger } from './logger.js';

type ErrorEvents = { error: [error: ZkLeaderError] };
interface Registered {
  fn: (...args: unknown[]) => unknown;
  context: unknown;
  once: boolean;
}

/**
 * An event emitter whose listeners cannot hurt the object that emits. Each listener runs on
 * its own: one that throws is reported as a `LISTENER_FAILED` error and the others still run,
 * so a user's bug can neither skip the library's state change nor starve another election on
 * a shared session, nor escape into a socket handler as an uncaught exception. An `error`
 * nobody listens to is still made visible: logged and raised as a process warning, once per
 * code, never thrown.
 */
export class SafeEmitter<Events extends ErrorEvents> extends EventEmitter<Events> {
  private readonly reportedCodes = new Set<string>();

  constructor(protected readonly logger: Logger = silentLogger) {
    super();
  }

  override emit<T extends EventEmitter.EventNames<Events>>(event: T, ...args: EventEmitter.EventArgs<Events, T>): boolean {
    const key = EventEmitter.prefixed ? `${EventEmitter.prefixed}${String(event)}` : String(event);
    const stored = (this as unknown as { _events: Record<string, Registered | Registered[] | undefined> })._events[key];
    const listeners = stored === undefined ? [] : Array.isArray(stored) ? [...stored] : [stored];
    if (listeners.length === 0) {
      if (event === 'error') this.reportUnheard(args[0] as ZkLeaderError);
      return false;
    }
    for (const listener of listeners) {
      if (listener.once) this.removeListener(event, listener.fn as never, undefined, true);
      try {
        listener.fn.apply(listener.context, args);
      } catch (thrown) {
        this.listenerThrew(String(event), thrown);
      }
    }
    return true;
  }

  private listenerThrew(event: string, thrown: unknown): void {
    const message = String((thrown as Error | null)?.message ?? thrown);
    const error = new ZkLeaderError('LISTENER_FAILED', `a '${event}' listener threw (${message}): the library carried on; fix the listener`, { cause: thrown });
    if (event === 'error') this.reportUnheard(error);
    else (this.emit as (event: string, ...args: unknown[]) => boolean)('error', error);
  }

  /** An error with nobody to hear it: visible once per code, and never a crash. */
  private reportUnheard(error: ZkLeaderError): void {
    this.logger.error({ err: error }, `zk-leader: ${error.message}`);
    const code = error?.code ?? 'UNEXPECTED';
    if (this.reportedCodes.has(code)) return;
    this.reportedCodes.add(code);
    process.emitWarning(`${error.message} (add an 'error' listener to handle this; further ${code} errors are only logged)`, {
      type: 'ZkLeaderWarning',
      code: `ZK_LEADER_${code}`,
    });
  }
}
