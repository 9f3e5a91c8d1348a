import type { WatchEvent, Watcher } from '../types.js';

/** Which table a one-shot watch sits in, as in Java's `ZKWatchManager`. */
export type WatchKind = 'data' | 'exist' | 'child';

/** The paths to re-arm after a reconnect, one batch (one SetWatches packet) each. */
export interface WatchBatch {
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
}

/**
 * Java's limit per SetWatches packet (ClientCnxn.SET_WATCHES_MAX_LENGTH), counted as the sum of
 * path lengths: far under the server's 1 MiB jute.maxbuffer, which one packet holding every
 * path once exceeded (ZOOKEEPER-706: the server closed every reconnect, for good).
 */
export const setWatchesBatchBytes = 128 * 1024;

/**
 * The client's side of one-shot watches: who waits for what on which path. A watch is
 * registered when its read is answered (data for getData and an exists that found the node,
 * exist for an exists that did not, child for getChildren), fires at most once, and stays
 * across reconnects (the owner re-arms it on the new connection with `batches()`).
 */
export class WatchManager {
  private readonly tables: Record<WatchKind, Map<string, Set<Watcher>>> = { data: new Map(), exist: new Map(), child: new Map() };

  add(kind: WatchKind, path: string, watcher: Watcher): void {
    const table = this.tables[kind];
    let watchers = table.get(path);
    if (!watchers) table.set(path, (watchers = new Set()));
    watchers.add(watcher);
  }

  /** How many (path, table) entries are held. */
  get size(): number {
    return this.tables.data.size + this.tables.exist.size + this.tables.child.size;
  }

  /** How many watchers are held, over every path and table. */
  get watcherCount(): number {
    let count = 0;
    for (const table of Object.values(this.tables)) for (const watchers of table.values()) count += watchers.size;
    return count;
  }

  /**
   * Takes the watchers an event fires (as Java materializes them: created and data-changed
   * fire data and exist watches, deleted all three, children-changed child watches) and calls
   * each once. A watcher that throws does not stop the others nor the connection: its error
   * is rethrown on its own turn, visible as any uncaught error.
   */
  dispatch(event: WatchEvent): void {
    const kinds: WatchKind[] = event.type === 'children-changed' ? ['child'] : event.type === 'deleted' ? ['data', 'exist', 'child'] : ['data', 'exist'];
    const fired = new Set<Watcher>();
    for (const kind of kinds) {
      const watchers = this.tables[kind].get(event.path);
      if (!watchers) continue;
      this.tables[kind].delete(event.path);
      for (const watcher of watchers) fired.add(watcher);
    }
    for (const watcher of fired) {
      try {
        watcher(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Forgets the watches of `path` in these tables (removeWatches: data = data and exist). */
  remove(path: string, kinds: readonly WatchKind[]): void {
    for (const kind of kinds) this.tables[kind].delete(path);
  }

  /** Forgets one watcher of `path` in these tables; the others stay. */
  removeWatcher(path: string, kinds: readonly WatchKind[], watcher: Watcher): void {
    for (const kind of kinds) {
      const watchers = this.tables[kind].get(path);
      if (!watchers?.delete(watcher) || watchers.size > 0) continue;
      this.tables[kind].delete(path);
    }
  }

  /** Whether any watch of these tables is held for `path`. */
  has(path: string, kinds: readonly WatchKind[]): boolean {
    return kinds.some((kind) => this.tables[kind].has(path));
  }

  clear(): void {
    for (const table of Object.values(this.tables)) table.clear();
  }

  /**
   * Every watched path, mapped by `toServer`, cut into SetWatches batches of at most
   * `maxBytes` of path (the last path of a batch may overshoot, as in Java), filled in the
   * order data, exist, child.
   */
  batches(toServer: (path: string) => string, maxBytes = setWatchesBatchBytes): WatchBatch[] {
    const batches: WatchBatch[] = [];
    let current: WatchBatch = { dataWatches: [], existWatches: [], childWatches: [] };
    let bytes = 0;
    const lists: [WatchKind, keyof WatchBatch][] = [
      ['data', 'dataWatches'],
      ['exist', 'existWatches'],
      ['child', 'childWatches'],
    ];
    for (const [kind, field] of lists) {
      for (const path of this.tables[kind].keys()) {
        const serverPath = toServer(path);
        current[field].push(serverPath);
        bytes += Buffer.byteLength(serverPath);
        if (bytes >= maxBytes) {
          batches.push(current);
          current = { dataWatches: [], existWatches: [], childWatches: [] };
          bytes = 0;
        }
      }
    }
    if (current.dataWatches.length + current.existWatches.length + current.childWatches.length > 0) batches.push(current);
    return batches;
  }
}
