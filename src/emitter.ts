import { EventEmitter } from 'eventemitter3';
import { ZkLeaderError } from './errors.js';
import { silentLogger, type Logger } from './logger.js';

type ErrorEvents = { error: [error: ZkLeaderError] };
interface Registered {
  fn: (...args: unknown[]) => unknown;
  context: unknown;
  once: boolean;
}
type Names<Events extends ErrorEvents> = EventEmitter.EventNames<Events>;
type Listener<Events extends ErrorEvents, T extends Names<Events>> = EventEmitter.EventListener<Events, T>;

/**
 * An event emitter whose listeners cannot hurt the object that emits. Each listener runs on
 * its own: one that throws is reported as a `LISTENER_FAILED` error and the others still run,
 * so a user's bug can neither skip the library's state change nor starve another election on
 * a shared session, nor escape into a socket handler as an uncaught exception. An `error`
 * nobody listens to is still made visible: logged and raised as a process warning, once per
 * code, never thrown.
 *
 * Only the object itself emits (`emit` is protected): a user cannot fake an `elected`. The
 * listeners are kept by an eventemitter3 emitter inside, which is not part of the API.
 */
export class SafeEmitter<Events extends ErrorEvents> {
  /** Codes already warned of; made at the first (an empty Set costs ~150 B, and most emitters never need one). */
  private reportedCodes: Set<string> | null = null;
  private readonly listenersOf = new EventEmitter<Events>();

  constructor(protected readonly logger: Logger = silentLogger) {}

  /** Calls `listener` on every `event`. */
  on<T extends Names<Events>>(event: T, listener: Listener<Events, T>): this {
    this.listenersOf.on(event, listener);
    return this;
  }
  /** The same as `on`. */
  addListener<T extends Names<Events>>(event: T, listener: Listener<Events, T>): this {
    return this.on(event, listener);
  }
  /** Calls `listener` on the next `event` only. */
  once<T extends Names<Events>>(event: T, listener: Listener<Events, T>): this {
    this.listenersOf.once(event, listener);
    return this;
  }
  /**
   * Calls `listener` on every `event` as a method of `context`: the methods of one object
   * listen without a closure each.
   */
  protected onWithContext<T extends Names<Events>>(event: T, listener: Listener<Events, T>, context: object): void {
    this.listenersOf.on(event, listener, context);
  }
  /** Stops calling `listener` as a method of `context`. */
  protected offWithContext<T extends Names<Events>>(event: T, listener: Listener<Events, T>, context: object): void {
    this.listenersOf.off(event, listener, context);
  }
  /** Stops calling `listener` (every listener of `event` when none is given). */
  off<T extends Names<Events>>(event: T, listener?: Listener<Events, T>): this {
    this.listenersOf.off(event, listener);
    return this;
  }
  /** The same as `off`. */
  removeListener<T extends Names<Events>>(event: T, listener?: Listener<Events, T>): this {
    return this.off(event, listener);
  }
  /** Removes every listener of `event`, or of every event. */
  removeAllListeners(event?: Names<Events>): this {
    this.listenersOf.removeAllListeners(event);
    return this;
  }
  /** How many listeners `event` has. */
  listenerCount(event: Names<Events>): number {
    return this.listenersOf.listenerCount(event);
  }
  /** The events that have listeners. */
  eventNames(): Names<Events>[] {
    return this.listenersOf.eventNames();
  }

  /** Calls each listener of `event` on its own (see the class); true when there was one. */
  protected emit<T extends Names<Events>>(event: T, ...args: EventEmitter.EventArgs<Events, T>): boolean {
    const key = EventEmitter.prefixed ? `${EventEmitter.prefixed}${String(event)}` : String(event);
    const stored = (this.listenersOf as unknown as { _events: Record<string, Registered | Registered[] | undefined> })._events[key];
    const listeners = stored === undefined ? [] : Array.isArray(stored) ? [...stored] : [stored];
    if (listeners.length === 0) {
      if (event === 'error') this.reportUnheard(args[0] as ZkLeaderError);
      return false;
    }
    for (const listener of listeners) {
      if (listener.once) this.listenersOf.removeListener(event, listener.fn as never, undefined, true);
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
    this.reportedCodes ??= new Set();
    if (this.reportedCodes.has(code)) return;
    this.reportedCodes.add(code);
    process.emitWarning(`${error.message} (add an 'error' listener to handle this; further ${code} errors are only logged)`, {
      type: 'ZkLeaderWarning',
      code: `ZK_LEADER_${code}`,
    });
  }
}
