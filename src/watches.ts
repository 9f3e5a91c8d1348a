import type { WatchEvent, Watcher } from './client/types.js';

/**
 * At most one pending watch per key. Recipes re-read the same nodes often; ZooKeeper would
 * keep every watcher they pass and fire each of them, so a repeated read passes none while
 * a watch for that key is still pending.
 */
export class WatchSet {
  private readonly pending = new Set<string>();

  /** A watcher for `key`, or undefined when one is pending already. */
  watcher(key: string, onEvent: (event: WatchEvent) => void): Watcher | undefined {
    if (this.pending.has(key)) return undefined;
    this.pending.add(key);
    return (event) => {
      this.pending.delete(key);
      onEvent(event);
    };
  }

  /** Forgets a key whose watch was not set after all (the request failed). */
  release(key: string): void {
    this.pending.delete(key);
  }

  /** Forgets every key `keep` rejects: their watches are ignored when they fire. */
  retain(keep: (key: string) => boolean): void {
    for (const key of this.pending) if (!keep(key)) this.pending.delete(key);
  }

  get size(): number {
    return this.pending.size;
  }
}
