/**
 * `releaseOnSignals`, process-wide: one handler per signal stops every election that asked
 * for it, all together, and only then lets the signal take its course. (With a handler per
 * election, the first to finish found no listener left and re-raised the signal, killing the
 * process while the others were still handing over.)
 */
interface Stoppable {
  stop(): Promise<void>;
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
