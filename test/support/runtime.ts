import { systemClock, type Clock, type TimerHandle } from '../../src/clock.js';
import { nodeRuntime, type Runtime } from '../../src/runtime.js';

/** A clock on Node's timers that knows which of its timers are armed, and for how long. */
export function watchedClock(): { clock: Clock; armedDelays: () => number[] } {
  const armed = new Map<TimerHandle, number>();
  const clock: Clock = {
    now: () => systemClock.now(),
    setTimeout: (callback, delayMs) => {
      const handle = systemClock.setTimeout(() => {
        armed.delete(handle);
        callback();
      }, delayMs);
      armed.set(handle, delayMs);
      return handle;
    },
    clearTimeout: (handle) => {
      armed.delete(handle);
      systemClock.clearTimeout(handle);
    },
  };
  return { clock, armedDelays: () => [...armed.values()] };
}

/** A runtime whose ZooKeeper clients are counted: a recipe that connects makes one. */
export function countedClients(): { runtime: Partial<Runtime>; made: () => number } {
  let made = 0;
  return {
    runtime: {
      createClient: (backend, options) => {
        made += 1;
        return nodeRuntime.createClient(backend, options);
      },
    },
    made: () => made,
  };
}
