import type { EventEmitter } from 'eventemitter3';
import type { ClientState, ZkClient } from '../../src/client/types.js';
import type { SafeEmitter } from '../../src/emitter.js';
import type { ZkLeaderError } from '../../src/errors.js';

/** Resolves with the next `event` of `emitter`'s arguments; rejects after `timeoutMs` (a safety net). */
export function nextEvent<Events extends { error: [ZkLeaderError] }, Name extends EventEmitter.EventNames<Events>>(
  emitter: SafeEmitter<Events>,
  event: Name,
  timeoutMs?: number,
): Promise<Parameters<EventEmitter.EventListener<Events, Name>>[0]>;
export function nextEvent<Events extends EventEmitter.ValidEventTypes, Name extends EventEmitter.EventNames<Events>>(
  emitter: EventEmitter<Events>,
  event: Name,
  timeoutMs?: number,
): Promise<Parameters<EventEmitter.EventListener<Events, Name>>[0]>;
export function nextEvent(
  emitter: { once(event: string, listener: (...args: unknown[]) => void): unknown; off(event: string, listener: (...args: unknown[]) => void): unknown },
  event: string,
  timeoutMs = 20_000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no '${String(event)}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args[0]);
    };
    emitter.once(event, listener);
  });
}

/**
 * Resolves once the raw `client` reports one of `states`, with that state; rejects after
 * `timeoutMs` (a safety net).
 */
export function clientState(client: ZkClient, states: ClientState | ClientState[], timeoutMs = 20_000): Promise<ClientState> {
  const wanted = Array.isArray(states) ? states : [states];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('state', listener);
      reject(new Error(`the client reported none of ${wanted.join(', ')} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (state: ClientState) => {
      if (!wanted.includes(state)) return;
      clearTimeout(timer);
      client.off('state', listener);
      resolve(state);
    };
    client.on('state', listener);
  });
}

/** Connects the raw `client` and resolves once it is connected. */
export async function connectClient(client: ZkClient, timeoutMs?: number): Promise<void> {
  const connected = clientState(client, 'connected', timeoutMs);
  client.connect();
  await connected;
}

/** Records every named event with its time, in order, across several emitters. */
export class EventLog {
  readonly entries: { source: string; event: string; at: number; value: unknown }[] = [];
  record(source: string, emitter: { on(event: never, listener: (value: never) => void): unknown }, events: string[]): void {
    const on = emitter.on.bind(emitter) as unknown as (event: string, listener: (value: unknown) => void) => unknown;
    for (const event of events) {
      on(event, (value: unknown) => this.entries.push({ source, event, at: performance.now(), value }));
    }
  }
  index(source: string, event: string): number {
    return this.entries.findIndex((entry) => entry.source === source && entry.event === event);
  }
  names(): string[] {
    return this.entries.map((entry) => `${entry.source}:${entry.event}`);
  }
}

/**
 * A fixed pause. Only for what no event can tell: that something does NOT happen within a
 * window, or how long a fault lasts. Say which at the call.
 */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `promise`'s value, or `late` when it has not settled within `ms`: a bound on a wait, not a
 * pause (it returns as soon as `promise` settles).
 */
export async function within<T, L>(promise: Promise<T>, ms: number, late: L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<L>((resolve) => (timer = setTimeout(() => resolve(late), ms)));
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** The next turn of the event loop: every microtask queued before now has run. */
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Waits until `condition` holds, checking every 20 ms; fails naming `what` after `timeoutMs`
 * (a function is asked only then, so it can describe the state at the failure).
 */
export async function until(condition: () => boolean | Promise<boolean>, what: string | (() => string), timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(20);
  }
}

/**
 * Waits until `session` has read everything the server sent before now: ZooKeeper delivers a
 * session's notifications before the reply to any later request, and the library acts on a
 * notification before the next turn of the event loop.
 */
export async function drained(session: { exists(path: string): Promise<unknown> }): Promise<void> {
  await session.exists('/');
  await nextTurn();
}
