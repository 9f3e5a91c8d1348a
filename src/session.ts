import { EventEmitter } from 'eventemitter3';
import { createClient, validateBackend } from './client/index.js';
import type {
  AclEntry,
  BackendName,
  ClientState,
  CreateMode,
  DigestAuth,
  NodeStat,
  SessionCredentials,
  Watcher,
  ZkClient,
} from './client/types.js';
import { openAcl } from './client/types.js';
import {
  ConnectTimeoutError,
  InvalidArgumentError,
  SessionClosedError,
  ZkLeaderError,
  ZooKeeperError,
  isZooKeeperError,
} from './errors.js';
import { silentLogger, type Logger } from './logger.js';
import { ancestorsAndSelf, validatePath } from './paths.js';

/**
 * `connecting`: no session yet (first connect, or a new one after expiry). `connected`:
 * requests flow. `suspended`: the connection dropped or went silent; the session may still
 * be alive on the server. `closed`: for good.
 */
export type SessionState = 'connecting' | 'connected' | 'suspended' | 'closed';

export type SuspendReason = 'disconnected' | 'silent';
export type ExpiryReason = 'server' | 'local-timeout';

export interface SessionEvents {
  /** A new ZooKeeper session is established (the first, or one after expiry). */
  connected: [info: { sessionId: string; generation: number; sessionTimeoutMs: number }];
  /** The connection dropped or went silent; leadership may be at risk. */
  suspended: [info: { reason: SuspendReason }];
  /** The same session is back after a suspension; its ephemeral nodes and watches survive. */
  reconnected: [info: { sessionId: string }];
  /** The session is gone (the server said so, or it stayed unreachable for a whole timeout). */
  expired: [info: { sessionId: string; reason: ExpiryReason }];
  closed: [];
  error: [error: ZkLeaderError];
}

export interface SessionOptions {
  /** ZooKeeper connect string, "host:port[,host:port...][/chroot]". */
  connect: string;
  /** Requested session timeout; the server may narrow it. Default 10 000 ms. */
  sessionTimeoutMs?: number;
  /** How long the first connect may take before `ready()` fails. Default 15 000 ms. */
  connectTimeoutMs?: number;
  /** Client library. Default 'node-zookeeper-client'. */
  backend?: BackendName;
  /** Digest credentials sent on every connection, e.g. `{ scheme: 'digest', credential: 'user:secret' }`. */
  auth?: DigestAuth | DigestAuth[];
  logger?: Logger;
}

const defaultSessionTimeoutMs = 10_000;
const maxBackoffMs = 5_000;

/** The clock used for liveness decisions; a fraction of the negotiated session timeout. */
const livenessFractions = {
  /** Send a heartbeat request this often. */
  heartbeat: 1 / 4,
  /** Check the reply clock this often. */
  check: 1 / 12,
  /** Silence longer than this counts as a suspension: well before the server can expire us. */
  silence: 2 / 3,
};

function validateConnect(connect: unknown): string {
  if (typeof connect !== 'string' || connect.trim() === '') {
    throw new InvalidArgumentError(`connect must be a ZooKeeper connect string such as '127.0.0.1:2181': got ${JSON.stringify(connect)}`);
  }
  const [hosts = ''] = connect.split('/');
  for (const host of hosts.split(',')) {
    if (!/^[^:\s]+(:\d{1,5})?$/.test(host.trim())) {
      throw new InvalidArgumentError(`connect has a malformed server '${host}': expected 'host:port' in '${connect}'`);
    }
  }
  return connect;
}

function validatePositive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive number of milliseconds: got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * One ZooKeeper connection's life, across reconnects and expiries: it owns the client, runs
 * its own liveness clock (a silent connection is suspended and dropped before the server can
 * expire the session), and replaces an expired session with a new one, with backoff. Many
 * elections may share one Session; `generation` tells them which session a result belongs to.
 */
export class Session extends EventEmitter<SessionEvents> {
  readonly backend: BackendName;
  readonly connectString: string;
  readonly requestedSessionTimeoutMs: number;
  readonly connectTimeoutMs: number;
  private readonly auth: DigestAuth[];
  private readonly logger: Logger;

  private currentState: SessionState = 'connecting';
  private client: ZkClient | null = null;
  private currentGeneration = 0;
  private currentSessionId = '';
  private negotiatedTimeoutMs: number;
  private lastReplyAt = 0;
  private livenessTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private backoffTimer: NodeJS.Timeout | null = null;
  private failedAttempts = 0;
  private readonly firstConnect: Promise<void>;
  private settleFirstConnect!: (error?: Error) => void;
  private closing: Promise<void> | null = null;

  /** Requests sent on behalf of recipes, by operation (heartbeats are counted as 'heartbeat'). */
  readonly requestCounts: Record<string, number> = {};

  /** Checks session options without connecting; throws InvalidArgumentError. */
  static validateOptions(options: SessionOptions): Required<Omit<SessionOptions, 'auth' | 'logger'>> & { auth: DigestAuth[] } {
    if (!options || typeof options !== 'object') throw new InvalidArgumentError("Session needs options such as { connect: '127.0.0.1:2181' }");
    const backend = validateBackend(options.backend ?? 'node-zookeeper-client');
    const auth = options.auth === undefined ? [] : Array.isArray(options.auth) ? options.auth : [options.auth];
    for (const entry of auth) {
      if (entry?.scheme !== 'digest' || typeof entry.credential !== 'string' || !entry.credential.includes(':')) {
        throw new InvalidArgumentError(`auth must be { scheme: 'digest', credential: 'user:password' }: got ${JSON.stringify(entry)}`);
      }
    }
    return {
      connect: validateConnect(options.connect),
      sessionTimeoutMs: validatePositive(options.sessionTimeoutMs, 'sessionTimeoutMs', defaultSessionTimeoutMs),
      connectTimeoutMs: validatePositive(options.connectTimeoutMs, 'connectTimeoutMs', 15_000),
      backend,
      auth,
    };
  }

  constructor(options: SessionOptions) {
    super();
    const valid = Session.validateOptions(options);
    this.connectString = valid.connect;
    this.requestedSessionTimeoutMs = valid.sessionTimeoutMs;
    this.negotiatedTimeoutMs = this.requestedSessionTimeoutMs;
    this.connectTimeoutMs = valid.connectTimeoutMs;
    this.backend = valid.backend;
    this.auth = valid.auth;
    this.logger = options.logger ?? silentLogger;
    this.firstConnect = new Promise((resolve, reject) => {
      this.settleFirstConnect = (error) => (error ? reject(error) : resolve());
    });
    // Callers that never await ready() must not see an unhandled rejection.
    this.firstConnect.catch(() => {});
    this.openClient();
  }

  get state(): SessionState {
    return this.currentState;
  }
  /** Increases by one with every new ZooKeeper session. */
  get generation(): number {
    return this.currentGeneration;
  }
  /** The current session id (16 hex digits), '' before the first connect. */
  get sessionId(): string {
    return this.currentSessionId;
  }
  get sessionTimeoutMs(): number {
    return this.negotiatedTimeoutMs;
  }

  /**
   * The current session's id and password, or null when not connected. Anyone holding them
   * can take the session over; tests use that to force an expiry.
   */
  credentials(): SessionCredentials | null {
    return this.currentState === 'connected' || this.currentState === 'suspended' ? (this.client?.sessionCredentials() ?? null) : null;
  }

  /** Resolves once the first session is established; rejects with ConnectTimeoutError. */
  ready(): Promise<void> {
    return this.firstConnect;
  }

  /** Resolves when the session is connected (now or later); rejects if it closes first. */
  async whenConnected(signal?: AbortSignal): Promise<void> {
    if (this.currentState === 'connected') return;
    if (this.currentState === 'closed') throw new SessionClosedError('waiting for a connection');
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        this.off('connected', done);
        this.off('reconnected', done);
        this.off('closed', closed);
        signal?.removeEventListener('abort', aborted);
        resolve();
      };
      const closed = () => {
        done();
        reject(new SessionClosedError('waiting for a connection'));
      };
      const aborted = () => {
        done();
        reject(signal?.reason);
      };
      this.on('connected', done);
      this.on('reconnected', done);
      this.on('closed', closed);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  private setState(next: SessionState): void {
    this.logger.debug({ from: this.currentState, to: next, sessionId: this.currentSessionId }, 'zk-leader session state');
    this.currentState = next;
  }

  private openClient(): void {
    const client = createClient(this.backend, {
      connectString: this.connectString,
      sessionTimeoutMs: this.requestedSessionTimeoutMs,
    });
    this.client = client;
    client.on('state', (state) => {
      if (client === this.client) this.onClientState(client, state);
    });
    client.connect();
    for (const auth of this.auth) client.addAuthInfo(auth);
    this.clearTimer('connectTimer');
    this.connectTimer = setTimeout(() => this.onConnectTimeout(client), this.connectTimeoutMs);
  }

  private onConnectTimeout(client: ZkClient): void {
    if (client !== this.client || this.currentState !== 'connecting') return;
    const error = new ConnectTimeoutError(this.connectString, this.connectTimeoutMs);
    if (this.currentGeneration === 0) {
      this.settleFirstConnect(error);
      void this.close();
    } else {
      // After an expiry the old servers may be down for a while: keep trying, say so.
      this.logger.warn({ err: error }, 'zk-leader: no new session yet, still trying');
      this.emit('error', error);
      this.retireClient();
      this.scheduleNewClient();
    }
  }

  private onClientState(client: ZkClient, state: ClientState): void {
    switch (state) {
      case 'connected':
        return this.onConnected(client);
      case 'disconnected':
        return this.suspend('disconnected');
      case 'expired':
        return this.expire('server');
      case 'auth-failed': {
        const error = new ZkLeaderError('AUTH_FAILED', 'ZooKeeper refused the session credentials: check the auth option');
        this.settleFirstConnect(error);
        this.emit('error', error);
        void this.close();
        return;
      }
    }
  }

  private onConnected(client: ZkClient): void {
    this.clearTimer('connectTimer');
    this.lastReplyAt = Date.now();
    const { id } = client.sessionCredentials();
    this.negotiatedTimeoutMs = client.negotiatedSessionTimeoutMs() || this.requestedSessionTimeoutMs;
    const previous = this.currentState;
    this.setState('connected');
    this.startLivenessClock();
    if (id === this.currentSessionId) {
      // The same session again: after a suspension that is a reconnect; a repeated
      // 'connected' from the client is nothing new.
      if (previous === 'suspended') this.emit('reconnected', { sessionId: id });
      return;
    }
    this.failedAttempts = 0;
    this.currentSessionId = id;
    this.currentGeneration += 1;
    this.settleFirstConnect();
    this.emit('connected', { sessionId: id, generation: this.currentGeneration, sessionTimeoutMs: this.negotiatedTimeoutMs });
  }

  private suspend(reason: SuspendReason): void {
    if (this.currentState !== 'connected') return;
    this.setState('suspended');
    this.stopHeartbeat();
    if (reason === 'silent') this.client?.dropConnection();
    this.emit('suspended', { reason });
  }

  private expire(reason: ExpiryReason): void {
    if (this.currentState === 'closed' || this.currentState === 'connecting') return;
    const sessionId = this.currentSessionId;
    this.setState('connecting');
    this.stopLivenessClock();
    this.retireClient();
    this.emit('expired', { sessionId, reason });
    this.scheduleNewClient();
  }

  private retireClient(): void {
    const old = this.client;
    this.client = null;
    void old?.close().catch((error: unknown) => this.logger.debug({ err: error }, 'zk-leader: closing a dead client failed'));
  }

  private scheduleNewClient(): void {
    const delayMs = this.failedAttempts === 0 ? 0 : Math.min(maxBackoffMs, 100 * 2 ** this.failedAttempts);
    this.failedAttempts += 1;
    this.clearTimer('backoffTimer');
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = null;
      if (this.currentState !== 'closed') this.openClient();
    }, delayMs);
  }

  // ZooKeeper expires a session it has not heard from for a whole timeout, and
  // node-zookeeper-client never notices a silent connection: we watch the reply clock
  // ourselves, suspend after 2/3 of the timeout, and call the session lost after all of it.
  private startLivenessClock(): void {
    this.stopLivenessClock();
    const timeoutMs = this.negotiatedTimeoutMs;
    this.heartbeatTimer = setInterval(() => this.heartbeat(), Math.max(10, timeoutMs * livenessFractions.heartbeat));
    this.livenessTimer = setInterval(() => this.checkLiveness(), Math.max(10, timeoutMs * livenessFractions.check));
  }

  private stopHeartbeat(): void {
    this.clearTimer('heartbeatTimer');
  }

  private stopLivenessClock(): void {
    this.stopHeartbeat();
    this.clearTimer('livenessTimer');
  }

  private heartbeat(): void {
    const client = this.client;
    if (!client || this.currentState !== 'connected') return;
    this.count('heartbeat');
    client.exists('/').then(
      () => this.heard(client),
      (error: unknown) => this.onRequestFailed(client, error),
    );
  }

  /** A request answered SESSION_EXPIRED: the session is gone even if the socket looks fine. */
  private onRequestFailed(client: ZkClient, error: unknown): void {
    if (client !== this.client) return;
    if (isZooKeeperError(error, 'SESSION_EXPIRED')) this.expire('server');
    else if (!isZooKeeperError(error, 'CONNECTION_LOSS', 'OPERATION_TIMEOUT')) this.heard(client);
  }

  private heard(client: ZkClient): void {
    if (client === this.client) this.lastReplyAt = Date.now();
  }

  private checkLiveness(): void {
    const silentMs = Date.now() - this.lastReplyAt;
    if (this.currentState === 'connected' && silentMs > this.negotiatedTimeoutMs * livenessFractions.silence) {
      this.logger.warn({ silentMs, sessionId: this.currentSessionId }, 'zk-leader: connection silent, suspending');
      this.suspend('silent');
    } else if (this.currentState === 'suspended' && silentMs > this.negotiatedTimeoutMs) {
      this.logger.warn({ silentMs, sessionId: this.currentSessionId }, 'zk-leader: unreachable for a whole session timeout, session lost');
      this.expire('local-timeout');
    }
  }

  private clearTimer(name: 'livenessTimer' | 'heartbeatTimer' | 'connectTimer' | 'backoffTimer'): void {
    const timer = this[name];
    if (timer) {
      clearTimeout(timer);
      this[name] = null;
    }
  }

  private count(operation: string): void {
    this.requestCounts[operation] = (this.requestCounts[operation] ?? 0) + 1;
  }

  /** Runs one request on the current client, keeping the reply clock and the counters. */
  private async request<T>(operation: string, run: (client: ZkClient) => Promise<T>): Promise<T> {
    if (this.currentState === 'closed') throw new SessionClosedError(operation);
    // Both clients send the credentials after requests queued while not connected, which
    // the server then answers NO_AUTH: hold requests until the connection is up.
    if (this.currentState !== 'connected') await this.whenConnected();
    const client = this.client;
    if (!client) throw new ZooKeeperError('CONNECTION_LOSS', operation, undefined, 'no ZooKeeper connection right now');
    this.count(operation);
    try {
      const result = await run(client);
      this.heard(client);
      return result;
    } catch (error) {
      this.onRequestFailed(client, error);
      throw error;
    }
  }

  create(path: string, data: Buffer, mode: CreateMode, acl: readonly AclEntry[] = openAcl): Promise<string> {
    return this.request('create', (client) => client.create(path, data, mode, acl));
  }
  remove(path: string, version = -1): Promise<void> {
    return this.request('delete', (client) => client.remove(path, version));
  }
  exists(path: string, watcher?: Watcher): Promise<NodeStat | null> {
    return this.request('exists', (client) => client.exists(path, watcher));
  }
  getData(path: string, watcher?: Watcher): Promise<{ data: Buffer; stat: NodeStat }> {
    return this.request('getData', (client) => client.getData(path, watcher));
  }
  setData(path: string, data: Buffer, version = -1): Promise<NodeStat> {
    return this.request('setData', (client) => client.setData(path, data, version));
  }
  getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    return this.request('getChildren', (client) => client.getChildren(path, watcher));
  }

  /**
   * Creates `path` and its missing parents as persistent nodes; existing ones are fine. `acl`
   * applies to `path` itself; parents, often shared with other applications, are left open.
   */
  async ensurePath(path: string, acl: readonly AclEntry[] = openAcl): Promise<void> {
    for (const node of ancestorsAndSelf(validatePath(path))) {
      if (await this.exists(node)) continue;
      try {
        await this.create(node, Buffer.alloc(0), 'persistent', node === path ? acl : openAcl);
      } catch (error) {
        if (!isZooKeeperError(error, 'NODE_EXISTS')) throw error;
      }
    }
  }

  /** Closes the session: its ephemeral nodes go at once. Resolves when the client is closed. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.settleFirstConnect(new SessionClosedError('connecting'));
    this.stopLivenessClock();
    this.clearTimer('connectTimer');
    this.clearTimer('backoffTimer');
    this.setState('closed');
    const client = this.client;
    this.client = null;
    this.closing = (async () => {
      await client?.close();
      this.emit('closed');
      this.removeAllListeners();
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Options of a component that runs on a caller's shared Session or opens one of its own. */
export type SessionSource = { session: Session } | ({ session?: undefined } & SessionOptions);

/** The caller's shared session, if one was passed; checks it is one and comes without `connect`. */
export function sharedSession(options: { session?: unknown; connect?: unknown }): Session | undefined {
  if (options.session === undefined) return undefined;
  if (!(options.session instanceof Session)) throw new InvalidArgumentError('session must be a zk-leader Session');
  if (options.connect !== undefined) throw new InvalidArgumentError('pass either connect or session, not both');
  return options.session;
}

/** The caller's shared session, or a new one that the component owns and closes when done. */
export function sessionFrom(options: SessionSource): { session: Session; ownsSession: boolean } {
  const shared = sharedSession(options);
  return shared ? { session: shared, ownsSession: false } : { session: new Session(options as SessionOptions), ownsSession: true };
}
