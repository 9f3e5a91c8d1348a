import type { WatchEvent, Watcher } from '../types.js';

/**
 * Which table a watch sits in, as in Java's `ZKWatchManager`: the one-shot data, exist and
 * child watches, and the persistent and persistent-recursive ones of addWatch (3.6+).
 */
export type WatchKind = 'data' | 'exist' | 'child' | 'persistent' | 'recursive';

/** The one-shot tables. */
export const oneShotKinds: readonly WatchKind[] = ['data', 'exist', 'child'];
/** The tables of addWatch, whose watches stay after they fire. */
export const persistentKinds: readonly WatchKind[] = ['persistent', 'recursive'];

/** The paths to re-arm after a reconnect, one batch (one SetWatches or SetWatches2 packet) each. */
export interface WatchBatch {
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}

/** Whether `batch` holds a persistent watch: it needs SetWatches2 (105), which a 3.5 server refuses. */
export function needsSetWatches2(batch: WatchBatch): boolean {
  return batch.persistentWatches.length + batch.persistentRecursiveWatches.length > 0;
}

function emptyBatch(): WatchBatch {
  return { dataWatches: [], existWatches: [], childWatches: [], persistentWatches: [], persistentRecursiveWatches: [] };
}

/** `path` and each of its ancestors, up to '/'. */
function selfAndAncestors(path: string): string[] {
  const paths = [path];
  for (let end = path.lastIndexOf('/'); end > 0; end = path.lastIndexOf('/', end - 1)) paths.push(path.slice(0, end));
  if (path !== '/') paths.push('/');
  return paths;
}

/**
 * Java's limit per SetWatches packet (ClientCnxn.SET_WATCHES_MAX_LENGTH), counted as the sum of
 * path lengths: far under the server's 1 MiB jute.maxbuffer, which one packet holding every
 * path once exceeded (ZOOKEEPER-706: the server closed every reconnect, for good).
 */
export const setWatchesBatchBytes = 128 * 1024;

/**
 * The client's side of watches: who waits for what on which path. A one-shot watch is
 * registered when its read is answered (data for getData and an exists that found the node,
 * exist for an exists that did not, child for getChildren) and fires at most once; a
 * persistent one (addWatch) when the server accepted it, and fires until it is removed. All
 * stay across reconnects (the owner re-arms them on the new connection with `batches()`).
 */
export class WatchManager {
  private readonly tables: Record<WatchKind, Map<string, Set<Watcher>>> = {
    data: new Map(),
    exist: new Map(),
    child: new Map(),
    persistent: new Map(),
    recursive: new Map(),
  };

  add(kind: WatchKind, path: string, watcher: Watcher): void {
    const table = this.tables[kind];
    let watchers = table.get(path);
    if (!watchers) table.set(path, (watchers = new Set()));
    watchers.add(watcher);
  }

  /** How many (path, table) entries are held. */
  get size(): number {
    let size = 0;
    for (const table of Object.values(this.tables)) size += table.size;
    return size;
  }

  /** How many watchers are held, over every path and table. */
  get watcherCount(): number {
    let count = 0;
    for (const table of Object.values(this.tables)) for (const watchers of table.values()) count += watchers.size;
    return count;
  }

  /**
   * Takes the watchers an event fires (as Java materializes them: created and data-changed
   * fire data and exist watches, deleted all three, children-changed child watches; every
   * event fires the persistent watches of its path, and all but children-changed the
   * recursive ones of its path and its ancestors, which stay) and calls each once. A watcher
   * that throws does not stop the others nor the connection: its error is rethrown on its own
   * turn, visible as any uncaught error.
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
    for (const watcher of this.tables.persistent.get(event.path) ?? []) fired.add(watcher);
    if (event.type !== 'children-changed' && this.tables.recursive.size > 0) {
      for (const path of selfAndAncestors(event.path)) for (const watcher of this.tables.recursive.get(path) ?? []) fired.add(watcher);
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
   * Every watched path, mapped by `toServer`, cut into batches of at most `maxBytes` of path
   * (the last path of a batch may overshoot, as in Java), filled in the order data, exist,
   * child, persistent, recursive.
   */
  batches(toServer: (path: string) => string, maxBytes = setWatchesBatchBytes): WatchBatch[] {
    const batches: WatchBatch[] = [];
    let current = emptyBatch();
    let bytes = 0;
    let paths = 0;
    const lists: [WatchKind, keyof WatchBatch][] = [
      ['data', 'dataWatches'],
      ['exist', 'existWatches'],
      ['child', 'childWatches'],
      ['persistent', 'persistentWatches'],
      ['recursive', 'persistentRecursiveWatches'],
    ];
    for (const [kind, field] of lists) {
      for (const path of this.tables[kind].keys()) {
        const serverPath = toServer(path);
        current[field].push(serverPath);
        paths += 1;
        bytes += Buffer.byteLength(serverPath);
        if (bytes >= maxBytes) {
          batches.push(current);
          current = emptyBatch();
          bytes = 0;
          paths = 0;
        }
      }
    }
    if (paths > 0) batches.push(current);
    return batches;
  }
}
