/**
 * Turns events into an async iterator for `for await` users. `subscribe` starts listening:
 * it gets `push` (one value) and `end` (no more values; those already pushed are still
 * yielded), and returns its unsubscribe. Aborting `signal`, or leaving the loop early, ends
 * the stream at once and drops what was not yet yielded. Values wait in memory until read:
 * meant for rare events (leadership changes), not for data.
 */
export function eventStream<T>(subscribe: (push: (value: T) => void, end: () => void) => () => void, signal?: AbortSignal): AsyncIterableIterator<T> {
  const buffered: T[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  const wakeReader = () => {
    const waiting = wake;
    wake = null;
    waiting?.();
  };
  let unsubscribe: () => void = () => {};
  const end = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    signal?.removeEventListener('abort', abort);
    wakeReader();
  };
  const abort = () => {
    buffered.length = 0;
    end();
  };
  if (signal?.aborted) ended = true;
  else {
    signal?.addEventListener('abort', abort, { once: true });
    const off = subscribe((value) => {
      if (ended) return;
      buffered.push(value);
      wakeReader();
    }, end);
    // `end` may have run inside subscribe (nothing more to come): let go at once.
    if (ended) off();
    else unsubscribe = off;
  }
  const iterator: AsyncIterableIterator<T> = {
    async next(): Promise<IteratorResult<T>> {
      while (buffered.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
      if (buffered.length > 0) return { value: buffered.shift()!, done: false };
      return { value: undefined, done: true };
    },
    return(): Promise<IteratorResult<T>> {
      abort();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
