/**
 * Time as the library's liveness decisions see it. `now()` is monotonic: a wall-clock step
 * (NTP, a VM resumed, an operator) must never make silence look shorter or longer than it
 * was. Injected so that tests and simulations can run time by hand.
 */
export interface Clock {
  /** Milliseconds on a monotonic clock; only differences mean anything. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** What `Clock.setTimeout` returns; opaque. */
export type TimerHandle = { readonly __timer?: never } | NodeJS.Timeout;

/** The real clock: `performance.now()` and Node's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
