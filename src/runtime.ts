import { randomUUID } from 'node:crypto';
import { createClient } from './client/index.js';
import type { BackendName, ClientOptions, ZkClient } from './client/types.js';
import { systemClock, type Clock } from './clock.js';

/**
 * Everything the library takes from its surroundings that a test must be able to replace:
 * time (every timer and every liveness decision), randomness (GUIDs, jitter) and the
 * ZooKeeper client itself. The deterministic simulation injects all of it, so one seed
 * reproduces a run exactly; production uses Node's.
 * @internal
 */
export interface Runtime {
  clock: Clock;
  /** A uniformly distributed number in [0, 1): jitter. */
  // Function-valued fields, not methods: each is handed around on its own (no `this`).
  random: () => number;
  /** 32 lowercase hex digits, unique across every process that may join the same election. */
  newGuid: () => string;
  /** The ZooKeeper client of the chosen backend. */
  createClient: (backend: BackendName, options: ClientOptions) => ZkClient;
}

/** Node's clock and timers, crypto GUIDs, the real client libraries. */
export const nodeRuntime: Runtime = {
  clock: systemClock,
  random: Math.random,
  newGuid: () => randomUUID().replaceAll('-', ''),
  createClient,
};

/** `nodeRuntime` with the given parts replaced. */
export function runtimeWith(parts: Partial<Runtime> | undefined): Runtime {
  return parts ? { ...nodeRuntime, ...parts } : nodeRuntime;
}
