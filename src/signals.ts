import { constants } from 'node:os';
import { InvalidArgumentError } from './errors.js';

/**
 * `releaseOnSignals`, process-wide: one handler per signal stops every election that asked
 * for it, all together, and only then lets the signal take its course. (With a handler per
 * election, the first to finish found no listener left and re-raised the signal, killing the
 * process while the others were still handing over.)
 */
interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Signals no handler can take: the kernel never delivers SIGKILL or SIGSTOP to one (Node
 * throws EINVAL), and Node's documentation warns that after a real SIGBUS, SIGFPE, SIGSEGV or
 * SIGILL it is not safe to run JavaScript at all.
 */
const unhandleable: Partial<Record<string, string>> = {
  SIGKILL: 'no process can handle it',
  SIGSTOP: 'no process can handle it',
  SIGBUS: 'after a real one it is not safe to run JavaScript',
  SIGFPE: 'after a real one it is not safe to run JavaScript',
  SIGSEGV: 'after a real one it is not safe to run JavaScript',
  SIGILL: 'after a real one it is not safe to run JavaScript',
};

/**
 * Checks `releaseOnSignals`: `true` (SIGTERM and SIGINT), `false`, or a list of this
 * platform's signal names that a process can handle; returns the signals, each once.
 * @throws INVALID_ARGUMENT naming the option and the entry at fault.
 */
export function validateSignals(value: unknown, option = 'releaseOnSignals'): NodeJS.Signals[] {
  if (value === undefined || value === false) return [];
  if (value === true) return ['SIGTERM', 'SIGINT'];
  if (!Array.isArray(value)) {
    throw new InvalidArgumentError(`${option} must be true, false or a list of signal names such as ['SIGTERM']: got ${JSON.stringify(value)}`);
  }
  for (const signal of value as unknown[]) {
    if (typeof signal !== 'string' || !Object.hasOwn(constants.signals, signal)) {
      throw new InvalidArgumentError(
        `${option} has ${typeof signal === 'string' ? `'${signal}'` : JSON.stringify(signal)}, which is not a signal name here (such as 'SIGTERM')`,
      );
    }
    const why = unhandleable[signal];
    if (why) throw new InvalidArgumentError(`${option} cannot include ${signal}: ${why}; use SIGTERM or SIGINT`);
  }
  return [...new Set(value as NodeJS.Signals[])];
}

const waiting = new Map<NodeJS.Signals, Set<Stoppable>>();
const handlers = new Map<NodeJS.Signals, () => void>();

/** Stops `target` on `signal`; returns the function that takes that back. */
export function stopOnSignal(signal: NodeJS.Signals, target: Stoppable): () => void {
  let targets = waiting.get(signal);
  if (!targets) {
    targets = new Set();
    waiting.set(signal, targets);
    const handler = () => void stopAll(signal);
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  targets.add(target);
  return () => {
    const current = waiting.get(signal);
    // While stopping for the signal, the set is already detached: leave the handler be.
    if (current !== targets) return;
    current.delete(target);
    if (current.size === 0) detach(signal);
  };
}

function detach(signal: NodeJS.Signals): void {
  const handler = handlers.get(signal);
  if (handler) process.off(signal, handler);
  handlers.delete(signal);
  waiting.delete(signal);
}

async function stopAll(signal: NodeJS.Signals): Promise<void> {
  const targets = [...(waiting.get(signal) ?? [])];
  detach(signal);
  await Promise.allSettled(targets.map((target) => target.stop()));
  // Hand the signal on to its default action unless the application handles it too.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
