import { EventEmitter } from 'eventemitter3';
import zookeeper from 'node-zookeeper-client';
import type { EventEmitter as NodeEventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { parseConnectString } from '../connect-string.js';
import { ZooKeeperError, type ServerFailure } from '../errors.js';
import { probeServers } from './probe.js';
import { createModeFlags, handshakeTimeoutMs, sessionIdHex, watchEventType, zooKeeperError } from './protocol.js';
import type {
  AclEntry,
  ClientEvents,
  ClientOptions,
  CreateMode,
  DigestAuth,
  MultiOp,
  MultiResult,
  NodeData,
  NodeStat,
  SessionCredentials,
  WatchedRead,
  Watcher,
  ZkClient,
} from './types.js';

type RawStat = zookeeper.Stat & Record<string, unknown>;

// The library's Stat carries 64-bit fields as 8-byte big-endian Buffers.
function long(value: unknown): bigint {
  return Buffer.isBuffer(value) ? value.readBigInt64BE(0) : BigInt(Number(value ?? 0));
}

function toStat(raw: RawStat): NodeStat {
  return {
    czxid: long(raw.czxid),
    mzxid: long(raw.mzxid),
    pzxid: long(raw.pzxid),
    version: Number(raw.version),
    ephemeralOwner: sessionIdHex(raw.ephemeralOwner),
    createdAtMs: Number(long(raw.ctime)),
    numChildren: Number(raw.numChildren),
    dataLength: Number(raw.dataLength),
  };
}

function codeOf(error: unknown): number {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : 0;
}

const closeGraceMs = 2000;
// The library's numeric codes (its Exception), which zooKeeperError() names.
const connectionLossCode = -4;
const expiredCode = -112;

/** A request the library has not answered yet, and the connection it goes out on. */
interface InFlight {
  readonly connection: number;
  fail(code: number): void;
}

/**
 * The node-zookeeper-client backend (pure JavaScript; the default before 'builtin').
 *
 * No request outlives the connection it was sent on. The library loses requests in two ways
 * this adapter closes structurally rather than case by case: a reply whose xid is not the one
 * it expects makes it drop the connection with the expected request already taken off its
 * queue, never answered (a request the network lost does that: the next reply's xid is
 * ahead); and bytes of a reply torn by a dropped connection stay in its read buffer and garble
 * every later connection of the session. So every request is failed with CONNECTION_LOSS when
 * its connection goes (the library's own answer for the rest of its queue), and the read
 * buffer starts empty on each connection.
 */
export class NodeZookeeperClientAdapter extends EventEmitter<ClientEvents> implements ZkClient {
  readonly backend = 'node-zookeeper-client' as const;
  readonly createsWithAcl = true;
  private readonly client: zookeeper.Client;
  private closed = false;
  /** Connections made so far; a request sent while connected goes out on the current one, else on the next. */
  private connections = 0;
  private connected = false;
  private readonly inFlight = new Set<InFlight>();
  /** The library's callback of each watcher we handed it, by the read (and path) that set it. */
  private readonly callbacks = new Map<string, Map<Watcher, (event: zookeeper.Event) => void>>();
  /** When the library wrote the current connection's handshake. */
  private handshakeAt: number | undefined;
  /** The bound on the wait for the current connection's handshake answer. */
  private handshakeWait: { cancel: () => void } = { cancel: () => {} };

  constructor(private readonly options: ClientOptions) {
    super();
    this.client = zookeeper.createClient(options.connectString, {
      sessionTimeout: options.sessionTimeoutMs,
      spinDelay: 200,
      retries: 0,
      ...(options.credentials ? { sessionId: Buffer.from(options.credentials.id, 'hex'), sessionPassword: options.credentials.password } : {}),
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the library calls its hook with its own `this`
    const adapter = this;
    // The library writes the ConnectRequest the moment its socket connects, in
    // onSocketConnected, which it binds anew for every socket: note the time there, and bound
    // the wait for the answer, which the library does not (its connect timeout ends at TCP).
    const manager = this.manager();
    const onSocketConnected = manager.onSocketConnected;
    const now = options.now;
    const serverCount = parseConnectString(options.connectString).servers.length;
    manager.onSocketConnected = function (this: unknown, ...args: unknown[]) {
      if (now) adapter.handshakeAt = now();
      adapter.awaitHandshake(serverCount);
      return onSocketConnected.apply(this, args);
    };
    this.client.on('state', (state: zookeeper.State) => {
      this.handshakeWait.cancel();
      if (state === zookeeper.State.SYNC_CONNECTED) {
        this.connections += 1;
        this.connected = true;
      } else this.connectionEnded(state === zookeeper.State.EXPIRED ? expiredCode : connectionLossCode);
      if (this.closed) return;
      if (state === zookeeper.State.SYNC_CONNECTED) this.emit('state', 'connected');
      else if (state === zookeeper.State.DISCONNECTED) this.emit('state', 'disconnected');
      else if (state === zookeeper.State.EXPIRED) this.emit('state', 'expired');
      else if (state === zookeeper.State.AUTH_FAILED) this.emit('state', 'auth-failed');
    });
  }

  /** Whether the library holds a session id (zero until its first handshake is answered). */
  private hasSession(): boolean {
    return Buffer.from(this.client.getSessionId()).some((byte) => byte !== 0);
  }

  /**
   * Drops the socket that just connected unless the server answers its handshake in time:
   * the library then dials again, as after any closed socket.
   */
  private awaitHandshake(serverCount: number): void {
    const socket = this.manager().socket;
    this.handshakeWait.cancel();
    if (this.closed) return;
    const timer = setTimeout(
      () => {
        if (!this.closed && this.manager().socket === socket) socket?.destroy();
      },
      handshakeTimeoutMs(this.client.getSessionTimeout(), serverCount, this.hasSession()),
    );
    this.handshakeWait = { cancel: () => clearTimeout(timer) };
  }

  /**
   * The connection is gone (the library reports this before it dials again): fail what was
   * sent on it, and drop the bytes of a reply it tore.
   */
  private connectionEnded(code: number): void {
    this.connected = false;
    this.manager().pendingBuffer = null;
    for (const request of this.inFlight) if (request.connection <= this.connections) request.fail(code);
  }

  connect(): void {
    this.client.connect();
  }

  diagnoseConnect(budgetMs: number): Promise<ServerFailure[]> {
    return probeServers(parseConnectString(this.options.connectString).servers, budgetMs);
  }

  sessionCredentials(): SessionCredentials {
    return { id: sessionIdHex(this.client.getSessionId()), password: Buffer.from(this.client.getSessionPassword()) };
  }

  negotiatedSessionTimeoutMs(): number {
    return this.client.getSessionTimeout();
  }

  handshakeSentAt(): number | undefined {
    return this.handshakeAt;
  }

  addAuthInfo(auth: DigestAuth): void {
    this.client.addAuthInfo(auth.scheme, Buffer.from(auth.credential));
  }

  private call<T>(operation: string, path: string, run: (done: (error: unknown, value?: T) => void) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(zooKeeperError(connectionLossCode, operation, path, 'the client is closed'));
      // Asked while not connected, the library sends it once the next connection is up.
      const request: InFlight = {
        connection: this.connected ? this.connections : this.connections + 1,
        fail: (code) => {
          this.inFlight.delete(request);
          reject(zooKeeperError(code, operation, path, 'the connection it was sent on is gone'));
        },
      };
      this.inFlight.add(request);
      run((error, value) => {
        if (!this.inFlight.delete(request)) return;
        if (error instanceof ZooKeeperError) reject(error);
        else if (error) reject(zooKeeperError(codeOf(error), operation, path, String((error as Error).message ?? error)));
        else resolve(value as T);
      });
    });
  }

  /**
   * The library's callback for `watcher`, remembered by the read that set it so that
   * `removeWatcher` can take that very callback out of the library's table again.
   */
  private watchWith(read: WatchedRead, path: string, watcher: Watcher | undefined): ((event: zookeeper.Event) => void) | undefined {
    if (!watcher) return undefined;
    const key = `${read}:${path}`;
    const callbacks = this.callbacks.get(key) ?? new Map<Watcher, (event: zookeeper.Event) => void>();
    this.callbacks.set(key, callbacks);
    const callback = (event: zookeeper.Event) => {
      this.forgetCallback(key, watcher);
      const type = watchEventType(event.getType());
      if (type) watcher({ type, path: event.getPath() });
    };
    callbacks.set(watcher, callback);
    return callback;
  }

  private forgetCallback(key: string, watcher: Watcher): ((event: zookeeper.Event) => void) | undefined {
    const callbacks = this.callbacks.get(key);
    const callback = callbacks?.get(watcher);
    callbacks?.delete(watcher);
    if (callbacks?.size === 0) this.callbacks.delete(key);
    return callback;
  }

  /**
   * Takes `watcher` out of the library's table, so that it is never called and the next
   * connection's SetWatches (built from that table) does not re-arm it. The server's watch of
   * this connection stays until it fires: the library cannot send removeWatches.
   */
  removeWatcher(path: string, read: WatchedRead, watcher: Watcher): Promise<void> {
    const callback = this.forgetCallback(`${read}:${path}`, watcher);
    if (!callback) return Promise.resolve();
    const tables = read === 'children' ? ['child'] : read === 'data' ? ['data'] : ['data', 'existence'];
    const manager = this.watcherManager();
    for (const table of tables) {
      const watchers = manager[`${table}Watchers`];
      const emitter = watchers?.[path];
      if (!emitter) continue;
      emitter.removeListener('notification', callback);
      if (emitter.listenerCount('notification') === 0) delete watchers[path];
    }
    return Promise.resolve();
  }

  watcherCount(): number {
    const manager = this.watcherManager();
    let count = 0;
    for (const table of ['data', 'existence', 'child']) {
      for (const emitter of Object.values(manager[`${table}Watchers`] ?? {})) count += emitter.listenerCount('notification');
    }
    return count;
  }

  // The library's watch table (lib/WatcherManager.js: one EventEmitter per path and table),
  // from which it builds the SetWatches of every new connection and which it offers no way
  // to remove from: we reach in for that alone.
  private watcherManager(): Record<string, Record<string, NodeEventEmitter> | undefined> {
    return (this.client as unknown as { connectionManager: { watcherManager: Record<string, Record<string, NodeEventEmitter>> } }).connectionManager
      .watcherManager;
  }

  create(path: string, data: Buffer, mode: CreateMode, acl: readonly AclEntry[]): Promise<string> {
    const acls = acl.map((entry) => new zookeeper.ACL(entry.permissions, new zookeeper.Id(entry.scheme, entry.id)));
    return this.call('create', path, (done) => this.client.create(path, data, acls, createModeFlags[mode], (error, created) => done(error, created)));
  }

  remove(path: string, version: number): Promise<void> {
    return this.call('delete', path, (done) => this.client.remove(path, version, (error) => done(error)));
  }

  async exists(path: string, watcher?: Watcher): Promise<NodeStat | null> {
    const watch = this.watchWith('exists', path, watcher);
    const stat = await this.settingWatch('exists', path, watcher, () =>
      this.call<RawStat | null>('exists', path, (done) =>
        watch
          ? this.client.exists(path, watch, (error, raw) => done(error, raw as RawStat | null))
          : this.client.exists(path, (error, raw) => done(error, raw as RawStat | null)),
      ),
    );
    return stat ? toStat(stat) : null;
  }

  /** Runs a read that may set `watcher`: one that fails set none, so its callback is forgotten. */
  private async settingWatch<T>(read: WatchedRead, path: string, watcher: Watcher | undefined, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (watcher) this.forgetCallback(`${read}:${path}`, watcher);
      throw error;
    }
  }

  async getData(path: string, watcher?: Watcher): Promise<NodeData> {
    const watch = this.watchWith('data', path, watcher);
    const [data, stat] = await this.settingWatch('data', path, watcher, () =>
      this.call<[Buffer, RawStat]>('getData', path, (done) =>
        watch
          ? this.client.getData(path, watch, (error, value, raw) => done(error, [value, raw as RawStat]))
          : this.client.getData(path, (error, value, raw) => done(error, [value, raw as RawStat])),
      ),
    );
    return { data: data ?? Buffer.alloc(0), stat: toStat(stat) };
  }

  async setData(path: string, data: Buffer, version: number): Promise<NodeStat> {
    const raw = await this.call<RawStat>('setData', path, (done) => this.client.setData(path, data, version, (error, stat) => done(error, stat as RawStat)));
    return toStat(raw);
  }

  getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    const watch = this.watchWith('children', path, watcher);
    return this.settingWatch('children', path, watcher, () =>
      this.call<string[]>('getChildren', path, (done) =>
        watch
          ? this.client.getChildren(path, watch, (error, children) => done(error, children))
          : this.client.getChildren(path, (error, children) => done(error, children)),
      ),
    );
  }

  setAcl(path: string, acl: readonly AclEntry[]): Promise<void> {
    const acls = acl.map((entry) => new zookeeper.ACL(entry.permissions, new zookeeper.Id(entry.scheme, entry.id)));
    return this.call('setAcl', path, (done) => this.client.setACL(path, acls, -1, (error) => done(error)));
  }

  multi(ops: readonly MultiOp[]): Promise<MultiResult[]> {
    if (ops.length === 0) return Promise.resolve([]);
    const transaction = this.client.transaction();
    for (const op of ops) {
      if (op.type === 'create') {
        const acls = op.acl.map((entry) => new zookeeper.ACL(entry.permissions, new zookeeper.Id(entry.scheme, entry.id)));
        transaction.create(op.path, op.data, acls, createModeFlags[op.mode]);
      } else if (op.type === 'delete') transaction.remove(op.path, op.version);
      else if (op.type === 'setData') transaction.setData(op.path, op.data, op.version);
      else transaction.check(op.path, op.version);
    }
    // The library rejects with the first failed op's code (the ops before it carry OK, the ones
    // after it RUNTIMEINCONSISTENCY) and passes the results along, which tell which op it was.
    type RawResult = { type: number; path?: string; stat?: RawStat; err?: number };
    return this.call<RawResult[]>('multi', ops[0]!.path, (done) =>
      transaction.commit((error, results: unknown) => {
        const failedOp = error && Array.isArray(results) ? (results as RawResult[]).findIndex((result) => (result.err ?? 0) !== 0) : -1;
        if (failedOp === -1) return done(error, results as RawResult[]);
        const op = ops[failedOp]!;
        done(zooKeeperError(codeOf(error), 'multi', op.path, `operation ${failedOp + 1} of ${ops.length} (${op.type}); nothing was applied`, failedOp));
      }),
    ).then((results) =>
      results.map((result, index): MultiResult => {
        switch (ops[index]!.type) {
          case 'create':
            return { type: 'create', path: result.path ?? '' };
          case 'setData':
            return { type: 'setData', stat: toStat(result.stat!) };
          case 'delete':
            return { type: 'delete' };
          default:
            return { type: 'check' };
        }
      }),
    );
  }

  // The library has no sync request. A multi with one version check (-1 matches any) is a
  // write: the server replies only after applying every earlier commit, which is what sync
  // guarantees, and it changes nothing and triggers no watch. NO_NODE means the same for us.
  async sync(path: string): Promise<void> {
    try {
      await this.call<void>('sync', path, (done) =>
        this.client
          .transaction()
          .check(path, -1)
          .commit((error) => done(error)),
      );
    } catch (error) {
      if ((error as { code?: string }).code !== 'NO_NODE') throw error;
    }
  }

  // The library keeps its connection private and has no read timeout, and it retries a
  // closed socket forever unless told it is closing: we reach in only to drop the connection.
  private manager(): {
    socket?: Socket;
    connect: () => void;
    connectTimeoutHandler?: NodeJS.Timeout;
    pendingBuffer: Buffer | null;
    onSocketConnected: (...args: unknown[]) => unknown;
  } {
    return (this.client as unknown as { connectionManager: ReturnType<NodeZookeeperClientAdapter['manager']> }).connectionManager;
  }

  dropConnection(): void {
    this.manager().socket?.destroy();
  }

  private forceClose(): void {
    const manager = this.manager();
    manager.connect = () => {};
    clearTimeout(manager.connectTimeoutHandler);
    // Between connection attempts the library has no socket, and its close() writes to it.
    if (manager.socket) this.client.close();
    manager.socket?.destroy();
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.handshakeWait.cancel();
    if (this.client.getState() !== zookeeper.State.SYNC_CONNECTED) {
      this.forceClose();
      this.failAll();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const closed = () => {
        clearTimeout(timer);
        this.failAll();
        resolve();
      };
      // A silent server never answers the close request: stop waiting and drop the socket.
      const timer = setTimeout(() => {
        this.forceClose();
        closed();
      }, closeGraceMs);
      this.client.once('disconnected', closed);
      this.client.close();
    });
  }

  /** Closed: what is still queued is never sent now, and would never be answered. */
  private failAll(): void {
    for (const request of this.inFlight) request.fail(connectionLossCode);
  }
}
