import { AsyncLocalStorage } from 'node:async_hooks';
import type { BackendName, ClientOptions } from '../../src/client/types.js';
import type { SimClient } from './sim-client.js';
import type { World } from './world.js';

/**
 * Runs code that predates the injected `Runtime` (the library before the safety hardening)
 * in the simulation: Node's timer globals, `Date.now` and `performance.now` are pointed at
 * the virtual clock for the duration of a run, and the old Session's client factory is
 * replaced through a one-line hook (`globalThis.__zkLeaderSimCreateClient`, see
 * docs/simulation.md for the patch). Which simulated process a timer or a client belongs to
 * follows the async context of the call that made it.
 *
 * Only for measuring old code: the current library takes everything through `Runtime`.
 */

export interface LegacyContext {
  processId: number;
  label: string;
  onClient: (client: SimClient) => void;
}

interface VirtualTimer {
  cancel(): void;
  ref(): VirtualTimer;
  unref(): VirtualTimer;
  hasRef(): boolean;
  refresh(): VirtualTimer;
  [Symbol.toPrimitive](): number;
}

export class LegacyShim {
  private readonly context = new AsyncLocalStorage<LegacyContext>();
  private readonly contexts = new WeakMap<SimClient, LegacyContext>();
  private restore: (() => void) | null = null;
  private nextId = 1;

  constructor(private readonly world: World) {}

  /** Runs `fn` as code of the process in `context`. */
  run<T>(context: LegacyContext, fn: () => T): T {
    return this.context.run(context, fn);
  }

  /** Wraps a timer's callback so that it runs in the async context it was set in. */
  keepContext(callback: () => void): () => void {
    const context = this.context.getStore();
    return context ? () => this.context.run(context, callback) : callback;
  }

  /** Runs a delivery to `client` in the context of the process that made it. */
  deliver(client: SimClient, fn: () => void): void {
    const context = this.contexts.get(client);
    if (context) this.context.run(context, fn);
    else fn();
  }

  install(): void {
    const world = this.world;
    const saved = {
      setTimeout: globalThis.setTimeout,
      clearTimeout: globalThis.clearTimeout,
      setInterval: globalThis.setInterval,
      clearInterval: globalThis.clearInterval,
      dateNow: Date.now,
      performanceNow: performance.now.bind(performance),
      hook: (globalThis as Record<string, unknown>).__zkLeaderSimCreateClient,
    };
    const timer = (callback: () => void, delayMs: number, repeat: boolean): VirtualTimer => {
      const context = this.context.getStore();
      const processId = context?.processId ?? -1;
      const id = this.nextId++;
      let scheduled: { cancel(): void } | null = null;
      const arm = () => {
        scheduled = world.setTimer(processId, Math.max(repeat ? 1 : 0, delayMs || 0), () => {
          if (repeat) arm();
          else scheduled = null;
          if (context) this.context.run(context, callback);
          else callback();
        });
      };
      arm();
      const handle: VirtualTimer = {
        cancel: () => {
          scheduled?.cancel();
          scheduled = null;
        },
        ref: () => handle,
        unref: () => handle,
        hasRef: () => true,
        refresh: () => {
          handle.cancel();
          arm();
          return handle;
        },
        [Symbol.toPrimitive]: () => id,
      };
      return handle;
    };
    const clear = (handle: unknown) => (handle as VirtualTimer | undefined)?.cancel?.();
    const g = globalThis as Record<string, unknown>;
    g.setTimeout = (callback: () => void, delayMs?: number) => timer(callback, delayMs ?? 0, false);
    g.setInterval = (callback: () => void, delayMs?: number) => timer(callback, delayMs ?? 0, true);
    g.clearTimeout = clear;
    g.clearInterval = clear;
    Date.now = () => 1_800_000_000_000 + world.now();
    performance.now = () => world.now();
    g.__zkLeaderSimCreateClient = (backend: BackendName, options: ClientOptions) => {
      const context = this.context.getStore();
      if (!context) throw new Error('a legacy client was made outside any simulated process');
      const client = world.runtimeFor(context.processId, context.label, context.onClient).createClient(backend, options) as SimClient;
      this.contexts.set(client, context);
      return client;
    };
    this.restore = () => {
      g.setTimeout = saved.setTimeout;
      g.clearTimeout = saved.clearTimeout;
      g.setInterval = saved.setInterval;
      g.clearInterval = saved.clearInterval;
      Date.now = saved.dateNow;
      performance.now = saved.performanceNow;
      g.__zkLeaderSimCreateClient = saved.hook;
    };
  }

  uninstall(): void {
    this.restore?.();
    this.restore = null;
  }
}
