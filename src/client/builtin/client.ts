import { EventEmitter } from 'eventemitter3';
import { parseConnectString, type ConnectServer } from '../../connect-string.js';
import { ZkLeaderError, ZooKeeperError, isZooKeeperError, type ServerFailure } from '../../errors.js';
import { probeServers } from '../probe.js';
import { createModeFlags, handshakeTimeoutMs, sessionIdHex, watchEventType, zooKeeperError } from '../protocol.js';
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
  PersistentWatchMode,
  WatchRemovalType,
  WatchedRead,
  Watcher,
  ZkClient,
} from '../types.js';
import { Backoff } from '../../backoff.js';
import { Connection, type ConnectionEnd, type PendingRequest } from './connection.js';
import {
  type Acl,
  JuteReader,
  JuteWriter,
  type MultiRequestOp,
  OpCode,
  readCreateResponse,
  readGetChildren2Response,
  readGetDataResponse,
  readMultiResponse,
  readStat,
  requestPacket,
  type Stat,
  WatcherType,
  writeAuthPacket,
  writeCreateRequest,
  writeMultiRequest,
  writePath,
  writePathInt,
  writePathVersion,
  writePathWatch,
  writeSetAclRequest,
  writeSetDataRequest,
  writeSetWatches,
  writeSetWatches2,
  Xid,
  AddWatchMode,
} from './records.js';
import { needsSetWatches2, oneShotKinds, persistentKinds, WatchManager, type WatchKind } from './watches.js';

/** Tunables of the builtin client; the defaults are what the library runs with. */
export interface BuiltinOptions {
  /**
   * The largest reply frame accepted. Java's client stops at its jute.maxbuffer (1 MiB); ours
   * is larger so a server whose jute.maxbuffer was raised (the `juteMaxBufferBytes` option)
   * still works, and still far below a length read from a garbage or hostile stream.
   */
  maxFrameBytes?: number;
  /** Requests on the wire at once; more wait in order until replies make room. */
  maxOutstanding?: number;
}

const defaultMaxFrameBytes = 16 * 1024 * 1024;
const defaultMaxOutstanding = 1000;
/** How long close() waits for the server to answer closeSession before dropping the socket. */
const closeGraceMs = 2000;
/**
 * Backoff between connection attempts that fail in a row: first retry soon, then pauses up to
 * a fifth of a second. A restarted server serves again within a second or so: with pauses up to
 * a second (Java sleeps 0-1000 ms) 1,000 sessions were all back 150 ms later than on
 * node-zookeeper-client (which retries at once and after up to 200 ms, in turn), with up to
 * 250 ms 150-250 ms later, with 200 ms as soon (bench/recovery.ts, 6 restarts each). With full
 * jitter a thousand sessions still make only about 10 attempts a second each, spread out.
 */
const redialRetry = { initialMs: 50, maxMs: 200 };

const connectionLoss = -4;
const sessionExpired = -112;
const authFailed = -115;
const noNode = -101;
const noWatcher = -121;
const unimplemented = -6;
const marshallingError = -5;
/** RUNTIMEINCONSISTENCY in a multi result: this op was not tried because another failed. */
const notTried = -2;

/** A request from the caller: sent once a connection is open, in the order asked. */
interface Request {
  readonly operation: string;
  readonly path: string | undefined;
  readonly opcode: number;
  readonly write: ((writer: JuteWriter) => void) | undefined;
  /** Called with the reply; settles the caller's promise. */
  readonly replied: (err: number, body: JuteReader) => void;
  readonly fail: (code: number, detail: string) => void;
}

function toStat(stat: Stat): NodeStat {
  return {
    czxid: stat.czxid,
    mzxid: stat.mzxid,
    pzxid: stat.pzxid,
    version: stat.version,
    ephemeralOwner: sessionIdHex(stat.ephemeralOwner),
    createdAtMs: Number(stat.ctime),
    numChildren: stat.numChildren,
    dataLength: stat.dataLength,
  };
}

function toAcl(acl: readonly AclEntry[]): Acl[] {
  return acl.map((entry) => ({ perms: entry.permissions, scheme: entry.scheme, id: entry.id }));
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(Math.random() * (index + 1));
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}

/**
 * The builtin backend, the default: zk-leader's own ZooKeeper client, in TypeScript over node:net.
 *
 * One session, many connections: it dials the servers in a shuffled order (the next one after
 * each failure), re-attaches to its session with the id and password, re-sends the digest
 * credentials and re-arms the watches on every new connection, and keeps doing so by itself
 * until the session expires, the server refuses the credentials, or `close()`.
 *
 * States follow the node-zookeeper-client adapter: `connected` on each accepted handshake,
 * `disconnected` once when an open connection is lost, `expired` and `auth-failed` at the
 * end; nothing after `close()`. A request sent on a connection that is lost fails with
 * CONNECTION_LOSS (it may or may not have been applied); one asked while no connection is open
 * waits for the next and is sent then.
 */
export class BuiltinAdapter extends EventEmitter<ClientEvents> implements ZkClient {
  readonly backend = 'builtin' as const;
  readonly createsWithAcl = true;
  readonly removesServerWatches = true;
  private readonly servers: ConnectServer[];
  private readonly chroot: string | undefined;
  private readonly maxFrameBytes: number;
  private readonly maxOutstanding: number;
  private readonly watches = new WatchManager();
  /** Reads in flight that set a watch, by server watch type and path ("data:/a", "children:/a"). */
  private readonly watchingReads = new Map<string, number>();
  private readonly auths: DigestAuth[] = [];
  /** Asked for and not sent yet, in order. */
  private readonly waiting: Request[] = [];
  /** Sent on the open connection and not answered. */
  private readonly sent = new Set<Request>();
  private state: 'idle' | 'connecting' | 'open' | 'expired' | 'auth-failed' | 'tls-failed' | 'closed' = 'idle';
  private connection: Connection | null = null;
  /** Whether the current connection was reported `connected` (so its loss is `disconnected`). */
  private reported = false;
  private nextServer = 0;
  /** Whether the last connection attempt failed before it opened: the next one waits. */
  private dialFailing = false;
  /** Whether a connection ever opened: a session was had, and may be alive still. */
  private everOpened = false;
  /** Per server (by index), whether its last attempt failed before a connection opened, and whether TLS was why. */
  private readonly dialFailures = new Map<number, 'tls' | 'other'>();
  /** The error about TLS failing everywhere, reported once until a connection opens again. */
  private tlsFailureReported = false;
  private readonly redials = new Backoff(redialRetry, Math.random);
  private retryTimer: NodeJS.Timeout | undefined;
  private sessionId = 0n;
  private password: Buffer = Buffer.alloc(16);
  private negotiatedTimeoutMs = 0;
  private lastZxid = 0n;
  private xid = 0;
  private handshakeAt: number | undefined;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly options: ClientOptions,
    tunables: BuiltinOptions = {},
  ) {
    super();
    const parsed = parseConnectString(options.connectString);
    this.servers = shuffled(parsed.servers);
    this.chroot = parsed.chroot;
    this.maxFrameBytes = tunables.maxFrameBytes ?? defaultMaxFrameBytes;
    this.maxOutstanding = tunables.maxOutstanding ?? defaultMaxOutstanding;
    if (options.credentials) {
      this.sessionId = BigInt.asIntN(64, BigInt(`0x${options.credentials.id}`));
      this.password = Buffer.from(options.credentials.password);
    }
  }

  connect(): void {
    if (this.state !== 'idle') return;
    this.state = 'connecting';
    this.dial();
  }

  diagnoseConnect(budgetMs: number): Promise<ServerFailure[]> {
    return probeServers(parseConnectString(this.options.connectString).servers, budgetMs);
  }

  sessionCredentials(): SessionCredentials {
    return { id: sessionIdHex(this.sessionId), password: Buffer.from(this.password) };
  }

  negotiatedSessionTimeoutMs(): number {
    return this.negotiatedTimeoutMs;
  }

  handshakeSentAt(): number | undefined {
    return this.handshakeAt;
  }

  addAuthInfo(auth: DigestAuth): void {
    if (this.auths.some((known) => known.scheme === auth.scheme && known.credential === auth.credential)) return;
    this.auths.push(auth);
    if (this.state === 'open') this.connection?.sendUntracked(this.authPacket(auth));
  }

  dropConnection(): void {
    this.connection?.close({ kind: 'lost', reason: 'dropped by the session (it went silent)', phase: 'open' });
  }

  // --- connecting ------------------------------------------------------------------------------

  private dial(): void {
    this.retryTimer = undefined;
    if (this.state !== 'connecting') return;
    const serverIndex = this.nextServer % this.servers.length;
    const server = this.servers[serverIndex]!;
    this.nextServer += 1;
    const connection = new Connection({
      host: server.host,
      port: server.port,
      ...(this.options.tls !== undefined ? { tls: this.options.tls } : {}),
      ...(this.options.sasl !== undefined ? { sasl: this.options.sasl } : {}),
      nextXid: () => this.nextXid(),
      handshake: {
        protocolVersion: 0,
        lastZxidSeen: this.lastZxid,
        timeOut: this.options.sessionTimeoutMs,
        sessionId: this.sessionId,
        passwd: this.password,
        readOnly: false,
      },
      // The negotiated timeout once there is a session: the server expires it by that one.
      connectTimeoutMs: handshakeTimeoutMs(
        this.negotiatedTimeoutMs > 0 ? this.negotiatedTimeoutMs : this.options.sessionTimeoutMs,
        this.servers.length,
        this.sessionId !== 0n,
      ),
      maxFrameBytes: this.maxFrameBytes,
      onHandshakeSent: () => {
        this.handshakeAt = this.options.now?.();
      },
    });
    this.connection = connection;
    // The session exists once the handshake is accepted, before a SASL login: a connection
    // lost during the login re-attaches to it instead of leaving it to expire.
    connection.on('accepted', (response) => {
      this.sessionId = response.sessionId;
      this.password = Buffer.from(response.passwd);
      this.negotiatedTimeoutMs = response.timeOut;
    });
    connection.on('open', () => {
      this.dialFailures.clear();
      this.opened(connection);
    });
    connection.on('zxid', (zxid) => {
      if (zxid > this.lastZxid) this.lastZxid = zxid;
    });
    connection.on('notification', (event) => {
      const type = watchEventType(event.type);
      if (type) this.watches.dispatch({ type, path: this.fromServer(event.path) });
    });
    connection.on('replied', () => this.pump());
    connection.on('ended', (end) => this.ended(connection, end, serverIndex));
  }

  /**
   * The server accepted the handshake. What the connection needs comes first, in Java's
   * order (credentials, then the watches to re-arm), then the requests that waited.
   */
  private opened(connection: Connection): void {
    this.state = 'open';
    this.dialFailing = false;
    this.everOpened = true;
    this.tlsFailureReported = false;
    this.redials.reset();
    for (const auth of this.auths) connection.sendUntracked(this.authPacket(auth));
    for (const batch of this.watches.batches((path) => this.toServer(path))) {
      // SetWatches2 only for a batch with persistent watches: a 3.5 server closes the connection on it.
      const request = { relativeZxid: this.lastZxid, ...batch };
      if (needsSetWatches2(batch)) this.sendInternal(connection, OpCode.setWatches2, (writer) => writeSetWatches2(writer, request));
      else this.sendInternal(connection, OpCode.setWatches, (writer) => writeSetWatches(writer, request));
    }
    this.reported = true;
    this.emit('state', 'connected');
    this.pump();
  }

  private ended(connection: Connection, end: ConnectionEnd, serverIndex: number): void {
    if (connection !== this.connection) return;
    this.connection = null;
    const wasReported = this.reported;
    this.reported = false;
    // Closing: the server ends the connection after closeSession; that is no disconnect to report or repair.
    if (this.state === 'closed' || this.closing) return;
    if (end.kind === 'expired') return this.die('expired', sessionExpired, 'the session expired');
    if (end.kind === 'auth-failed') return this.die('auth-failed', authFailed, end.reason, new ZkLeaderError('AUTH_FAILED', end.reason));
    this.state = 'connecting';
    if (wasReported) this.emit('state', 'disconnected');
    if (end.kind === 'tls-failed' || (end.kind === 'lost' && end.phase !== 'open')) {
      this.dialFailing = true;
      this.dialFailures.set(serverIndex, end.kind === 'tls-failed' ? 'tls' : 'other');
    }
    if (end.kind === 'tls-failed' && this.dialFailures.size === this.servers.length) {
      // Every server failed at its last attempt, and TLS at least here: a configuration to
      // fix, not a network to wait for. Before any session that ends the client (start()
      // rejects at once); after one, the session may be alive still: keep trying, say it once.
      const error = new ZkLeaderError('TLS_FAILED', end.reason);
      if (!this.everOpened) return this.die('tls-failed', connectionLoss, end.reason, error);
      if (!this.tlsFailureReported) {
        this.tlsFailureReported = true;
        this.emit('error', error);
      }
    }
    this.scheduleDial();
  }

  /** The client can do no more: every request fails with `code`, and `state` says why. */
  private die(state: 'expired' | 'auth-failed' | 'tls-failed', code: number, detail: string, error?: ZkLeaderError): void {
    this.state = state;
    this.failAll(code, detail);
    this.watches.clear();
    this.emit('state', state, error);
  }

  private scheduleDial(): void {
    if (!this.dialFailing) return this.dial();
    // Jittered, so clients that lost the same server do not come back in step.
    this.retryTimer = setTimeout(() => this.dial(), this.redials.next());
  }

  // --- requests --------------------------------------------------------------------------------

  private nextXid(): number {
    // Java's rule: normal xids count from 1 and wrap back to 1, never into the special ones.
    this.xid = this.xid >= 0x7fffffff ? 1 : this.xid + 1;
    return this.xid;
  }

  private authPacket(auth: DigestAuth): Buffer {
    return requestPacket(Xid.auth, OpCode.auth, (writer) => writeAuthPacket(writer, { type: 0, scheme: auth.scheme, auth: Buffer.from(auth.credential) }));
  }

  /** A request of the client's own (setWatches): matched in order, its error only logged away. */
  private sendInternal(connection: Connection, opcode: number, write: (writer: JuteWriter) => void): void {
    const xid = this.nextXid();
    connection.send({ xid, replied: () => {}, ended: () => {} }, requestPacket(xid, opcode, write));
  }

  /** Sends waiting requests while the connection is open and has room. */
  private pump(): void {
    const connection = this.connection;
    if (this.state !== 'open' || !connection?.isOpen) return;
    while (this.waiting.length > 0 && connection.outstanding < this.maxOutstanding) {
      const request = this.waiting.shift()!;
      const xid = this.nextXid();
      this.sent.add(request);
      const pending: PendingRequest = {
        xid,
        replied: (header, body) => {
          // Taken off only once its body parsed: one that does not is failed with the connection.
          request.replied(header.err, body);
          this.sent.delete(request);
        },
        ended: (end) => {
          if (!this.sent.delete(request)) return;
          request.fail(end.kind === 'expired' ? sessionExpired : end.kind === 'auth-failed' ? authFailed : connectionLoss, describeEnd(end));
        },
      };
      connection.send(pending, requestPacket(xid, request.opcode, request.write));
    }
  }

  private request<T>(
    operation: string,
    path: string | undefined,
    opcode: number,
    write: ((writer: JuteWriter) => void) | undefined,
    onReply: (err: number, body: JuteReader, resolve: (value: T) => void, reject: (error: unknown) => void) => void,
    /** Called first when the request is answered or failed, or refused here. */
    settled: () => void = () => {},
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const refuse = (code: number, detail: string) => {
        settled();
        reject(failure(code, operation, path, detail));
      };
      if (this.state === 'closed' || this.closing) return refuse(connectionLoss, 'the client is closed');
      if (this.state === 'expired') return refuse(sessionExpired, 'the session expired');
      if (this.state === 'auth-failed') return refuse(authFailed, 'the server refused the credentials');
      if (this.state === 'tls-failed') return refuse(connectionLoss, 'TLS failed with every server');
      this.waiting.push({
        operation,
        path,
        opcode,
        write,
        replied: (err, body) => {
          settled();
          onReply(err, body, resolve, reject);
        },
        fail: refuse,
      });
      this.pump();
    });
  }

  /** A request whose only answer is success or an error code. */
  private simple<T>(
    operation: string,
    path: string | undefined,
    opcode: number,
    write: (writer: JuteWriter) => void,
    read: (body: JuteReader) => T,
  ): Promise<T> {
    return this.request<T>(operation, path, opcode, write, (err, body, resolve, reject) => {
      if (err !== 0) reject(zooKeeperError(err, operation, path));
      else resolve(read(body));
    });
  }

  private failAll(code: number, detail: string): void {
    const requests = [...this.sent, ...this.waiting.splice(0)];
    this.sent.clear();
    for (const request of requests) request.fail(code, detail);
  }

  // --- chroot ----------------------------------------------------------------------------------

  private toServer(path: string): string {
    if (!this.chroot) return path;
    return path === '/' ? this.chroot : this.chroot + path;
  }

  /** Strips the chroot from a server path; a path outside it (e.g. /zookeeper/...) is kept as is. */
  private fromServer(path: string): string {
    const chroot = this.chroot;
    if (!chroot || !path.startsWith(chroot)) return path;
    if (path.length === chroot.length) return '/';
    // '/a' is not the chroot of '/ab': only a whole path segment counts.
    return path[chroot.length] === '/' ? path.slice(chroot.length) : path;
  }

  // --- operations ------------------------------------------------------------------------------

  create(path: string, data: Buffer, mode: CreateMode, acl: readonly AclEntry[]): Promise<string> {
    return this.simple(
      'create',
      path,
      OpCode.create,
      (writer) => writeCreateRequest(writer, { path: this.toServer(path), data, acl: toAcl(acl), flags: createModeFlags[mode] }),
      (body) => this.fromServer(readCreateResponse(body)),
    );
  }

  remove(path: string, version: number): Promise<void> {
    return this.simple(
      'delete',
      path,
      OpCode.delete,
      (writer) => writePathVersion(writer, { path: this.toServer(path), version }),
      () => undefined,
    );
  }

  exists(path: string, watcher?: Watcher): Promise<NodeStat | null> {
    return this.request<NodeStat | null>(
      'exists',
      path,
      OpCode.exists,
      (writer) => writePathWatch(writer, this.toServer(path), watcher !== undefined),
      (err, body, resolve, reject) => {
        // The server leaves a watch on a missing node too: an exist watch, fired by its creation.
        if (err === 0) {
          if (watcher) this.watches.add('data', path, watcher);
          resolve(toStat(readStat(body)));
        } else if (err === noNode) {
          if (watcher) this.watches.add('exist', path, watcher);
          resolve(null);
        } else reject(zooKeeperError(err, 'exists', path));
      },
      this.watchingRead('data', path, watcher),
    );
  }

  getData(path: string, watcher?: Watcher): Promise<NodeData> {
    return this.request<NodeData>(
      'getData',
      path,
      OpCode.getData,
      (writer) => writePathWatch(writer, this.toServer(path), watcher !== undefined),
      (err, body, resolve, reject) => {
        if (err !== 0) return reject(zooKeeperError(err, 'getData', path));
        const { data, stat } = readGetDataResponse(body);
        if (watcher) this.watches.add('data', path, watcher);
        resolve({ data: data ?? Buffer.alloc(0), stat: toStat(stat) });
      },
      this.watchingRead('data', path, watcher),
    );
  }

  setData(path: string, data: Buffer, version: number): Promise<NodeStat> {
    return this.simple(
      'setData',
      path,
      OpCode.setData,
      (writer) => writeSetDataRequest(writer, { path: this.toServer(path), data, version }),
      (body) => toStat(readStat(body)),
    );
  }

  getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    return this.request<string[]>(
      'getChildren',
      path,
      OpCode.getChildren2,
      (writer) => writePathWatch(writer, this.toServer(path), watcher !== undefined),
      (err, body, resolve, reject) => {
        if (err !== 0) return reject(zooKeeperError(err, 'getChildren', path));
        const { children } = readGetChildren2Response(body);
        if (watcher) this.watches.add('child', path, watcher);
        resolve(children);
      },
      this.watchingRead('children', path, watcher),
    );
  }

  setAcl(path: string, acl: readonly AclEntry[]): Promise<void> {
    return this.simple(
      'setAcl',
      path,
      OpCode.setACL,
      (writer) => writeSetAclRequest(writer, { path: this.toServer(path), acl: toAcl(acl), version: -1 }),
      () => undefined,
    );
  }

  sync(path: string): Promise<void> {
    return this.simple(
      'sync',
      path,
      OpCode.sync,
      (writer) => writePath(writer, this.toServer(path)),
      () => undefined,
    );
  }

  multi(ops: readonly MultiOp[]): Promise<MultiResult[]> {
    // As the Java client: an empty transaction is not sent.
    if (ops.length === 0) return Promise.resolve([]);
    const requestOps: MultiRequestOp[] = ops.map((op): MultiRequestOp => {
      const path = this.toServer(op.path);
      switch (op.type) {
        case 'create':
          return { type: 'create', opcode: OpCode.create, request: { path, data: op.data, acl: toAcl(op.acl), flags: createModeFlags[op.mode] } };
        case 'delete':
          return { type: 'delete', request: { path, version: op.version } };
        case 'setData':
          return { type: 'setData', request: { path, data: op.data, version: op.version } };
        case 'check':
          return { type: 'check', request: { path, version: op.version } };
      }
    });
    return this.request<MultiResult[]>(
      'multi',
      ops[0]!.path,
      OpCode.multi,
      (writer) => writeMultiRequest(writer, requestOps),
      (err, body, resolve, reject) => {
        if (err !== 0) return reject(zooKeeperError(err, 'multi', ops[0]!.path));
        const results = readMultiResponse(body);
        // A failed transaction: every op has an error result; the one that failed carries its own code.
        const failed = results.findIndex((result) => result.type === 'error' && result.err !== 0 && result.err !== notTried);
        if (failed !== -1 || results.some((result) => result.type === 'error')) {
          const index = failed === -1 ? 0 : failed;
          const op = ops[index];
          return reject(
            zooKeeperError(
              results[index]!.err || notTried,
              'multi',
              op?.path,
              `operation ${index + 1} of ${ops.length} (${op?.type}); nothing was applied`,
              failed === -1 ? undefined : failed,
            ),
          );
        }
        resolve(
          results.map((result): MultiResult => {
            switch (result.type) {
              case 'create':
                // Java leaves the chroot in multi's create results; the port strips it everywhere.
                return { type: 'create', path: this.fromServer(result.path) };
              case 'setData':
                return { type: 'setData', stat: toStat(result.stat) };
              case 'delete':
                return { type: 'delete' };
              default:
                return { type: 'check' };
            }
          }),
        );
      },
    );
  }

  removeWatches(path: string, type: WatchRemovalType): Promise<void> {
    const kinds: WatchKind[] = type === 'data' ? ['data', 'exist'] : type === 'children' ? ['child'] : ['data', 'exist', 'child'];
    // Forgotten here first: a watch the server fires before it reads the removal calls nobody.
    this.watches.remove(path, kinds);
    return this.request<void>(
      'removeWatches',
      path,
      OpCode.removeWatches,
      (writer) => writePathInt(writer, this.toServer(path), WatcherType[type]),
      (err, _body, resolve, reject) => {
        // NOWATCHER: the server holds none (it fired, or the connection that held it is gone): what we wanted.
        if (err === 0 || err === noWatcher) resolve();
        else reject(zooKeeperError(err, 'removeWatches', path));
      },
    );
  }

  /**
   * Counts a read that sets a watch of `type` on `path` until it is answered: the server may
   * set that watch any moment until then, so `removeWatcher` must not remove it meanwhile.
   * Returns what to call when it is answered or failed.
   */
  private watchingRead(type: 'data' | 'children', path: string, watcher: Watcher | undefined): (() => void) | undefined {
    if (!watcher) return undefined;
    const key = `${type}:${path}`;
    this.watchingReads.set(key, (this.watchingReads.get(key) ?? 0) + 1);
    return () => {
      const left = (this.watchingReads.get(key) ?? 1) - 1;
      if (left > 0) this.watchingReads.set(key, left);
      else this.watchingReads.delete(key);
    };
  }

  removeWatcher(path: string, read: WatchedRead | PersistentWatchMode, watcher: Watcher): Promise<void> {
    if (read === 'persistent' || read === 'persistent-recursive') return this.removePersistentWatcher(path, read, watcher);
    const type = read === 'children' ? 'children' : 'data';
    // The server's data watch serves data and exist watchers alike (an exists may have put ours in either).
    const kinds: WatchKind[] = type === 'children' ? ['child'] : ['data', 'exist'];
    this.watches.removeWatcher(path, kinds, watcher);
    // Another watcher (or a read about to set one) still needs the server's watch: it stays.
    // So it does for a persistent watch of the path: a 3.8 server keeps one watch of a
    // connection per path and table, persistent or not, and would remove that one.
    if (this.watches.has(path, [...kinds, ...persistentKinds]) || this.watchPending(path, [type, ...persistentKinds])) return Promise.resolve();
    return this.sendRemoval(path, WatcherType[type]).then(() => undefined);
  }

  private async removePersistentWatcher(path: string, mode: PersistentWatchMode, watcher: Watcher): Promise<void> {
    const kind: WatchKind = mode === 'persistent' ? 'persistent' : 'recursive';
    this.watches.removeWatcher(path, [kind], watcher);
    if (this.watches.has(path, [kind]) || this.watchPending(path, [kind])) return;
    const outcome = await this.sendRemoval(path, mode === 'persistent' ? WatcherType.persistent : WatcherType.persistentRecursive);
    if (outcome === 'done') return;
    // 3.6-3.8 know no type for persistent watches (ZOOKEEPER-4472 came in 3.9): there, Any
    // removes it, with whatever other watch of ours the path has, so only when it has none
    // (else it stays, and its events find nobody to call).
    const others = this.watches.has(path, [...oneShotKinds, ...persistentKinds]) || this.watchPending(path, ['data', 'children', ...persistentKinds]);
    if (!others) await this.sendRemoval(path, WatcherType.any);
  }

  /** Whether a request that sets a watch of one of `types` on `path` is on its way. */
  private watchPending(path: string, types: readonly string[]): boolean {
    return types.some((type) => this.watchingReads.has(`${type}:${path}`));
  }

  /**
   * removeWatches of `type` on `path`. NOWATCHER is success (the watch fired, or went with
   * the connection that held it), and so is a lost connection, expiry or close: the server's
   * watch went with the connection, and no later one re-arms it, as no watcher of ours is left.
   * `type-unknown`: the server (older than 3.9) does not know the persistent types.
   */
  private sendRemoval(path: string, type: number): Promise<'done' | 'type-unknown'> {
    const persistentType = type === WatcherType.persistent || type === WatcherType.persistentRecursive;
    return this.request<'done' | 'type-unknown'>(
      'removeWatches',
      path,
      OpCode.removeWatches,
      (writer) => writePathInt(writer, this.toServer(path), type),
      (err, _body, resolve, reject) => {
        if (err === 0 || err === noWatcher) resolve('done');
        else if (err === marshallingError && persistentType) resolve('type-unknown');
        else reject(zooKeeperError(err, 'removeWatches', path, 'the server keeps the watch until it fires'));
      },
    ).catch((error: unknown) => {
      if (isZooKeeperError(error, 'CONNECTION_LOSS', 'SESSION_EXPIRED', 'AUTH_FAILED')) return 'done' as const;
      throw error;
    });
  }

  /**
   * Sets a persistent watch (ZooKeeper 3.6+): `watcher` hears of every change of `path`
   * (`persistent`: created, deleted, data and children changed) or of `path` and every node
   * below it (`persistent-recursive`: all but children changed), until `removeWatcher(path,
   * mode, watcher)`. Re-armed on every reconnect (SetWatches2). The server holds one such
   * watch per path and mode for all of this client's watchers.
   * @throws ZooKeeperError (ZOOKEEPER_ERROR) from a server older than 3.6, which answers
   * UNIMPLEMENTED and closes the connection.
   */
  addWatch(path: string, mode: PersistentWatchMode, watcher: Watcher): Promise<void> {
    const kind: WatchKind = mode === 'persistent' ? 'persistent' : 'recursive';
    const key = `${kind}:${path}`;
    this.watchingReads.set(key, (this.watchingReads.get(key) ?? 0) + 1);
    const settled = () => {
      const left = (this.watchingReads.get(key) ?? 1) - 1;
      if (left > 0) this.watchingReads.set(key, left);
      else this.watchingReads.delete(key);
    };
    return this.request<void>(
      'addWatch',
      path,
      OpCode.addWatch,
      (writer) => writePathInt(writer, this.toServer(path), mode === 'persistent' ? AddWatchMode.persistent : AddWatchMode.persistentRecursive),
      (err, _body, resolve, reject) => {
        if (err === unimplemented) {
          return reject(
            new ZooKeeperError(
              'ZOOKEEPER_ERROR',
              'addWatch',
              path,
              'the server answered UNIMPLEMENTED: addWatch needs ZooKeeper 3.6+; upgrade the servers, or watch with getData/getChildren',
            ),
          );
        }
        if (err !== 0) return reject(zooKeeperError(err, 'addWatch', path));
        this.watches.add(kind, path, watcher);
        resolve();
      },
      settled,
    );
  }

  /** How many watches this client holds (path and kind), for tests and diagnostics. */
  watchCount(): number {
    return this.watches.size;
  }

  watcherCount(): number {
    return this.watches.watcherCount;
  }

  // --- closing ---------------------------------------------------------------------------------

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const connection = this.connection;
    if (this.state === 'open' && connection?.isOpen) {
      // closeSession ends the session now (its ephemeral nodes go) instead of at its timeout.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, closeGraceMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        connection.once('ended', done);
        const xid = this.nextXid();
        connection.send({ xid, replied: done, ended: done }, requestPacket(xid, OpCode.closeSession));
      });
    }
    this.state = 'closed';
    this.connection = null;
    connection?.close();
    this.failAll(connectionLoss, 'the client is closed');
    this.watches.clear();
  }
}

/**
 * A request that failed with its connection or client, with why: zooKeeperError() keeps a
 * detail only for untyped codes (a library's message adds nothing to NO_NODE), but here the
 * detail is ours and says what happened (which server, TLS, a refused login).
 */
function failure(code: number, operation: string, path: string | undefined, detail: string): ZooKeeperError {
  const typed = zooKeeperError(code, operation, path, detail);
  return typed.code === 'ZOOKEEPER_ERROR' ? typed : new ZooKeeperError(typed.code, operation, path, detail);
}

function describeEnd(end: ConnectionEnd): string {
  switch (end.kind) {
    case 'lost':
      return `the connection it was sent on is gone (${end.reason})`;
    case 'expired':
      return 'the session expired';
    case 'auth-failed':
      return end.reason;
    case 'tls-failed':
      return end.reason;
    case 'closed':
      return 'the client is closed';
  }
}
