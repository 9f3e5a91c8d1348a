import { EventEmitter } from 'eventemitter3';
import { createRequire } from 'node:module';
import { parseConnectString } from '../connect-string.js';
import { BackendNotInstalledError, type ServerFailure } from '../errors.js';
import { probeServers } from './probe.js';
import { createModeFlags, sessionIdHex, watchEventType, zooKeeperError } from './protocol.js';
import { isOpenAcl } from './types.js';
import type {
  AclEntry,
  ClientEvents,
  ClientOptions,
  CreateMode,
  DigestAuth,
  NodeData,
  NodeStat,
  SessionCredentials,
  WatchEventType,
  WatchedRead,
  Watcher,
  ZkClient,
} from './types.js';

// The parts of the `zookeeper` package (the C client binding) this adapter uses.
interface NativeStat {
  czxid: number;
  mzxid: number;
  pzxid: number;
  version: number;
  ephemeralOwner: string;
  ctime: Date;
  numChildren: number;
  dataLength: number;
}
type WatchCallback = (type: number, state: number, path: string) => void;
interface NativeAcl {
  perms: number;
  scheme: string;
  auth: string;
}
interface NativeClient {
  init(config: Record<string, unknown>): unknown;
  /** 0 when no C handle exists: `init` failed (no server name resolves) or it is closed. */
  readonly state: number;
  on(event: 'connect' | 'connecting', listener: () => void): void;
  // The JavaScript wrapper emits the wrapper itself first, then the state code.
  on(event: 'close', listener: (wrapper: unknown, code: number) => void): void;
  close(): void;
  readonly timeout: number;
  readonly client_id: string;
  readonly client_password: string;
  a_create(path: string, data: Buffer, flags: number, callback: (rc: number, error: string, path: string) => void): number;
  a_delete_(path: string, version: number, callback: (rc: number, error: string) => void): number;
  aw_exists(path: string, watch: WatchCallback, callback: (rc: number, error: string, stat: NativeStat) => void): number;
  a_exists(path: string, watch: boolean, callback: (rc: number, error: string, stat: NativeStat) => void): number;
  aw_get(path: string, watch: WatchCallback, callback: (rc: number, error: string, stat: NativeStat, data: Buffer | null) => void): number;
  a_get(path: string, watch: boolean, callback: (rc: number, error: string, stat: NativeStat, data: Buffer | null) => void): number;
  a_set(path: string, data: Buffer, version: number, callback: (rc: number, error: string, stat: NativeStat) => void): number;
  aw_get_children(path: string, watch: WatchCallback, callback: (rc: number, error: string, children: string[]) => void): number;
  a_get_children(path: string, watch: boolean, callback: (rc: number, error: string, children: string[]) => void): number;
  a_set_acl(path: string, version: number, acl: NativeAcl[], callback: (rc: number, error: string) => void): number;
  a_sync(path: string, callback: (rc: number, error: string) => void): number;
  add_auth(scheme: string, auth: string, callback: (rc: number, error: string) => void): number;
}
type NativeConstructor = new () => NativeClient;

let nativeConstructor: NativeConstructor | undefined;

function loadNative(): NativeConstructor {
  if (!nativeConstructor) {
    try {
      // Loaded on first use only: the package is an optional peer dependency with a native build.
      nativeConstructor = createRequire(import.meta.url)('zookeeper') as NativeConstructor;
    } catch (cause) {
      throw new BackendNotInstalledError('zookeeper', 'zookeeper', cause);
    }
  }
  return nativeConstructor;
}

function toStat(raw: NativeStat): NodeStat {
  return {
    czxid: BigInt(raw.czxid),
    mzxid: BigInt(raw.mzxid),
    pzxid: BigInt(raw.pzxid),
    version: raw.version,
    ephemeralOwner: sessionIdHex(raw.ephemeralOwner),
    createdAtMs: raw.ctime instanceof Date ? raw.ctime.getTime() : Number(raw.ctime),
    numChildren: raw.numChildren,
    dataLength: raw.dataLength,
  };
}

type WatchKind = WatchedRead;

/** Which events end which kind of watch, as ZooKeeper defines them. */
const firesOn: Record<WatchKind, WatchEventType[]> = {
  exists: ['created', 'deleted', 'data-changed'],
  data: ['deleted', 'data-changed'],
  children: ['deleted', 'children-changed'],
};

const ZOK = 0;

const expiredSessionState = -112;
const authFailedState = -113;

/**
 * The `zookeeper` backend: the official C client through its Node binding. The C client
 * has its own read timeout (2/3 of the session timeout), so it notices a silent connection
 * and reconnects by itself.
 */
export class NativeZookeeperAdapter extends EventEmitter<ClientEvents> implements ZkClient {
  readonly backend = 'zookeeper' as const;
  readonly createsWithAcl = false;
  private readonly native: NativeClient;
  private closed = false;
  /** The C client refused to start (no server name resolves): it will never connect, nor report closing. */
  private initFailed = false;
  private closedPromise: Promise<void>;
  /**
   * The latest moment known to come before the current connection's handshake: the C client
   * dials (and sends the handshake) after it reports a lost connection, and never says when.
   */
  private attemptStartedAt: number | undefined;

  constructor(private readonly options: ClientOptions) {
    super();
    const Native = loadNative();
    this.native = new Native();
    this.native.on('connect', () => this.report('connected'));
    this.native.on('connecting', () => {
      this.attemptStartedAt = this.options.now?.();
      this.report('disconnected');
    });
    this.closedPromise = new Promise((resolve) => {
      this.native.on('close', (_wrapper, code) => {
        if (code === expiredSessionState) this.report('expired');
        else if (code === authFailedState) this.report('auth-failed');
        resolve();
      });
    });
  }

  private report(state: 'connected' | 'disconnected' | 'expired' | 'auth-failed'): void {
    if (!this.closed) this.emit('state', state);
  }

  handshakeSentAt(): number | undefined {
    return this.attemptStartedAt;
  }

  connect(): void {
    this.attemptStartedAt = this.options.now?.();
    const credentials = this.options.credentials;
    this.native.init({
      connect: this.options.connectString,
      timeout: this.options.sessionTimeoutMs,
      debug_level: 0, // the C client's own log to stderr stays off
      host_order_deterministic: false,
      ...(credentials ? { client_id: credentials.id.replace(/^0+(?=.)/, ''), client_password: credentials.password.toString('hex') } : {}),
    });
    // The wrapper drops init's error; without a handle the state stays 0. The session's connect
    // timeout then gives up on this client, and diagnoseConnect() tells why.
    this.initFailed = this.native.state === 0;
  }

  diagnoseConnect(budgetMs: number): Promise<ServerFailure[]> {
    return probeServers(parseConnectString(this.options.connectString).servers, budgetMs);
  }

  sessionCredentials(): SessionCredentials {
    return { id: sessionIdHex(this.native.client_id), password: Buffer.from(this.native.client_password, 'hex') };
  }

  negotiatedSessionTimeoutMs(): number {
    return this.native.timeout;
  }

  addAuthInfo(auth: DigestAuth): void {
    this.native.add_auth(auth.scheme, auth.credential, () => {});
  }

  /** Runs one C-client call: a non-zero return means the request was never queued. */
  private call<T>(operation: string, path: string, run: (done: (rc: number, error: string, value?: T) => void) => number): Promise<T> {
    return new Promise((resolve, reject) => {
      const queued = run((rc, error, value) => {
        if (rc === ZOK) resolve(value as T);
        else reject(zooKeeperError(rc, operation, path, error));
      });
      if (queued !== ZOK) reject(zooKeeperError(queued, operation, path));
    });
  }

  // The binding never frees the callback it is handed for a watch, nor what that callback
  // holds: so it only ever gets this one dispatcher, and our watchers live in `pending`
  // until their event comes.
  private readonly pending = new Map<string, { kind: WatchKind; watcher: Watcher }[]>();
  private readonly dispatch: WatchCallback = (type, _state, path) => {
    const eventType = watchEventType(type);
    const waiting = eventType ? this.pending.get(path) : undefined;
    if (!eventType || !waiting) return;
    const firing = waiting.filter((entry) => firesOn[entry.kind].includes(eventType));
    const left = waiting.filter((entry) => !firing.includes(entry));
    if (left.length > 0) this.pending.set(path, left);
    else this.pending.delete(path);
    for (const entry of firing) entry.watcher({ type: eventType, path });
  };

  private watchWith(path: string, kind: WatchKind, watcher: Watcher): WatchCallback {
    const waiting = this.pending.get(path) ?? [];
    waiting.push({ kind, watcher });
    this.pending.set(path, waiting);
    return this.dispatch;
  }

  /** Drops a watcher whose request failed (ZooKeeper set no watch for it), or one of `kind` its owner is done with. */
  private unwatch(path: string, watcher: Watcher, kind?: WatchKind): void {
    const left = (this.pending.get(path) ?? []).filter((entry) => entry.watcher !== watcher || (kind !== undefined && entry.kind !== kind));
    if (left.length > 0) this.pending.set(path, left);
    else this.pending.delete(path);
  }

  /**
   * Forgets `watcher`: the dispatcher then calls nobody for it. The C client keeps its own
   * entry (re-armed on every reconnect) and the server its watch, until it fires: the binding
   * has no removeWatches.
   */
  removeWatcher(path: string, read: WatchedRead, watcher: Watcher): Promise<void> {
    this.unwatch(path, watcher, read);
    return Promise.resolve();
  }

  /** Our watchers waiting for their event (the C client's own table is out of reach). */
  watcherCount(): number {
    let count = 0;
    for (const waiting of this.pending.values()) count += waiting.length;
    return count;
  }

  async create(path: string, data: Buffer, mode: CreateMode, acl: readonly AclEntry[]): Promise<string> {
    const created = await this.call<string>('create', path, (done) => this.native.a_create(path, data, createModeFlags[mode], done));
    // The binding always creates with the open ACL; narrow it at once. A connection loss in
    // between is repaired by the caller, which applies the ACL again to the node it finds.
    if (!isOpenAcl(acl)) await this.setAcl(created, acl);
    return created;
  }

  setAcl(path: string, acl: readonly AclEntry[]): Promise<void> {
    const entries = acl.map((entry) => ({ perms: entry.permissions, scheme: entry.scheme, auth: entry.id }));
    return this.call<void>('setAcl', path, (done) => this.native.a_set_acl(path, -1, entries, done));
  }

  sync(path: string): Promise<void> {
    return this.call<void>('sync', path, (done) => this.native.a_sync(path, done));
  }

  remove(path: string, version: number): Promise<void> {
    return this.call('delete', path, (done) => this.native.a_delete_(path, version, done));
  }

  async exists(path: string, watcher?: Watcher): Promise<NodeStat | null> {
    try {
      const stat = await this.call<NativeStat>('exists', path, (done) =>
        watcher ? this.native.aw_exists(path, this.watchWith(path, 'exists', watcher), done) : this.native.a_exists(path, false, done),
      );
      return toStat(stat);
    } catch (error) {
      // NO_NODE still sets the watch (for the node's creation); other errors set none.
      if ((error as { code?: string }).code === 'NO_NODE') return null;
      if (watcher) this.unwatch(path, watcher);
      throw error;
    }
  }

  async getData(path: string, watcher?: Watcher): Promise<NodeData> {
    try {
      const [stat, data] = await this.call<[NativeStat, Buffer | null]>('getData', path, (done) => {
        const callback = (rc: number, error: string, raw: NativeStat, value: Buffer | null) => done(rc, error, [raw, value]);
        return watcher ? this.native.aw_get(path, this.watchWith(path, 'data', watcher), callback) : this.native.a_get(path, false, callback);
      });
      return { data: data ?? Buffer.alloc(0), stat: toStat(stat) };
    } catch (error) {
      if (watcher) this.unwatch(path, watcher);
      throw error;
    }
  }

  async setData(path: string, data: Buffer, version: number): Promise<NodeStat> {
    return toStat(await this.call<NativeStat>('setData', path, (done) => this.native.a_set(path, data, version, done)));
  }

  async getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    try {
      return await this.call<string[]>('getChildren', path, (done) =>
        watcher ? this.native.aw_get_children(path, this.watchWith(path, 'children', watcher), done) : this.native.a_get_children(path, false, done),
      );
    } catch (error) {
      if (watcher) this.unwatch(path, watcher);
      throw error;
    }
  }

  dropConnection(): void {
    // Nothing to do: the C client's read timeout already drops a silent connection.
  }

  async close(): Promise<void> {
    if (this.closed) return this.initFailed ? undefined : this.closedPromise;
    this.closed = true;
    this.native.close();
    // No handle, so no 'close' event will come.
    if (this.initFailed) return;
    return this.closedPromise;
  }
}
