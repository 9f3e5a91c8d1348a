import type { NodeData, NodeStat, WatchEvent, WatchedRead, Watcher, ZkClient } from './client/types.js';

/**
 * One watch of the session's client, shared by everyone in the session who waits on the same
 * read of the same node: the client (and the server) hold it once, however many owners listen.
 */
interface SharedWatch {
  readonly read: WatchedRead;
  readonly path: string;
  /** Who waits on it, and the group each belongs to (null: a caller of the Session's own reads). */
  readonly listeners: Map<Watcher, WatchGroup | null>;
  /** The watcher handed to the client with the read. */
  readonly clientWatcher: Watcher;
  /** The client the read went out on, once it was sent. */
  client: ZkClient | null;
  /** `reading` until the read is answered; `set` while the client holds it; `over` once fired, failed or removed. */
  state: 'reading' | 'set' | 'over';
  /** The first reader's read failed: no watch was set, and its joiners were dropped. */
  failed: boolean;
}

/**
 * The watches of one ZooKeeper session (a `SessionScope`): one client watch per node and
 * read, however many owners wait on it, and removed from the client (and, where the backend
 * can, from the server) once the last of them has left. Without that, every election that
 * came and went left its watches behind, and the client re-sent them at every reconnect.
 */
export class SessionWatches {
  private readonly shared = new Map<string, SharedWatch>();
  private ended = false;

  constructor(
    /** A removal the server refused: reported, since the server keeps that watch until it fires. */
    private readonly removalFailed: (error: unknown, path: string) => void,
  ) {}

  /** Listeners waiting on a watch right now (leak checks). */
  get listenerCount(): number {
    let count = 0;
    for (const watch of this.shared.values()) count += watch.listeners.size;
    return count;
  }

  /** The session has ended: its client and its watches are gone, nobody is called any more. */
  end(): void {
    this.ended = true;
    for (const watch of this.shared.values()) this.over(watch);
    this.shared.clear();
  }

  /**
   * Runs a read that sets a watch for `listener`. The first reader of a node sends the read
   * with the watch; a later one joins that watch and sends its read without one (the client
   * would otherwise stack a callback per reader). A failed read sets no watch (ZooKeeper
   * registers it with the reply), so its listener is dropped again.
   *
   * A joiner's answer counts only if the watch it joined was set: when the first reader's read
   * fails, the joiners are dropped with it, and a joiner whose own read was answered (it went
   * out on the next connection) reads again, itself with the watch. Otherwise that owner
   * would hold an answer and no watch, and never hear of the next change.
   * @param send runs `call` on the session's client, as any request of the session.
   */
  async read<T>(
    read: WatchedRead,
    path: string,
    listener: Watcher,
    group: WatchGroup | null,
    send: (call: (client: ZkClient) => Promise<T>) => Promise<T>,
    call: WatchRun<T>,
  ): Promise<T> {
    for (;;) {
      const outcome = await this.readOnce(read, path, listener, group, send, call);
      // An owner that is done meanwhile, or has let this listener go, is not watched again.
      if (outcome.set || group?.isClosed || group?.wasCancelled(listener)) return outcome.result;
    }
  }

  private async readOnce<T>(
    read: WatchedRead,
    path: string,
    listener: Watcher,
    group: WatchGroup | null,
    send: (call: (client: ZkClient) => Promise<T>) => Promise<T>,
    call: WatchRun<T>,
  ): Promise<{ set: boolean; result: T }> {
    const key = `${read}:${path}`;
    const existing = this.shared.get(key);
    const watch = existing ?? this.newWatch(key, read, path);
    watch.listeners.set(listener, group);
    group?.joined(listener, watch);
    try {
      const result = await send((client) => {
        if (existing) return call(client, undefined);
        watch.client = client;
        return call(client, watch.clientWatcher);
      });
      if (!existing && watch.state === 'reading') {
        watch.state = 'set';
        // Everyone left while the read was on its way: the watch it set goes at once.
        if (watch.listeners.size === 0) this.release(watch);
      }
      // A joined watch whose own read failed set nothing: read again, unless the session ended.
      return { set: !watch.failed || this.ended, result };
    } catch (error) {
      if (existing) this.leave(watch, listener);
      else {
        watch.failed = true;
        this.over(watch);
      }
      throw error;
    }
  }

  /**
   * A watch for the table, not yet read. Made here rather than in `readOnce`, so that its
   * client watcher's closure holds the watch alone, not the whole read's scope: it lives as
   * long as the watch, in every idle election.
   */
  private newWatch(key: string, read: WatchedRead, path: string): SharedWatch {
    const watch: SharedWatch = {
      read,
      path,
      listeners: new Map(),
      clientWatcher: (event) => this.fired(watch, event),
      client: null,
      state: 'reading',
      failed: false,
    };
    this.shared.set(key, watch);
    return watch;
  }

  /** `listener` no longer waits on `watch`; the last one to leave takes the watch away. */
  leave(watch: SharedWatch, listener: Watcher): void {
    if (!watch.listeners.delete(listener)) return;
    if (watch.listeners.size === 0 && watch.state === 'set') this.release(watch);
  }

  private fired(watch: SharedWatch, event: WatchEvent): void {
    if (watch.state === 'over') return;
    const listeners = [...watch.listeners.keys()];
    this.over(watch);
    if (this.ended) return;
    for (const listener of listeners) listener(event);
  }

  /** Nobody waits any more: out of the table, out of the client, and off the server where it can. */
  private release(watch: SharedWatch): void {
    const client = watch.client;
    // A client that cannot drop a watcher keeps calling it until the watch fires: keep the
    // entry then, so that a later reader of the node joins it rather than stack another one.
    if (!client?.removeWatcher) return;
    this.over(watch);
    client.removeWatcher(watch.path, watch.read, watch.clientWatcher).catch((error: unknown) => this.removalFailed(error, watch.path));
  }

  private over(watch: SharedWatch): void {
    watch.state = 'over';
    const key = `${watch.read}:${watch.path}`;
    if (this.shared.get(key) === watch) this.shared.delete(key);
    for (const [listener, group] of watch.listeners) group?.left(listener, watch);
    watch.listeners.clear();
  }
}

/**
 * The watches one owner (a candidacy, an observer, a membership) sets in one ZooKeeper
 * session. Every watched read of the owner goes through its group, and `close()` when the
 * owner is done removes every watch it still waits on: from the client always, from the
 * server where the backend can, in either case without taking away a watch another owner on
 * the session still waits on. Once closed, reads through the group set no watch.
 */
export class WatchGroup {
  /**
   * Each listener of this group and the watches it waits on: nearly always one, so a list (an
   * array of one costs a third of a Set, and an idle election holds two of them).
   */
  private readonly waits = new Map<Watcher, SharedWatch[]>();
  /**
   * Listeners the owner let go of, until it reads with one again: a read on its way must not
   * bring one back. Made at the first `cancel()` (most owners never cancel).
   */
  private cancelled: WeakSet<Watcher> | null = null;
  private closed = false;

  /** @internal Made by `SessionScope.watchGroup()`. */
  constructor(
    private readonly watches: SessionWatches,
    private readonly reader: WatchedReader,
  ) {}

  /** Whether `close()` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** How many listeners of this group wait on a watch right now. */
  get size(): number {
    return this.waits.size;
  }

  /** `exists`, calling `listener` on the node's creation, a data change or its deletion. */
  exists(path: string, listener: Watcher): Promise<NodeStat | null> {
    return this.reader('exists', path, this.live(listener), this, (client, watcher) => client.exists(path, watcher));
  }

  /** `getData`, calling `listener` on a data change or the deletion. */
  getData(path: string, listener: Watcher): Promise<NodeData> {
    return this.reader('data', path, this.live(listener), this, (client, watcher) => client.getData(path, watcher));
  }

  /** `getChildren`, calling `listener` on a child added or removed, or the deletion. */
  getChildren(path: string, listener: Watcher): Promise<string[]> {
    return this.reader('children', path, this.live(listener), this, (client, watcher) => client.getChildren(path, watcher));
  }

  /** A closed group reads without a watch: nothing of an owner that is done may be called. */
  private live(listener: Watcher): Watcher | undefined {
    if (this.closed) return undefined;
    this.cancelled?.delete(listener);
    return listener;
  }

  /** @internal Whether the owner cancelled `listener` since it last read with it. */
  wasCancelled(listener: Watcher): boolean {
    return this.cancelled?.has(listener) ?? false;
  }

  /** Stops `listener` waiting on any watch (its slot was given to another node, say); the group stays open. */
  cancel(listener: Watcher): void {
    (this.cancelled ??= new WeakSet()).add(listener);
    const watches = this.waits.get(listener);
    if (!watches) return;
    this.waits.delete(listener);
    for (const watch of watches) this.watches.leave(watch, listener);
  }

  /** The owner is done: every watch it waits on is removed (unless another owner waits on it too). */
  close(): void {
    this.closed = true;
    for (const listener of [...this.waits.keys()]) this.cancel(listener);
  }

  /** @internal `listener` waits on `watch` now. */
  joined(listener: Watcher, watch: SharedWatch): void {
    const watches = this.waits.get(listener);
    if (!watches) this.waits.set(listener, [watch]);
    else if (!watches.includes(watch)) watches.push(watch);
  }

  /** @internal `watch` fired, failed or was removed: `listener` no longer waits on it. */
  left(listener: Watcher, watch: SharedWatch): void {
    const watches = this.waits.get(listener);
    const index = watches ? watches.indexOf(watch) : -1;
    if (!watches || index < 0) return;
    watches.splice(index, 1);
    if (watches.length === 0) this.waits.delete(listener);
  }
}

/** A read on the session's client, with the watcher to pass it (undefined: no watch). */
export type WatchRun<T> = (client: ZkClient, watcher: Watcher | undefined) => Promise<T>;

/** How a group reads: the session's request path, with `listener` (none: no watch) owned by `group`. */
export type WatchedReader = <T>(read: WatchedRead, path: string, listener: Watcher | undefined, group: WatchGroup | null, run: WatchRun<T>) => Promise<T>;

/**
 * The watches of an owner that outlives ZooKeeper sessions (an observer, a membership): one
 * group per session it reads in, the previous one closed when a new session comes, and all of
 * them by `close()`; a read after that sets no watch.
 */
export class OwnerWatches {
  private current: { scope: object; group: WatchGroup } | null = null;
  private closed = false;

  /** The group for reads in `scope`. */
  in(scope: { watchGroup(): WatchGroup }): WatchGroup {
    if (this.current?.scope !== scope) {
      this.current?.group.close();
      this.current = { scope, group: scope.watchGroup() };
      if (this.closed) this.current.group.close();
    }
    return this.current.group;
  }

  /** The owner is done: every watch it waits on is removed. */
  close(): void {
    this.closed = true;
    this.current?.group.close();
  }
}
