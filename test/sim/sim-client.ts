import { EventEmitter } from 'eventemitter3';
import type {
  AclEntry,
  BackendName,
  ClientEvents,
  ClientOptions,
  CreateMode,
  DigestAuth,
  NodeStat,
  SessionCredentials,
  WatchEvent,
  Watcher,
  ZkClient,
} from '../../src/client/types.js';
import { isOpenAcl, openAcl } from '../../src/client/types.js';
import type { ZooKeeperErrorCode } from '../../src/errors.js';
import { digestId } from './zookeeper-model.js';
import type { Connection, Operation, Result, ToClient, ToServer } from './network.js';

/** What a simulated client needs from the world it lives in. */
export interface ClientWorld {
  now(): number;
  /** A timer of this client's process (it does not fire while the process is paused). */
  setTimer(processId: number, delayMs: number, callback: () => void): { cancel(): void };
  /** Opens a connection, or returns null when the process cannot reach the server now. */
  openConnection(client: SimClient): Connection | null;
  send(connection: Connection, message: ToServer): void;
  /** The client end closes the connection (a drop, a read timeout, close()). */
  closeConnection(connection: Connection, why: string): void;
  /** How many promise hops a reply's settlement takes (0 to 3). */
  microtaskHops(): number;
  /** Reconnect delays and such: the scheduling stream. */
  random(): number;
  trace(line: string): void;
  /** The client library's error for a failed request (legacy code has its own error class). */
  errorFor(code: ZooKeeperErrorCode, operation: string, path: string, detail?: string): Error;
}

interface Pending {
  operation: Operation;
  resolve(value: Result): void;
  reject(error: Error): void;
  watcher?: Watcher;
}

type ClientState = 'idle' | 'connecting' | 'connected' | 'closing' | 'dead';

/** How long a connect attempt may take before the client tries again. */
const connectAttemptFraction = 1 / 3;
/** node-zookeeper-client waits this long for the server to confirm a close. */
const closeGraceMs = 2000;
/** The window over which repeated failures of one request are counted. */
export const repeatWindowMs = 10_000;

/**
 * A ZooKeeper client behind the `ZkClient` port, talking to the simulated server over a
 * simulated connection. It behaves as the client library of its backend does where the two
 * differ: the C client (`zookeeper`) drops a connection that stayed silent for 2/3 of the
 * timeout and creates a node's ACL in a second request; node-zookeeper-client has no read
 * timeout and relies on `dropConnection()`. Both keep their watches across reconnects
 * (SetWatches with the last zxid seen), queue requests made while disconnected, and fail the
 * ones in flight with CONNECTION_LOSS when the connection drops.
 */
export class SimClient extends EventEmitter<ClientEvents> implements ZkClient {
  readonly createsWithAcl: boolean;
  private state: ClientState = 'idle';
  private connection: Connection | null = null;
  private handshaken = false;
  private handshakeAt: number | undefined;
  private sessionId: string | null;
  private password: Buffer | null;
  private negotiatedMs = 0;
  private lastZxid = 0n;
  private nextXid = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly queued: { xid: number; operation: Operation }[] = [];
  private readonly credentials: string[] = [];
  private readonly watches = { data: new Map<string, Watcher[]>(), exist: new Map<string, Watcher[]>(), child: new Map<string, Watcher[]>() };
  /** Watchers registered by an `exists` (the duplicate check tells them from a getData's on the same node). */
  private readonly fromExists = new WeakSet<Watcher>();
  private lastSentAt = 0;
  private lastReceivedAt = 0;
  /** When a reply (or the handshake) last arrived: the silence the library's liveness clock measures. */
  lastReplyAt = 0;
  /** The connect string's chroot ('' for none): the client prefixes it to every path it sends and strips it from what it hears. */
  readonly chroot: string;
  /** When each of the last second's requests was sent (the storm check). */
  readonly recentSends: number[] = [];
  /** When each operation on each path (client paths) was last sent: a retry after a failure. */
  readonly lastSent = new Map<string, number>();
  /** Requests the server refused for a reason the library must act on (NO_AUTH): the silent-failure check. */
  readonly refusals: { at: number; op: string; path: string; code: ZooKeeperErrorCode }[] = [];
  /** When each request that failed (by operation, path and code) failed within the last window. */
  private readonly failures = new Map<string, number[]>();
  /** The request that failed the most times within one window, and how often. */
  mostRepeated: { key: string; count: number } | null = null;
  private tickTimer: { cancel(): void } | null = null;
  private attemptTimer: { cancel(): void } | null = null;
  private closeWaiter: (() => void) | null = null;

  constructor(
    private readonly world: ClientWorld,
    readonly processId: number,
    readonly backend: BackendName,
    private readonly options: ClientOptions,
    readonly label: string,
  ) {
    super();
    this.createsWithAcl = backend !== 'zookeeper';
    this.sessionId = options.credentials?.id ?? null;
    this.password = options.credentials?.password ?? null;
    const slash = options.connectString.indexOf('/');
    this.chroot = slash < 0 || options.connectString.slice(slash) === '/' ? '' : options.connectString.slice(slash);
  }

  /** Requests sent within the last `windowMs`. */
  sendsWithin(now: number, windowMs: number): number {
    while (this.recentSends.length > 0 && this.recentSends[0]! <= now - windowMs) this.recentSends.shift();
    return this.recentSends.length;
  }

  /** The operations sent most recently, for a storm's message. */
  busiest(): string {
    const latest = [...this.lastSent].sort((a, b) => b[1] - a[1]).slice(0, 4);
    return latest.map(([key]) => key).join(', ');
  }

  /** A path as the server sees it: under the chroot. */
  serverPath(path: string): string {
    return this.chroot === '' ? path : path === '/' ? this.chroot : `${this.chroot}${path}`;
  }

  /** A path the server names, as this client's caller sees it; null when it lies outside the chroot. */
  private clientPath(path: string): string | null {
    if (this.chroot === '') return path;
    if (path === this.chroot) return '/';
    return path.startsWith(`${this.chroot}/`) ? path.slice(this.chroot.length) : null;
  }

  /** The session this client holds or last held (for invariants). */
  get currentSessionId(): string | null {
    return this.handshaken || this.sessionId ? this.sessionId : null;
  }
  get isDead(): boolean {
    return this.state === 'dead';
  }
  /** For failure messages: state, session, connection. */
  describe(): string {
    return `${this.label} ${this.state} session ${this.sessionId} connection ${this.connection?.id ?? 'none'}${this.handshaken ? '' : ' (handshaking)'} pending ${this.pending.size} queued ${this.queued.length}`;
  }

  /** Still working for its session (not closing, not dead): the server keeps hearing from it. */
  get keepsSessionAlive(): boolean {
    return this.state === 'connected' || this.state === 'connecting';
  }
  get isConnected(): boolean {
    return this.state === 'connected';
  }
  /** Watch callbacks registered in this client (leak checks). */
  get registeredWatchers(): number {
    let count = 0;
    for (const table of Object.values(this.watches)) for (const list of table.values()) count += list.length;
    return count;
  }
  /**
   * Nodes with more than one callback of the same kind from the same read: each would be a
   * closure kept per election that came and went. (An `exists` and a `getData` of one node
   * land in the same table, as in the client libraries: one of each is two owners' reads.)
   */
  get duplicateWatchers(): string[] {
    const duplicates: string[] = [];
    for (const [kind, table] of Object.entries(this.watches)) {
      for (const [path, list] of table) {
        if (list.length < 2) continue;
        let exists = 0;
        for (const watcher of list) if (this.fromExists.has(watcher)) exists += 1;
        if (exists > 1) duplicates.push(`${kind} ${path} x${exists} (exists)`);
        if (list.length - exists > 1) duplicates.push(`${kind} ${path} x${list.length - exists}`);
      }
    }
    return duplicates;
  }
  get connectionId(): number | null {
    return this.connection?.id ?? null;
  }
  /** Requests sent and not answered, or waiting for a connection. */
  get inFlight(): number {
    return this.pending.size + this.queued.length;
  }
  /**
   * The highest zxid a reply has carried: what this client has seen of the tree (a lagging
   * follower's reads count as of its zxid). It never goes down, so a read sent after it was
   * taken is answered as of this zxid or later.
   */
  get lastSeenZxid(): bigint {
    return this.lastZxid;
  }

  connect(): void {
    if (this.state !== 'idle') return;
    this.state = 'connecting';
    this.attempt();
  }

  private attempt(): void {
    this.attemptTimer?.cancel();
    this.attemptTimer = null;
    if (this.state !== 'connecting') return;
    const connection = this.world.openConnection(this);
    const timeoutMs = Math.max(50, this.options.sessionTimeoutMs * connectAttemptFraction);
    if (!connection) {
      this.attemptTimer = this.world.setTimer(this.processId, timeoutMs, () => this.attempt());
      return;
    }
    this.connection = connection;
    this.handshaken = false;
    this.handshakeAt = this.world.now();
    this.world.send(connection, { kind: 'connect', sessionId: this.sessionId, password: this.password, timeoutMs: this.options.sessionTimeoutMs });
    this.attemptTimer = this.world.setTimer(this.processId, timeoutMs, () => {
      this.attemptTimer = null;
      if (this.connection === connection && !this.handshaken) this.connectionLost('connect attempt timed out');
    });
  }

  /** When the current connection's handshake was sent: the server renews the session when it reads it. */
  handshakeSentAt(): number | undefined {
    return this.handshakeAt;
  }

  sessionCredentials(): SessionCredentials {
    return { id: this.sessionId ?? '0000000000000000', password: this.password ?? Buffer.alloc(0) };
  }

  negotiatedSessionTimeoutMs(): number {
    return this.negotiatedMs;
  }

  addAuthInfo(auth: DigestAuth): void {
    this.credentials.push(auth.credential);
    if (this.state === 'connected' && this.connection) this.world.send(this.connection, { kind: 'auth', id: digestId(auth.credential) });
  }

  // ---- the port ----

  private request<T extends Result>(operation: Operation, watcher?: Watcher): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.state === 'dead' || this.state === 'closing') {
        reject(this.world.errorFor('SESSION_EXPIRED', operation.op, operation.path, 'the client is closed'));
        return;
      }
      const xid = this.nextXid++;
      this.pending.set(xid, { operation, resolve: resolve as (value: Result) => void, reject, ...(watcher ? { watcher } : {}) });
      if (this.state === 'connected' && this.connection) this.transmit(xid, operation);
      else this.queued.push({ xid, operation });
    });
  }

  private transmit(xid: number, operation: Operation): void {
    const now = (this.lastSentAt = this.world.now());
    this.recentSends.push(now);
    while (this.recentSends[0]! <= now - 1_000) this.recentSends.shift();
    this.lastSent.set(`${operation.op} ${operation.path}`, now);
    this.world.send(this.connection!, { kind: 'request', xid, operation: { ...operation, path: this.serverPath(operation.path) } });
  }

  async create(path: string, data: Buffer, mode: CreateMode, acl: readonly AclEntry[]): Promise<string> {
    if (this.createsWithAcl) return this.request<string>({ op: 'create', path, data, mode, acl });
    // The C client's binding creates with the open ACL and narrows it in a second request.
    const created = await this.request<string>({ op: 'create', path, data, mode, acl: openAcl });
    if (!isOpenAcl(acl)) await this.setAcl(created, acl);
    return created;
  }
  async remove(path: string, version: number): Promise<void> {
    await this.request({ op: 'delete', path, version });
  }
  exists(path: string, watcher?: Watcher): Promise<NodeStat | null> {
    return this.request<NodeStat | null>({ op: 'exists', path, watch: !!watcher }, watcher);
  }
  getData(path: string, watcher?: Watcher): Promise<{ data: Buffer; stat: NodeStat }> {
    return this.request<{ data: Buffer; stat: NodeStat }>({ op: 'getData', path, watch: !!watcher }, watcher);
  }
  setData(path: string, data: Buffer, version: number): Promise<NodeStat> {
    return this.request<NodeStat>({ op: 'setData', path, data, version });
  }
  getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    return this.request<string[]>({ op: 'getChildren', path, watch: !!watcher }, watcher);
  }
  async setAcl(path: string, acl: readonly AclEntry[]): Promise<void> {
    await this.request({ op: 'setAcl', path, acl });
  }
  async sync(path: string): Promise<void> {
    await this.request({ op: 'sync', path });
  }

  dropConnection(): void {
    // The C client drops a silent connection by itself; node-zookeeper-client needs telling.
    if (this.backend === 'zookeeper') return;
    if (this.connection && this.state === 'connected') this.connectionLost('dropped by the session (silent)');
  }

  close(): Promise<void> {
    if (this.state === 'dead' || this.state === 'closing') return Promise.resolve();
    const connection = this.connection;
    if (this.state !== 'connected' || !connection) {
      this.die('SESSION_EXPIRED');
      if (connection) this.world.closeConnection(connection, 'client closed');
      this.connection = null;
      return Promise.resolve();
    }
    this.state = 'closing';
    return new Promise<void>((resolve) => {
      const grace = this.world.setTimer(this.processId, closeGraceMs, () => finish());
      const finish = () => {
        grace.cancel();
        this.closeWaiter = null;
        if (this.connection) this.world.closeConnection(this.connection, 'client closed');
        this.connection = null;
        this.die('SESSION_EXPIRED');
        resolve();
      };
      this.closeWaiter = finish;
      this.world.send(connection, { kind: 'close-session', xid: this.nextXid++ });
    });
  }

  // ---- what the network delivers ----

  receive(connection: Connection, message: ToClient): void {
    if (connection !== this.connection) return;
    this.lastReceivedAt = this.world.now();
    switch (message.kind) {
      case 'handshake':
        return this.onHandshake(message.sessionId, message.password, message.timeoutMs);
      case 'handshake-expired':
        this.world.trace(`${this.label}: session ${this.sessionId} expired (told on reconnect)`);
        this.connection = null;
        this.world.closeConnection(connection, 'session expired');
        this.die('SESSION_EXPIRED');
        if (this.closeWaiter) return this.closeWaiter();
        this.emit('state', 'expired');
        return;
      case 'reply':
        return this.onReply(message.xid, message.zxid, message.result, message.error);
      case 'pong':
        return;
      case 'event': {
        const path = this.clientPath(message.path);
        return path === null ? undefined : this.onEvent({ type: message.type, path });
      }
      case 'closed':
        if (this.closeWaiter) return this.closeWaiter();
        return this.connectionLost('closed by the server');
    }
  }

  private onHandshake(sessionId: string, password: Buffer, timeoutMs: number): void {
    if (this.state !== 'connecting') return;
    this.attemptTimer?.cancel();
    this.attemptTimer = null;
    this.handshaken = true;
    this.sessionId = sessionId;
    this.password = password;
    this.negotiatedMs = timeoutMs;
    this.state = 'connected';
    const connection = this.connection!;
    // Credentials first, then the watches to re-arm, as every real client sends them (Java's
    // ClientCnxn.primeConnection, the C client's finalize_session_establishment,
    // node-zookeeper-client, our builtin client). The other way round, a change landing between
    // the two finds a re-armed watch whose session may not READ the node yet, and the model
    // drops it without a word: a silence no real client meets (seed 8543).
    for (const credential of this.credentials) this.world.send(connection, { kind: 'auth', id: digestId(credential) });
    const { data, exist, child } = this.watches;
    if (data.size + exist.size + child.size > 0) {
      const paths = (table: Map<string, Watcher[]>) => [...table.keys()].map((path) => this.serverPath(path));
      this.world.send(connection, { kind: 'set-watches', lastZxid: this.lastZxid, data: paths(data), exist: paths(exist), child: paths(child) });
    }
    for (const { xid, operation } of this.queued.splice(0)) this.transmit(xid, operation);
    this.lastSentAt = this.lastReceivedAt = this.lastReplyAt = this.world.now();
    this.scheduleTick();
    this.emit('state', 'connected');
  }

  private onReply(xid: number, zxid: bigint, result: Result, error: ZooKeeperErrorCode | undefined): void {
    if (zxid > this.lastZxid) this.lastZxid = zxid;
    const pending = this.pending.get(xid);
    if (!pending) {
      if (this.closeWaiter) this.closeWaiter();
      return;
    }
    this.pending.delete(xid);
    this.lastReplyAt = this.world.now();
    const { operation, watcher } = pending;
    if (operation.op === 'create' && typeof result === 'string') result = this.clientPath(result) ?? result;
    if (error) this.failed(operation, error);
    if (error === 'NO_AUTH') this.refusals.push({ at: this.world.now(), op: operation.op, path: operation.path, code: error });
    if (watcher) {
      // As the real clients do: the watch is registered when its reply arrives; exists on a
      // missing node watches for its creation; a failed getData or getChildren sets none.
      if (!error && operation.op === 'exists') {
        this.fromExists.add(watcher);
        this.addWatcher(result ? this.watches.data : this.watches.exist, operation.path, watcher);
      } else if (!error && operation.op === 'getData') this.addWatcher(this.watches.data, operation.path, watcher);
      else if (!error && operation.op === 'getChildren') this.addWatcher(this.watches.child, operation.path, watcher);
    }
    const settle = error
      ? () => pending.reject(this.world.errorFor(error, operation.op === 'delete' ? 'delete' : operation.op, operation.path))
      : () => pending.resolve(result);
    // Client libraries hand a reply over through different numbers of promise hops: vary
    // them, so that continuations of replies read together interleave every which way.
    const hops = this.world.microtaskHops();
    if (hops === 0) return settle();
    let chain = Promise.resolve();
    for (let hop = 1; hop < hops; hop++) chain = chain.then(() => undefined);
    void chain.then(settle);
  }

  private addWatcher(table: Map<string, Watcher[]>, path: string, watcher: Watcher): void {
    const list = table.get(path);
    if (list) {
      if (!list.includes(watcher)) list.push(watcher);
    } else table.set(path, [watcher]);
  }

  private onEvent(event: WatchEvent): void {
    const fired: Watcher[] = [];
    const take = (table: Map<string, Watcher[]>) => {
      const list = table.get(event.path);
      if (!list) return;
      table.delete(event.path);
      for (const watcher of list) if (!fired.includes(watcher)) fired.push(watcher);
    };
    if (event.type === 'created' || event.type === 'data-changed') {
      take(this.watches.data);
      take(this.watches.exist);
    } else if (event.type === 'deleted') {
      take(this.watches.data);
      take(this.watches.exist);
      take(this.watches.child);
    } else take(this.watches.child);
    for (const watcher of fired) watcher(event);
  }

  // ---- connection loss, pings, read timeout ----

  private scheduleTick(): void {
    this.tickTimer?.cancel();
    const periodMs = Math.max(10, this.negotiatedMs / 6);
    this.tickTimer = this.world.setTimer(this.processId, periodMs, () => {
      this.tickTimer = null;
      if (this.state !== 'connected' || !this.connection) return;
      const now = this.world.now();
      if (this.backend === 'zookeeper' && now - this.lastReceivedAt >= (this.negotiatedMs * 2) / 3) {
        return this.connectionLost('read timeout (the C client)');
      }
      if (now - this.lastSentAt >= this.negotiatedMs / 3) {
        this.lastSentAt = now;
        this.world.send(this.connection, { kind: 'ping' });
      }
      this.scheduleTick();
    });
  }

  /** The connection is gone: requests in flight fail, the client reconnects to the same session. */
  private connectionLost(why: string): void {
    const connection = this.connection;
    if (!connection) return;
    this.connection = null;
    this.tickTimer?.cancel();
    this.tickTimer = null;
    this.world.closeConnection(connection, why);
    const wasConnected = this.state === 'connected';
    if (this.state === 'connected') this.state = 'connecting';
    this.failPending('CONNECTION_LOSS', this.backend === 'zookeeper');
    if (this.state !== 'connecting') return;
    if (wasConnected) this.emit('state', 'disconnected');
    const delayMs = Math.floor(this.world.random() * 200);
    this.attemptTimer?.cancel();
    this.attemptTimer = this.world.setTimer(this.processId, delayMs, () => this.attempt());
  }

  /** Fails what was sent; `queuedToo` for the C client, which also fails what it had not sent yet. */
  private failPending(code: ZooKeeperErrorCode, queuedToo: boolean): void {
    const keep = new Set(queuedToo ? [] : this.queued.map((entry) => entry.xid));
    if (queuedToo) this.queued.length = 0;
    for (const [xid, pending] of [...this.pending]) {
      if (keep.has(xid)) continue;
      this.pending.delete(xid);
      this.failed(pending.operation, code);
      pending.reject(this.world.errorFor(code, pending.operation.op, pending.operation.path));
    }
  }

  /**
   * Counts a failure of one request (the same operation on the same path, failing the same
   * way) within the last `repeatWindowMs`; the most repeated one is the storm check's. A race
   * lost (NODE_EXISTS) is an answer, not a failure.
   */
  private failed(operation: Operation, code: ZooKeeperErrorCode): void {
    if (code === 'NODE_EXISTS') return;
    const now = this.world.now();
    const key = `${operation.op} ${operation.path} ${code}`;
    let times = this.failures.get(key);
    if (!times) this.failures.set(key, (times = []));
    times.push(now);
    while (times[0]! <= now - repeatWindowMs) times.shift();
    if (times.length > (this.mostRepeated?.count ?? 0) || this.mostRepeated?.key === key) this.mostRepeated = { key, count: times.length };
  }

  private die(code: ZooKeeperErrorCode): void {
    this.state = 'dead';
    this.tickTimer?.cancel();
    this.attemptTimer?.cancel();
    this.queued.length = 0;
    this.failPending(code, true);
    for (const table of Object.values(this.watches)) table.clear();
  }

  /** The process was killed: nothing more happens, nobody is told. */
  crash(): void {
    const connection = this.connection;
    this.connection = null;
    this.state = 'dead';
    this.tickTimer?.cancel();
    this.attemptTimer?.cancel();
    if (connection) this.world.closeConnection(connection, 'process killed');
  }
}
