import { setMaxListeners } from 'node:events';
import { defaultBackend, validateBackend } from './client/index.js';
import { parseConnectString } from './connect-string.js';
import type {
  AclEntry,
  BackendName,
  ClientState,
  CreateMode,
  DigestAuth,
  MultiOp,
  MultiResult,
  NodeData,
  NodeStat,
  SaslOption,
  SessionCredentials,
  TlsOption,
  Watcher,
  ZkClient,
} from './client/types.js';
import { isOpenAcl, openAcl } from './client/types.js';
import type { TimerHandle } from './clock.js';
import { SafeEmitter } from './emitter.js';
import {
  ConnectTimeoutError,
  InvalidArgumentError,
  SessionClosedError,
  ZkLeaderError,
  ZooKeeperError,
  abortReasonOf,
  isZooKeeperError,
  type ServerFailure,
} from './errors.js';
import { Backoff, validateRetry, type RetryOptions } from './backoff.js';
import type { SessionHealth } from './health.js';
import type { SessionState } from './session-state.js';
import { publish, requestChannel, sessionChannel, type RequestMessage, type SessionMessage } from './instrument.js';
import { Liveness, livenessFractions } from './liveness.js';
import { rejectUnknownOptions, validateMs } from './options.js';
import { silentLogger, type Logger } from './logger.js';
import { validateJuteMaxBuffer } from './limits.js';
import { ancestorsAndSelf, parentOf, validatePath } from './paths.js';
import { tlsOptionProblem } from './client/builtin/tls.js';
import { runtimeWith, type Runtime } from './runtime.js';
import { SessionWatches, WatchGroup, type WatchedReader } from './watch-group.js';

export type { SessionState } from './session-state.js';

/** Why a session was suspended: the connection dropped, or it went silent past the threshold. */
export type SuspendReason = 'disconnected' | 'silent';
/** Why a session was lost: the server expired it, or the local clock decided it must have. */
export type ExpiryReason = 'server' | 'local-timeout';

/** The events of a Session and their payloads. */
export interface SessionEvents {
  /** A new ZooKeeper session is established (the first, or one after expiry). */
  connected: [
    info: {
      /** The session id, 16 hex digits. */
      sessionId: string;
      /** Which of this Session's ZooKeeper sessions it is: 1, 2, ... */
      generation: number;
      /** The timeout the server granted. */
      sessionTimeoutMs: number;
    },
  ];
  /** The connection dropped or went silent; leadership may be at risk. */
  suspended: [
    info: {
      /** `disconnected` or `silent`. */
      reason: SuspendReason;
    },
  ];
  /** The same session is back after a suspension; its ephemeral nodes and watches survive. */
  reconnected: [
    info: {
      /** The session id, unchanged. */
      sessionId: string;
    },
  ];
  /** The session is gone (the server said so, or it stayed unreachable for a whole timeout). */
  expired: [
    info: {
      /** The id of the session that ended. */
      sessionId: string;
      /** `server` or `local-timeout`. */
      reason: ExpiryReason;
    },
  ];
  /** `close()` finished: the session and its ephemeral nodes are gone for good. */
  closed: [];
  /** A problem the session carries on through (a new session cannot be had yet, a listener threw). */
  error: [error: ZkLeaderError];
}

/** The names of SessionEvents, every one (the object literal fails to compile without one). */
const sessionEventNames = Object.keys({ connected: 0, suspended: 0, reconnected: 0, expired: 0, closed: 0, error: 0 } satisfies Record<
  keyof SessionEvents,
  0
>) as (keyof SessionEvents)[];

/** Handlers for `Session.subscribe`: any subset of the session's events. */
export type SessionHandlers = { [E in keyof SessionEvents]?: (...args: SessionEvents[E]) => void };

/** Options of `new Session()`: `connect`; the rest is optional. */
export interface SessionOptions {
  /** ZooKeeper connect string, "host:port[,host:port...][/chroot]"; a port left out is 2181. */
  connect: string;
  /** Requested session timeout; the server may narrow it. Default 10 000 ms. */
  sessionTimeoutMs?: number;
  /** How long the first connect may take before `ready()` fails (and says why). Default 15 000 ms. */
  connectTimeoutMs?: number;
  /** Client library. Default 'builtin', zk-leader's own client. */
  backend?: BackendName;
  /** Digest credentials sent on every connection, e.g. `{ scheme: 'digest', credential: 'user:secret' }`. */
  auth?: DigestAuth | DigestAuth[];
  /**
   * TLS to the servers' `secureClientPort` (connect to that port): `true` for Node's default
   * CAs, or `node:tls` options such as `{ ca, cert, key, passphrase, servername }` (PEM text).
   * The server's certificate and host name are verified (Node's `checkServerIdentity`); with
   * `cert` and `key` the client is authenticated too (mTLS), and ZooKeeper names the
   * connection `x509:<subject>` for ACLs. A wrong CA, a missing client certificate, or TLS
   * and plaintext ports mixed up fail `ready()` at once with `TLS_FAILED`. Builtin backend only.
   * @example { ca: readFileSync('ca.pem', 'utf8'), cert: readFileSync('client.pem', 'utf8'), key: readFileSync('client.key', 'utf8') }
   */
  tls?: TlsOption;
  /**
   * A SASL DIGEST-MD5 login on every connection, before any request (ZooKeeper's JAAS
   * `DigestLoginModule`); ACL id `sasl:<username>`. A refused login fails `ready()` with
   * `AUTH_FAILED`. Kerberos (GSSAPI) is not supported. Builtin backend only.
   */
  sasl?: SaslOption;
  /**
   * The servers' `jute.maxbuffer`, if it was raised: the largest request they accept. Data
   * that would make a larger request is refused before it is sent (a server closes the
   * connection on such a request). Default 1,048,575 (0xfffff), ZooKeeper's default.
   */
  juteMaxBufferBytes?: number;
  /**
   * Backoff between attempts at a new session after an expiry or a failed connect:
   * exponential with full jitter. Default `{ initialMs: 200, maxMs: 5000 }`.
   */
  retry?: RetryOptions;
  /** Where the session logs (pino-compatible: debug/info/warn/error). Default: silent. */
  logger?: Logger;
  /**
   * Time, randomness and the client library, for tests and simulations. Default: Node's
   * monotonic clock and timers, crypto GUIDs, the chosen backend.
   * @internal
   */
  runtime?: Partial<Runtime>;
}

/** Every option name of `SessionOptions` (the compiler keeps it complete), for the unknown-name check. */
export const sessionOptionNames: Record<keyof SessionOptions, true> = {
  connect: true,
  sessionTimeoutMs: true,
  connectTimeoutMs: true,
  backend: true,
  auth: true,
  juteMaxBufferBytes: true,
  tls: true,
  sasl: true,
  retry: true,
  logger: true,
  runtime: true,
};

const defaultSessionTimeoutMs = 10_000;
/** How long a failed connect may spend finding out why, server by server. */
const diagnoseBudgetMs = 1000;

/** The unwatched read of one path in flight, and the one that follows it for later callers. */
interface SharedRead<T> {
  current: Promise<T> | null;
  next: Promise<T> | null;
}

/**
 * One ZooKeeper session (one generation of a `Session`), as the recipes use it. Everything
 * that belongs to that session goes through its scope, and the scope is inert once the
 * session has ended: a request waiting for a connection, or one whose reply lands after the
 * expiry, fails with SESSION_EXPIRED instead of running in (or reporting from) the next
 * session, and its watches call nobody. Its watches are `SessionWatches`: one client watch
 * per node and read however many recipes wait on it, each recipe's in a `WatchGroup` it
 * closes when done, which removes them.
 */
export class SessionScope {
  private ended = false;
  private readonly endController = abortControllerForMany();
  private readonly watches = new SessionWatches((error, path) => this.owner.watchRemovalFailed(error, path));
  /** Unwatched listings and data reads shared by their callers, by `<operation>:<path>`. */
  private readonly sharedReads = new Map<string, SharedRead<unknown>>();
  /** Requests sent and not yet answered: end() fails them at once. Made by the first request. */
  private inFlight: Set<(cause?: ZkLeaderError) => void> | null = null;

  /** @internal Made by the Session for each new ZooKeeper session. */
  constructor(
    private readonly owner: Session,
    /** Which of the Session's ZooKeeper sessions this is (1, 2, ...). */
    readonly generation: number,
    /** The ZooKeeper session id, 16 hex digits. */
    readonly sessionId: string,
  ) {}

  /** False once this ZooKeeper session has expired or the Session was closed. */
  get alive(): boolean {
    return !this.ended;
  }

  /** @internal Time, randomness and the client library of the Session this scope belongs to. */
  get runtime(): Runtime {
    return this.owner.runtime;
  }

  /** Aborts when this ZooKeeper session ends. */
  get signal(): AbortSignal {
    return this.endController.signal;
  }

  /** Watch callbacks held for recipes right now (leak checks). */
  get pendingWatchers(): number {
    return this.watches.listenerCount;
  }

  /**
   * A group for the watches one owner sets in this session: every watched read of the owner
   * goes through it, and closing it when the owner is done removes them all.
   * @internal
   */
  watchGroup(): WatchGroup {
    return new WatchGroup(this.watches, this.watchedRead);
  }

  /** `path` as the server sees it: below the connect string's chroot. */
  chrootedPath(path: string): string {
    return this.owner.chroot === '' ? path : path === '/' ? this.owner.chroot : `${this.owner.chroot}${path}`;
  }

  /**
   * @internal The session has ended: nothing of it may act any more. `cause`, when the end has
   * one that says more than "the session ended" (a refused login), is what requests in flight hear.
   */
  end(cause?: ZkLeaderError): void {
    if (this.ended) return;
    this.ended = true;
    // A reply still to come can only speak of the ended session, and the old client may hold
    // it for a while as it closes (a close waits for the server's word): its caller hears now.
    const inFlight = this.inFlight;
    this.inFlight = null;
    if (inFlight) for (const fail of inFlight) fail(cause);
    this.watches.end();
    this.endController.abort(new ZooKeeperError('SESSION_EXPIRED', 'session', undefined, 'the ZooKeeper session ended'));
  }

  private request<T>(operation: string, path: string, run: (client: ZkClient) => Promise<T>): Promise<T> {
    return this.owner.requestIn(this, operation, path, run);
  }

  /**
   * @internal `reply`, unless this session ends first: then at once the end's cause (a refused
   * login), or SESSION_EXPIRED.
   */
  untilEnded<T>(reply: Promise<T>, operation: string, path: string): Promise<T> {
    if (this.ended) {
      reply.catch(() => {});
      return Promise.reject(scopeEnded(operation, path));
    }
    return new Promise<T>((resolve, reject) => {
      const inFlight = (this.inFlight ??= new Set());
      const fail = (cause?: ZkLeaderError) => reject(cause ?? scopeEnded(operation, path));
      inFlight.add(fail);
      reply.then(
        (value) => {
          this.inFlight?.delete(fail);
          resolve(value);
        },
        (error: Error) => {
          this.inFlight?.delete(fail);
          reject(error);
        },
      );
    });
  }

  /** A read with `listener` (none: no watch), owned by `group` (none: a caller of the Session's own reads). */
  private readonly watchedRead: WatchedReader = (read, path, listener, group, run) => {
    const operation = read === 'children' ? 'getChildren' : read === 'data' ? 'getData' : 'exists';
    if (!listener) return this.request(operation, path, (client) => run(client, undefined));
    return this.watches.read(read, path, listener, group, (call) => this.request(operation, path, call), run);
  };

  /** Creates a node; resolves with its path (with the sequence number for a sequential mode). */
  create(path: string, data: Buffer, mode: CreateMode, acl: readonly AclEntry[] = openAcl): Promise<string> {
    return this.request('create', path, (client) => client.create(path, data, mode, acl));
  }
  /** Deletes a node (at `version`, or any version with -1). */
  remove(path: string, version = -1): Promise<void> {
    return this.request('delete', path, (client) => client.remove(path, version));
  }
  /** `exists`; with a watcher it also hears of the node's creation (a watch is set even when it is missing). */
  exists(path: string, watcher?: Watcher): Promise<NodeStat | null> {
    return this.watchedRead('exists', path, watcher, null, (client, w) => client.exists(path, w));
  }
  /**
   * `getData`; with a watcher, hears of a data change or the deletion. NO_NODE sets no watch.
   * Without one, callers share reads as `getChildren`'s do: the followers of one election on
   * one session all read its leader's node when they join or move up.
   */
  getData(path: string, watcher?: Watcher): Promise<NodeData> {
    if (watcher) return this.watchedRead('data', path, watcher, null, (client, w) => client.getData(path, w));
    return this.sharedRead('getData', path, (client) => client.getData(path));
  }
  /** Writes a node's data (at `version`, or any version with -1); resolves with the new stat. */
  setData(path: string, data: Buffer, version = -1): Promise<NodeStat> {
    return this.request('setData', path, (client) => client.setData(path, data, version));
  }
  /**
   * The children's names; with a watcher, hears of a child added or removed, or the deletion.
   * Without one, callers share listings: one asking while a listing of the same path is in
   * flight gets the next one, sent when that returns (so it was sent after the call, and sees
   * whatever the caller did before). Participants of one election on one session joining
   * together then cost a few listings, not one each (a listing of N candidates is O(N)).
   */
  getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    if (watcher) return this.watchedRead('children', path, watcher, null, (client, w) => client.getChildren(path, w));
    return this.sharedRead('getChildren', path, (client) => client.getChildren(path));
  }

  /**
   * An unwatched read shared by its callers: one that asks while the same read is in flight
   * gets the next one, sent when that returns, so what it reads was sent after it asked.
   */
  private sharedRead<T>(operation: 'getChildren' | 'getData', path: string, call: (client: ZkClient) => Promise<T>): Promise<T> {
    const key = `${operation}:${path}`;
    const shared = (this.sharedReads.get(key) as SharedRead<T> | undefined) ?? { current: null, next: null };
    this.sharedReads.set(key, shared);
    const start = (): Promise<T> => {
      const current = this.request(operation, path, call);
      shared.current = current;
      shared.next = null;
      const done = () => {
        if (shared.current !== current) return;
        shared.current = null;
        if (!shared.next && this.sharedReads.get(key) === shared) this.sharedReads.delete(key);
      };
      current.then(done, done);
      return current;
    };
    if (!shared.current) return start();
    shared.next ??= shared.current.then(start, start);
    return shared.next;
  }
  /**
   * Applies `ops` together or not at all (ZooKeeper's multi).
   * @throws UNSUPPORTED on a backend without multi (the native one); ZooKeeperError with
   * `failedOp`, the index of the operation that failed, when the server refused it.
   * @internal `election.transaction()` is the public way in.
   */
  multi(ops: readonly MultiOp[]): Promise<MultiResult[]> {
    if (!this.owner.hasMulti) {
      return Promise.reject(
        new ZkLeaderError(
          'UNSUPPORTED',
          `backend '${this.owner.backend}' has no multi (atomic transactions): use backend 'node-zookeeper-client' or 'builtin'`,
        ),
      );
    }
    return this.request('multi', ops[0]?.path ?? '/', (client) => client.multi!(ops));
  }
  /** Makes the server this client talks to catch up with the leader before the next read. */
  sync(path: string): Promise<void> {
    return this.request('sync', path, (client) => client.sync(path));
  }

  /**
   * Makes sure a node we created carries `acl`: where the backend cannot create with an ACL
   * atomically, a create interrupted between its two steps left it open.
   */
  async applyAcl(path: string, acl: readonly AclEntry[]): Promise<void> {
    if (this.owner.createsWithAcl || isOpenAcl(acl)) return;
    await this.request('setAcl', path, (client) => client.setAcl(path, acl));
  }

  /**
   * Creates `path` and its missing parents as persistent nodes; existing ones are fine. `acl`
   * applies to `path` itself; parents, often shared with other applications, are left open.
   */
  async ensurePath(path: string, acl: readonly AclEntry[] = openAcl): Promise<void> {
    for (const node of ancestorsAndSelf(validatePath(path))) {
      const own = node === path;
      if (await this.exists(node)) continue;
      try {
        await this.create(node, Buffer.alloc(0), 'persistent', own ? acl : openAcl);
      } catch (error) {
        if (isZooKeeperError(error, 'NODE_EXISTS')) continue;
        // Only a chroot can be missing above a top-level node: a configuration error that no
        // retry heals (zk-leader does not create the chroot: its ACL is the operator's call).
        if (isZooKeeperError(error, 'NO_NODE') && parentOf(node) === '/' && this.owner.chroot !== '') {
          throw new ZkLeaderError(
            'CHROOT_NOT_FOUND',
            `the connect string's chroot ${this.owner.chroot} does not exist on the server: create it (for example with zkCli.sh: create ${this.owner.chroot}), or drop it from the connect string`,
          );
        }
        if (!own || !isZooKeeperError(error, 'CONNECTION_LOSS', 'OPERATION_TIMEOUT')) throw error;
        // Our create may have been applied, possibly without its ACL yet: finish it.
        await this.sync(node);
        if (!(await this.exists(node))) throw error;
        await this.applyAcl(node, acl);
      }
    }
  }
}

/**
 * One ZooKeeper connection's life, across reconnects and expiries: it owns the client, runs
 * its own liveness clock (a silent connection is suspended and dropped before the server can
 * expire the session), and replaces an expired session with a new one, with backoff. Many
 * elections may share one Session; each ZooKeeper session it holds is a `SessionScope`, and
 * what belongs to one scope is inert once it ends.
 */
export class Session extends SafeEmitter<SessionEvents> {
  /** The client library in use. */
  readonly backend: BackendName;
  /** The connect string, as validated: every server with its port, no blanks. */
  readonly connectString: string;
  /** The session timeout asked for; `sessionTimeoutMs` is what the server granted. */
  readonly requestedSessionTimeoutMs: number;
  /** How long the first connect may take before `ready()` fails. */
  readonly connectTimeoutMs: number;
  /** The servers' jute.maxbuffer as configured: the largest request they accept. */
  readonly juteMaxBufferBytes: number;
  /** The connect string's chroot (`/apps/a` of `host:2181/apps/a`), '' when it has none. */
  readonly chroot: string;
  private readonly auth: DigestAuth[];
  private readonly tls: TlsOption | undefined;
  private readonly sasl: SaslOption | undefined;
  /** Whether TLS_FAILED was reported since the last connect: a fleet of retries says it once. */
  private tlsFailureReported = false;
  /** @internal Time, randomness and the client library this session and its recipes use. */
  readonly runtime: Runtime;
  private readonly liveness: Liveness;
  /** See `lastAnswerSentAt`. */
  private answeredAt = 0;

  private currentState: SessionState = 'connecting';
  /** Why the session is suspended: only a silence can end without a reconnect. */
  private suspendedBy: SuspendReason | null = null;
  private client: ZkClient | null = null;
  private currentScope: SessionScope | null = null;
  private negotiatedTimeoutMs: number;
  private connectTimer: TimerHandle | null = null;
  private backoffTimer: TimerHandle | null = null;
  private readonly backoff: Backoff;
  private readonly firstConnect: Promise<void>;
  private settleFirstConnect!: (error?: Error) => void;
  private closing: Promise<void> | null = null;
  /** The client given up on when the first connect timed out, closing. */
  private failedClient: Promise<void> | null = null;
  private suspensions = 0;
  private expiries = 0;

  /** Fixed node names (the single-node recipe's) that a participant on this Session races for. */
  private readonly fixedNodeClaims = new Set<string>();

  /** Requests sent on behalf of recipes, by operation (heartbeats are counted as 'heartbeat'). */
  readonly requestCounts: Record<string, number> = {};

  /**
   * @internal Checks session options without connecting.
   * @throws INVALID_ARGUMENT naming the bad option.
   */
  static validateOptions(options: SessionOptions): Required<Omit<SessionOptions, 'auth' | 'logger' | 'runtime' | 'retry' | 'tls' | 'sasl'>> & {
    auth: DigestAuth[];
    retry: Required<RetryOptions>;
    chroot: string;
    tls: TlsOption | undefined;
    sasl: SaslOption | undefined;
  } {
    if (!options || typeof options !== 'object') throw new InvalidArgumentError("Session needs options such as { connect: '127.0.0.1:2181' }");
    rejectUnknownOptions(options, sessionOptionNames, 'Session');
    const backend = validateBackend(options.backend ?? defaultBackend);
    for (const option of ['tls', 'sasl'] as const) {
      if (options[option] !== undefined && backend !== 'builtin') {
        throw new InvalidArgumentError(
          `${option} needs zk-leader's own client: use backend: 'builtin' (the '${backend}' backend has no ${option.toUpperCase()})`,
        );
      }
    }
    const tlsProblem = options.tls === undefined ? null : tlsOptionProblem(options.tls);
    if (tlsProblem) throw new InvalidArgumentError(tlsProblem);
    const sasl = options.sasl;
    if (sasl !== undefined) {
      if (typeof sasl?.username !== 'string' || sasl.username === '' || typeof sasl.password !== 'string') {
        throw new InvalidArgumentError("sasl must be { username: 'alice', password: '...' } (strings, a non-empty username)");
      }
      if (sasl.mechanism !== undefined && sasl.mechanism !== 'DIGEST-MD5') {
        throw new InvalidArgumentError(`sasl.mechanism must be 'DIGEST-MD5': got ${JSON.stringify(sasl.mechanism)} (Kerberos/GSSAPI is not supported)`);
      }
    }
    const auth = options.auth === undefined ? [] : Array.isArray(options.auth) ? options.auth : [options.auth];
    for (const entry of auth) {
      if (entry?.scheme !== 'digest' || typeof entry.credential !== 'string' || !entry.credential.includes(':')) {
        throw new InvalidArgumentError(`auth must be { scheme: 'digest', credential: 'user:password' }: got ${JSON.stringify(entry)}`);
      }
    }
    const parsed = parseConnectString(options.connect);
    return {
      connect: parsed.normalized,
      chroot: parsed.chroot ?? '',
      juteMaxBufferBytes: validateJuteMaxBuffer(options.juteMaxBufferBytes),
      sessionTimeoutMs: validateMs(options.sessionTimeoutMs, 'sessionTimeoutMs', defaultSessionTimeoutMs, 'positive'),
      connectTimeoutMs: validateMs(options.connectTimeoutMs, 'connectTimeoutMs', 15_000, 'positive'),
      backend,
      auth,
      retry: validateRetry(options.retry),
      tls: options.tls,
      sasl,
    };
  }

  /**
   * Starts connecting at once; `ready()` tells when the first session is established.
   * @throws INVALID_ARGUMENT naming the bad option (connect string, timeouts, auth, retry, backend).
   * @example
   * const session = new Session({ connect: '10.0.0.1:2181,10.0.0.2:2181', sessionTimeoutMs: 10_000 });
   * await session.ready();
   * const scheduler = new LeaderElection({ session, path: '/services/scheduler' });
   */
  constructor(options: SessionOptions) {
    const valid = Session.validateOptions(options);
    super(options.logger ?? silentLogger);
    this.connectString = valid.connect;
    this.requestedSessionTimeoutMs = valid.sessionTimeoutMs;
    this.negotiatedTimeoutMs = this.requestedSessionTimeoutMs;
    this.connectTimeoutMs = valid.connectTimeoutMs;
    this.juteMaxBufferBytes = valid.juteMaxBufferBytes;
    this.chroot = valid.chroot;
    this.backend = valid.backend;
    this.auth = valid.auth;
    this.tls = valid.tls;
    this.sasl = valid.sasl;
    this.runtime = runtimeWith(options.runtime);
    this.backoff = new Backoff(valid.retry, this.runtime.random);
    this.liveness = new Liveness(this.runtime.clock, {
      heartbeat: () => this.heartbeat(),
      suspend: (silentMs) => {
        this.logger.warn({ silentMs, sessionId: this.sessionId }, 'zk-leader: connection silent, suspending');
        this.suspend('silent');
      },
      expire: (silentMs) => {
        this.logger.warn({ silentMs, sessionId: this.sessionId }, 'zk-leader: unreachable for (almost) a whole session timeout, session lost');
        this.expire('local-timeout');
      },
    });
    this.firstConnect = new Promise((resolve, reject) => {
      this.settleFirstConnect = (error) => (error ? reject(error) : resolve());
    });
    // Callers that never await ready() must not see an unhandled rejection.
    this.firstConnect.catch(() => {});
    this.openClient();
  }

  /** `connecting`, `connected`, `suspended` or `closed`. */
  get state(): SessionState {
    return this.currentState;
  }
  /** Increases by one with every new ZooKeeper session. */
  get generation(): number {
    return this.currentScope?.generation ?? 0;
  }
  /** The current session id (16 hex digits), '' before the first connect. */
  get sessionId(): string {
    return this.currentScope?.sessionId ?? '';
  }
  /** The session timeout the server granted (the requested one until the first connect). */
  get sessionTimeoutMs(): number {
    return this.negotiatedTimeoutMs;
  }
  /**
   * The current ZooKeeper session, for work that must not outlive it; null before the first
   * connect. After an expiry it is the ended one (`alive` false) until the next connects.
   */
  get scope(): SessionScope | null {
    return this.currentScope;
  }
  /** @internal Whether the backend has `multi` (the native one has not). */
  get hasMulti(): boolean {
    return this.client ? this.client.multi !== undefined : this.backend !== 'zookeeper';
  }

  /** @internal Whether the backend applies a create's ACL atomically. */
  get createsWithAcl(): boolean {
    return this.client?.createsWithAcl ?? true;
  }

  /**
   * @internal When the latest request the server answered was sent (the runtime's clock). A
   * handshake does not count: it renews the session but tells nothing of what the server holds.
   */
  get lastAnswerSentAt(): number {
    return this.answeredAt;
  }

  /** @internal Sends one heartbeat now, whose answer moves `lastAnswerSentAt` (a leader's lease asks after a reconnect). */
  requestHeartbeat(): void {
    this.heartbeat();
  }

  /**
   * @internal Acts on liveness deadlines that have passed (suspends or expires now), before
   * a recipe acts on the session: after a process pause, overdue timers run in due order.
   */
  checkLiveness(): void {
    this.liveness.checkNow();
  }

  /**
   * @internal Claims a fixed node name for one participant of this Session: ZooKeeper tells a
   * node's holder by its session, so two participants racing for one name on one session
   * cannot tell which of them won. Returns the function that gives the claim back, or null
   * when another participant holds it.
   */
  claimFixedNode(path: string): (() => void) | null {
    if (this.fixedNodeClaims.has(path)) return null;
    this.fixedNodeClaims.add(path);
    let held = true;
    return () => {
      if (held) this.fixedNodeClaims.delete(path);
      held = false;
    };
  }

  /**
   * For a readiness probe: `ok` while connected; the session id, how long since the server
   * last answered, and how many suspensions and expiries this Session has been through.
   *
   * @example
   * app.get('/healthz', (_req, res) => res.status(session.health().ok ? 200 : 503).json(session.health()));
   */
  health(): SessionHealth {
    const state = this.currentState;
    const live = state === 'connected' || state === 'suspended';
    return {
      ok: state === 'connected',
      reason: state === 'connected' ? null : `session ${state}`,
      state,
      sessionState: state,
      sessionId: live ? this.sessionId : null,
      lastHeardMs: live ? Math.round(this.liveness.silentMs) : null,
      sessionTimeoutMs: this.negotiatedTimeoutMs,
      suspensions: this.suspensions,
      expiries: this.expiries,
    };
  }

  /**
   * The current session's id and password, or null when not connected. Anyone holding them
   * can take the session over; tests use that to force an expiry.
   */
  credentials(): SessionCredentials | null {
    return this.currentState === 'connected' || this.currentState === 'suspended' ? (this.client?.sessionCredentials() ?? null) : null;
  }

  /**
   * Resolves once the first session is established.
   * @throws CONNECT_TIMEOUT when no server answers within `connectTimeoutMs` (up to 1 s
   * later, once it knows for each server whether its name does not resolve, it refused, or it
   * timed out); TLS_FAILED at once when TLS fails with every server (wrong CA, no client
   * certificate, TLS and plaintext ports mixed up); AUTH_FAILED when the SASL login is
   * refused; SESSION_CLOSED when closed first. A refused digest credential (`auth`,
   * AUTH_FAILED) comes as an `error` event after this resolved: the server answers the
   * connect before it reads the credentials.
   */
  ready(): Promise<void> {
    return this.firstConnect;
  }

  /**
   * Listens to several events at once; returns the function that stops all of them. A
   * handler that throws is reported as an `error` and keeps no other handler from running.
   */
  subscribe(handlers: SessionHandlers): () => void {
    // Each handler is called as a method of `handlers`, so an object whose handlers are the
    // methods of its class listens with no closure per event (each election on the session does).
    for (const event of sessionEventNames) {
      const handler = handlers[event];
      if (handler) this.onWithContext(event, handler as never, handlers);
    }
    return () => {
      for (const event of sessionEventNames) {
        const handler = handlers[event];
        if (handler) this.offWithContext(event, handler as never, handlers);
      }
    };
  }

  /**
   * Resolves when the session is connected (now or later).
   * @throws SESSION_CLOSED when the session closes first; the signal's reason when it aborts.
   */
  async whenConnected(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.currentState === 'connected') return;
    if (this.currentState === 'closed') throw new SessionClosedError('waiting for a connection');
    await new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        unsubscribe();
        signal?.removeEventListener('abort', aborted);
        if (error === undefined) resolve();
        else reject(error);
      };
      const aborted = () => settle(abortReasonOf(signal!));
      const unsubscribe = this.subscribe({
        connected: () => settle(),
        reconnected: () => settle(),
        closed: () => settle(new SessionClosedError('waiting for a connection')),
      });
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  private setState(next: SessionState): void {
    this.logger.debug({ from: this.currentState, to: next, sessionId: this.sessionId }, 'zk-leader session state');
    this.currentState = next;
    publish(sessionChannel, (): SessionMessage => ({ session: this, state: next }));
  }

  private setTimer(callback: () => void, delayMs: number): TimerHandle {
    return this.runtime.clock.setTimeout(callback, delayMs);
  }

  private clearTimer(name: 'connectTimer' | 'backoffTimer'): void {
    const timer = this[name];
    if (timer) this.runtime.clock.clearTimeout(timer);
    this[name] = null;
  }

  private openClient(): void {
    const client = this.runtime.createClient(this.backend, {
      connectString: this.connectString,
      sessionTimeoutMs: this.requestedSessionTimeoutMs,
      now: () => this.runtime.clock.now(),
      ...(this.tls !== undefined ? { tls: this.tls } : {}),
      ...(this.sasl !== undefined ? { sasl: this.sasl } : {}),
    });
    this.client = client;
    client.on('state', (state, error) => {
      if (client === this.client) this.onClientState(client, state, error);
    });
    client.on('error', (error) => {
      if (client !== this.client) return;
      this.logger.warn({ err: error }, 'zk-leader: the client keeps trying');
      this.reportTlsFailure(error);
    });
    client.connect();
    for (const auth of this.auth) client.addAuthInfo(auth);
    this.clearTimer('connectTimer');
    this.connectTimer = this.setTimer(() => this.onConnectTimeout(client), this.connectTimeoutMs);
  }

  private onConnectTimeout(client: ZkClient): void {
    if (client !== this.client || this.currentState !== 'connecting') return;
    const first = this.generation === 0;
    // Give up on this client first: a connect that completes while we find out why is too late.
    const retired = this.retireClient();
    // close() still resolves only once the client of a failed first connect is closed.
    if (first) this.failedClient = retired;
    // After an expiry the old servers may be down for a while: keep trying.
    if (!first) this.scheduleNewClient();
    const failed = (failures: ServerFailure[] = []) => this.connectFailed(first, new ConnectTimeoutError(this.connectString, this.connectTimeoutMs, failures));
    if (!client.diagnoseConnect) return failed();
    void client.diagnoseConnect(Math.min(diagnoseBudgetMs, this.connectTimeoutMs)).then(failed, (error: unknown) => {
      this.logger.debug({ err: error }, 'zk-leader: could not tell why the connect failed');
      failed();
    });
  }

  private connectFailed(first: boolean, error: ConnectTimeoutError): void {
    if (first) {
      // Unless close() came first, which settled the first connect already.
      if (this.currentState === 'closed') return;
      this.settleFirstConnect(error);
      void this.close();
    } else if (this.currentState === 'connecting') {
      this.logger.warn({ err: error }, 'zk-leader: no new session yet, still trying');
      this.emit('error', error);
    }
  }

  private onClientState(client: ZkClient, state: ClientState, reported?: ZkLeaderError): void {
    switch (state) {
      case 'connected':
        return this.onConnected(client);
      case 'disconnected':
        return this.suspend('disconnected');
      case 'expired':
        return this.expire('server');
      case 'auth-failed': {
        const error = reported ?? new ZkLeaderError('AUTH_FAILED', 'ZooKeeper refused the session credentials: check the auth option');
        this.settleFirstConnect(error);
        // Requests in flight hear why, not only that the session ended.
        this.currentScope?.end(error);
        void this.close();
        this.emit('error', error);
        return;
      }
      case 'tls-failed':
        return this.onTlsFailed(reported ?? new ZkLeaderError('TLS_FAILED', `TLS to ${this.connectString} failed: check the tls option`));
    }
  }

  /**
   * The client gave up: TLS failed with every server before it had a session. On the first
   * connect that is a configuration error: `ready()` rejects and the session closes. After
   * an expiry the servers may be changing certificates: try again with backoff, say it once.
   */
  private onTlsFailed(error: ZkLeaderError): void {
    this.clearTimer('connectTimer');
    if (this.generation === 0) {
      this.settleFirstConnect(error);
      void this.close();
      return;
    }
    void this.retireClient();
    this.scheduleNewClient();
    this.reportTlsFailure(error);
  }

  private reportTlsFailure(error: ZkLeaderError): void {
    if (error.code === 'TLS_FAILED') {
      if (this.tlsFailureReported) return;
      this.tlsFailureReported = true;
    }
    this.emit('error', error);
  }

  private onConnected(client: ZkClient): void {
    this.clearTimer('connectTimer');
    this.tlsFailureReported = false;
    const { id } = client.sessionCredentials();
    this.negotiatedTimeoutMs = client.negotiatedSessionTimeoutMs() || this.requestedSessionTimeoutMs;
    const previous = this.currentState;
    this.setState('connected');
    // The server renewed the session when it read the handshake, not when its answer came:
    // a slow answer must not make us trust the session longer than the server does.
    const handshakeAt = client.handshakeSentAt?.();
    this.liveness.connected(this.negotiatedTimeoutMs, handshakeAt);
    // Only a bound well before the handshake is known (the C client does not say when it
    // dialled again): one request now moves the clock to a time the server surely heard us,
    // and brings a session that looked silent on that bound straight back.
    if (handshakeAt !== undefined && this.runtime.clock.now() - handshakeAt > this.negotiatedTimeoutMs * livenessFractions.heartbeat) this.heartbeat();
    if (this.currentScope?.alive && id === this.currentScope.sessionId) {
      // The same session again: after a suspension that is a reconnect; a repeated
      // 'connected' from the client is nothing new.
      if (previous === 'suspended') this.emit('reconnected', { sessionId: id });
      return;
    }
    this.backoff.reset();
    this.currentScope?.end();
    this.currentScope = new SessionScope(this, this.generation + 1, id);
    this.settleFirstConnect();
    this.emit('connected', { sessionId: id, generation: this.generation, sessionTimeoutMs: this.negotiatedTimeoutMs });
  }

  private suspend(reason: SuspendReason): void {
    if (this.currentState === 'suspended' && reason === 'disconnected') this.suspendedBy = reason;
    if (this.currentState !== 'connected') return;
    this.suspendedBy = reason;
    this.suspensions += 1;
    this.setState('suspended');
    this.liveness.suspended();
    if (reason === 'silent') this.client?.dropConnection();
    publish(sessionChannel, (): SessionMessage => ({ session: this, state: 'suspended', event: 'suspended', reason }));
    this.emit('suspended', { reason });
  }

  private expire(reason: ExpiryReason): void {
    if (this.currentState === 'closed' || this.currentState === 'connecting') return;
    const sessionId = this.sessionId;
    this.expiries += 1;
    this.setState('connecting');
    this.liveness.stop();
    this.currentScope?.end();
    void this.retireClient();
    this.scheduleNewClient();
    publish(sessionChannel, (): SessionMessage => ({ session: this, state: 'connecting', event: 'expired', reason }));
    this.emit('expired', { sessionId, reason });
  }

  /** Closes the current client in the background; resolves when it is closed. */
  private retireClient(): Promise<void> {
    const old = this.client;
    this.client = null;
    return old?.close().catch((error: unknown) => this.logger.debug({ err: error }, 'zk-leader: closing a dead client failed')) ?? Promise.resolve();
  }

  private scheduleNewClient(): void {
    const delayMs = this.backoff.next();
    this.clearTimer('backoffTimer');
    this.backoffTimer = this.setTimer(() => {
      this.backoffTimer = null;
      if (this.currentState !== 'closed') this.openClient();
    }, delayMs);
  }

  private heartbeat(): void {
    const client = this.client;
    // Suspended for silence, a client that keeps its connection (the C client, which may also
    // have re-made it without a word) can still carry an answer, and one resumes the session.
    const answerable = this.currentState === 'connected' || (this.currentState === 'suspended' && this.suspendedBy === 'silent');
    if (!client || !answerable) return;
    this.count('heartbeat');
    const sentAt = this.runtime.clock.now();
    client.exists('/').then(
      () => {
        this.finished('heartbeat', sentAt, null);
        this.heard(client, sentAt);
      },
      (error: unknown) => {
        this.finished('heartbeat', sentAt, error);
        this.onRequestFailed(client, error, sentAt);
      },
    );
  }

  /** A request answered SESSION_EXPIRED: the session is gone even if the socket looks fine. */
  private onRequestFailed(client: ZkClient, error: unknown, sentAt: number): void {
    if (client !== this.client) return;
    if (isZooKeeperError(error, 'SESSION_EXPIRED')) this.expire('server');
    else if (!isZooKeeperError(error, 'CONNECTION_LOSS', 'OPERATION_TIMEOUT')) this.heard(client, sentAt);
  }

  /** The server answered a request sent at `sentAt`: it heard from us no earlier than that. */
  private heard(client: ZkClient, sentAt: number): void {
    if (client !== this.client) return;
    if (sentAt > this.answeredAt) this.answeredAt = sentAt;
    this.liveness.heard(sentAt);
    // Suspended for silence, but the client kept the connection (the C client decides by its
    // own read timeout) and answers flow again: the same session is back, as after a reconnect.
    if (this.currentState === 'suspended' && this.suspendedBy === 'silent' && this.liveness.resume()) {
      this.suspendedBy = null;
      this.setState('connected');
      this.emit('reconnected', { sessionId: this.sessionId });
    }
  }

  /** Reports a finished request to whoever listens (zk-leader/metrics); nothing when nobody does. */
  private finished(operation: string, sentAt: number, error: unknown): void {
    publish(requestChannel, (): RequestMessage => ({
      operation,
      durationMs: this.runtime.clock.now() - sentAt,
      outcome: error === null ? 'ok' : ((error as { code?: string })?.code ?? 'error'),
    }));
  }

  private count(operation: string): void {
    this.requestCounts[operation] = (this.requestCounts[operation] ?? 0) + 1;
  }

  /** Waits until `scope` can send: connected in that very session. */
  private async usable(scope: SessionScope, operation: string): Promise<ZkClient> {
    for (;;) {
      if (this.currentState === 'closed') throw new SessionClosedError(operation);
      if (!scope.alive || this.currentScope !== scope) throw scopeEnded(operation);
      // Both clients send the credentials after requests queued while not connected, which
      // the server then answers NO_AUTH: hold requests until the connection is up.
      if (this.currentState === 'connected' && this.client) return this.client;
      await this.whenConnected(scope.signal);
    }
  }

  /** @internal Runs one request of `scope` on the current client, keeping the reply clock and the counters. */
  async requestIn<T>(scope: SessionScope, operation: string, path: string, run: (client: ZkClient) => Promise<T>): Promise<T> {
    let client: ZkClient;
    try {
      client = await this.usable(scope, operation);
    } catch (error) {
      if (error instanceof ZooKeeperError && error.code === 'SESSION_EXPIRED') throw scopeEnded(operation, path);
      throw error;
    }
    this.count(operation);
    const sentAt = this.runtime.clock.now();
    try {
      const result = await scope.untilEnded(run(client), operation, path);
      this.finished(operation, sentAt, null);
      this.heard(client, sentAt);
      // A reply that arrives after its session ended speaks of a session nobody may act for.
      if (!scope.alive) throw scopeEnded(operation, path);
      return result;
    } catch (error) {
      this.finished(operation, sentAt, error);
      // A request of an ended session says nothing about the current one.
      if (scope.alive) this.onRequestFailed(client, error, sentAt);
      // A refused login ends the session too, and says more than "the session ended" would.
      // The end's own cause (a refused login) is the Session's ZkLeaderError, not the client's ZooKeeperError.
      const saysWhy = error instanceof ZkLeaderError && (error.code === 'SESSION_EXPIRED' || error.code === 'AUTH_FAILED');
      if (!scope.alive && !saysWhy) throw scopeEnded(operation, path);
      throw error;
    }
  }

  /** The scope of the current session, waiting for the first connect (or the next one after an expiry). */
  private async currentScopeWhenConnected(operation: string): Promise<SessionScope> {
    for (;;) {
      if (this.currentState === 'closed') throw new SessionClosedError(operation);
      const scope = this.currentScope;
      if (scope?.alive) return scope;
      await this.whenConnected();
    }
  }

  // The Session itself speaks for whichever ZooKeeper session is current when a request is
  // sent: for one-off reads and writes (admin tools, tests). Recipes hold a scope instead.
  /**
   * Creates a node in the current ZooKeeper session (waiting for one); resolves with its path.
   * @throws SESSION_CLOSED after `close()`; ZooKeeper's codes (`NODE_EXISTS`, `NO_NODE`, ...).
   */
  async create(path: string, data: Buffer, mode: CreateMode, acl: readonly AclEntry[] = openAcl): Promise<string> {
    return (await this.currentScopeWhenConnected('create')).create(path, data, mode, acl);
  }
  /** Deletes a node (at `version`, or any with -1), in the current ZooKeeper session. */
  async remove(path: string, version = -1): Promise<void> {
    return (await this.currentScopeWhenConnected('delete')).remove(path, version);
  }
  /** The node's stat or null; with a watcher it also hears of the node's creation. */
  async exists(path: string, watcher?: Watcher): Promise<NodeStat | null> {
    return (await this.currentScopeWhenConnected('exists')).exists(path, watcher);
  }
  /** The node's data and stat; with a watcher, hears of a data change or the deletion. */
  async getData(path: string, watcher?: Watcher): Promise<NodeData> {
    return (await this.currentScopeWhenConnected('getData')).getData(path, watcher);
  }
  /** Writes a node's data (at `version`, or any with -1); resolves with the new stat. */
  async setData(path: string, data: Buffer, version = -1): Promise<NodeStat> {
    return (await this.currentScopeWhenConnected('setData')).setData(path, data, version);
  }
  /** The children's names; with a watcher, hears of a child added or removed. */
  async getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    return (await this.currentScopeWhenConnected('getChildren')).getChildren(path, watcher);
  }
  /**
   * Creates `path` and its missing parents as persistent nodes; existing ones are fine. `acl`
   * applies to `path` itself; parents, often shared with other applications, are left open.
   * @throws INVALID_ARGUMENT for a malformed path.
   */
  async ensurePath(path: string, acl: readonly AclEntry[] = openAcl): Promise<void> {
    validatePath(path);
    return (await this.currentScopeWhenConnected('ensurePath')).ensurePath(path, acl);
  }

  /**
   * @internal The server refused to remove a watch nobody waits for any more: it stays until
   * it fires, costing a little memory and a path in each reconnect's SetWatches.
   */
  watchRemovalFailed(error: unknown, path: string): void {
    const code = error instanceof ZkLeaderError ? error.code : 'UNEXPECTED';
    const reported = new ZkLeaderError(
      code,
      `the server refused to remove the watch on ${path} that nobody waits for any more (${String((error as Error | null)?.message ?? error)}): it stays until it fires or the connection ends, harmless unless it repeats for many paths`,
      { cause: error },
    );
    this.logger.warn({ err: reported, path }, 'zk-leader: a watch could not be removed from the server');
    this.emit('error', reported);
  }

  /**
   * @internal Watches held for this session right now, for leak checks: `listeners`, the
   * recipes' callbacks waiting on a watch; `client`, the client library's watchers (undefined
   * when the backend cannot count them).
   */
  watchCounts(): { listeners: number; client: number | undefined } {
    return { listeners: this.currentScope?.pendingWatchers ?? 0, client: this.client?.watcherCount?.() };
  }

  /** Closes the session: its ephemeral nodes go at once. Resolves when the client is closed. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.settleFirstConnect(new SessionClosedError('connecting'));
    this.liveness.stop();
    this.clearTimer('connectTimer');
    this.clearTimer('backoffTimer');
    this.setState('closed');
    this.currentScope?.end();
    const client = this.client;
    this.client = null;
    this.closing = (async () => {
      await Promise.all([client?.close(), this.failedClient]);
      this.emit('closed');
      this.removeAllListeners();
    })();
    return this.closing;
  }

  /** `await using session = new Session(...)`: closes it when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Every request waiting for a connection listens to its scope's signal: no listener limit. */
function abortControllerForMany(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

function scopeEnded(operation: string, path?: string): ZooKeeperError {
  return new ZooKeeperError('SESSION_EXPIRED', operation, path, 'the ZooKeeper session it belonged to has ended');
}

/** Options of a component that runs on a caller's shared Session or opens one of its own. */
export type SessionSource =
  | {
      /** A shared Session, left open when the recipe closes. */
      session: Session;
      /** Where the recipe logs (the shared Session logs to its own). */
      logger?: Logger;
    }
  | ({
      /** Without `session`: the recipe owns a session of its own, made from these options. */
      session?: undefined;
    } & SessionOptions);

/**
 * The caller's shared session, if one was passed; checks it is one and comes without options
 * of an own session (`connect`, `sessionTimeoutMs`, `tls`, ...): those are the shared
 * Session's to set, and taken silently they would promise what the session may not do (TLS on
 * a plain connection, a timeout it does not have). `kept` names the session options the
 * component uses itself (its `logger`, say).
 * @throws INVALID_ARGUMENT naming the option and where it belongs.
 */
export function sharedSession(
  options: Partial<Record<keyof SessionOptions | 'session', unknown>>,
  kept: Partial<Record<keyof SessionOptions, true>> = {},
): Session | undefined {
  if (options.session === undefined) return undefined;
  if (!(options.session instanceof Session)) throw new InvalidArgumentError('session must be a zk-leader Session');
  if (options.connect !== undefined) throw new InvalidArgumentError('pass either connect or session, not both');
  for (const name of Object.keys(sessionOptionNames) as (keyof SessionOptions)[]) {
    if (options[name] === undefined || Object.hasOwn(kept, name)) continue;
    throw new InvalidArgumentError(`${name} is for an own session: pass it to the shared Session instead (new Session({ connect, ${name} }))`);
  }
  return options.session;
}
