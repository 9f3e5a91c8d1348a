import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { Clock, TimerHandle } from '../../src/clock.js';
import type { ClientOptions, BackendName } from '../../src/client/types.js';
import type { Runtime } from '../../src/runtime.js';
import { ZooKeeperError, type ZooKeeperErrorCode } from '../../src/errors.js';
import { Connection, type ClientEndpoint, type InFlight, type Operation, type Result, type ToClient, type ToServer } from './network.js';
import { Random } from './random.js';
import { SimClient, type ClientWorld } from './sim-client.js';
import { ModelError, ZooKeeperModel, maxRequestBytes, requestBytes, type Caller, type ModelNode, type TreeView } from './zookeeper-model.js';

/**
 * The simulated world: one virtual clock, the ZooKeeper model, the network between it and
 * every client, and the processes the clients live in. It is a discrete-event simulation:
 * each step takes the earliest thing due (a message, a timer, a planned event, a session
 * deadline), picking by the seed among things due at the same instant, runs it, and lets
 * every promise it settled run to completion before the next step. Nothing in it reads the
 * real clock or Node's timers, so a seed replays exactly.
 */

export interface SimProcess {
  id: number;
  /** SIGSTOP: no timer fires and nothing is read until it resumes. */
  paused: boolean;
  resumedAt: number;
  /** kill -9: gone for good. */
  crashed: boolean;
  /** Nothing crosses the network either way (packets held, not lost). */
  partitioned: boolean;
  /** Server-to-client traffic held (replies and events late), requests still arrive. */
  repliesHeld: boolean;
  /** Each connect the server answers is answered this late, and that client's requests are then held this long. */
  slowHandshake: { delayMs: number; silentMs: number } | null;
  /** The next create one of its clients sends is applied and its reply lost: the connection breaks. */
  loseNextCreateReply: boolean;
}

interface Timer {
  id: number;
  at: number;
  processId: number;
  callback: () => void;
  cancelled: boolean;
}

/** Latency of one message: mostly nothing, sometimes a little, rarely a lot. */
function latency(random: Random): number {
  const roll = random.next();
  if (roll < 0.3) return 0;
  if (roll < 0.75) return random.int(1, 5);
  if (roll < 0.95) return random.int(6, 40);
  return random.int(41, 250);
}

export const worldProcessId = -1;

export class World implements ClientWorld {
  private time = 0;
  readonly model: ZooKeeperModel;
  readonly processes = new Map<number, SimProcess>();
  readonly connections = new Map<number, Connection>();
  readonly clients: SimClient[] = [];
  private readonly timers = new Map<number, Timer>();
  private nextTimerId = 1;
  private nextConnectionId = 1;
  /** Scheduling choices: latencies, ties, reconnect delays, whether a request in flight was applied. */
  readonly scheduling: Random;
  /** What the library draws (GUIDs, jitter). */
  private readonly library: Random;
  readonly lines: string[] | null;
  /** Who created each node and whom it names (its payload's id), for the invariants. */
  readonly nodeIds = new Map<string, string>();
  /** Hears of every deletion, with who made it (a session id, 'operator', 'expiry of ...'). */
  onDelete: ((node: ModelNode, by: string) => void) | null = null;
  /** Hears of every creation (after the node is in the tree). */
  onCreate: ((node: ModelNode) => void) | null = null;
  /** When the world last broke something by itself (a lost create reply), for the quiet spells. */
  faultAt = 0;
  /** How long a follower a reconnect lands on lags behind (null: every server is up to date). */
  followerLagMs: number | null = null;
  /** The tree as of each client's last break: where its next connection's follower stands. */
  private readonly staleViews = new Map<SimClient, TreeView>();
  /** Clients whose traffic to the server a stalled proxy holds (after a slow handshake). */
  readonly stalled = new Set<ClientEndpoint>();
  /** Who last deleted each path (a session id, 'operator', 'expiry of ...'). */
  readonly deletedBy = new Map<string, string>();
  /** Nodes an operator deleted, with when. */
  readonly operatorDeleted = new Map<string, number>();
  /** The czxids of the nodes an operator deleted (a fixed name is made again with a new one). */
  readonly operatorDeletedCzxids = new Set<bigint>();
  /** How a delivery to a client runs (the legacy shim runs it in its process's async context). */
  deliverTo: (client: SimClient, deliver: () => void) => void = (_client, deliver) => deliver();
  /** The error a failed request rejects with: the library's own ZooKeeperError. */
  errorFor: (code: ZooKeeperErrorCode, operation: string, path: string, detail?: string) => Error = (code, operation, path, detail) =>
    new ZooKeeperError(code, operation, path, detail);
  /** What a timer runs (the legacy shim keeps the async context of whoever set it). */
  wrapTimer: (callback: () => void) => () => void = (callback) => callback;

  constructor(seed: number, traced: boolean) {
    this.scheduling = new Random(seed, 1);
    this.library = new Random(seed, 2);
    this.lines = traced ? [] : null;
    this.model = new ZooKeeperModel(() => this.time, {
      notify: (connectionId, event) => {
        const connection = this.connections.get(connectionId);
        if (connection?.open) this.deliverLater(connection, { kind: 'event', type: event.type, path: event.path });
      },
      closeConnection: (connectionId) => this.serverCloses(connectionId),
      readerOf: (connectionId) => {
        const connection = this.connections.get(connectionId);
        return connection ? { sessionId: '', authIds: connection.authIds } : undefined;
      },
      changed: (kind, node, by) => {
        if (kind === 'created') {
          try {
            // A payload near the request limit: its id leads (the library writes {"id":...} first).
            const large = node.data.length > 4096 ? /^\{"id":("[^"]*")/.exec(node.data.subarray(0, 256).toString('utf8')) : null;
            const id = large ? (JSON.parse(large[1]!) as unknown) : (JSON.parse(node.data.toString('utf8')) as { id?: unknown }).id;
            if (typeof id === 'string') this.nodeIds.set(node.path, id);
          } catch {
            // Not JSON: a peer recipe's payload is the id itself (single-node), or another program's.
            const text = node.data.length < 64 ? node.data.toString('utf8') : '';
            if (/^p\d+\.\d+$/.test(text)) this.nodeIds.set(node.path, text);
            else this.nodeIds.delete(node.path);
          }
          this.onCreate?.(node);
        }
        if (kind === 'deleted') {
          this.deletedBy.set(node.path, by);
          this.onDelete?.(node, by);
        }
        if (kind === 'deleted' && by === 'operator') {
          this.operatorDeleted.set(node.path, this.time);
          this.operatorDeletedCzxids.add(node.czxid);
        }
        this.trace(`zk: ${kind} ${node.path}${kind === 'created' ? ` czxid=${node.czxid}` : ''} by ${by}`);
      },
    });
  }

  now(): number {
    return this.time;
  }

  trace(line: string): void {
    this.lines?.push(`${String(this.time).padStart(7)} ms  ${line}`);
  }

  random(): number {
    return this.scheduling.next();
  }

  microtaskHops(): number {
    return this.scheduling.chance(0.5) ? 0 : this.scheduling.int(1, 3);
  }

  // ---- processes and their runtime ----

  addProcess(): SimProcess {
    const process: SimProcess = {
      id: this.processes.size,
      paused: false,
      resumedAt: -Infinity,
      crashed: false,
      partitioned: false,
      repliesHeld: false,
      slowHandshake: null,
      loseNextCreateReply: false,
    };
    this.processes.set(process.id, process);
    return process;
  }

  setTimer(processId: number, delayMs: number, callback: () => void): { cancel(): void } {
    const timer: Timer = {
      id: this.nextTimerId++,
      at: this.time + Math.max(0, Math.floor(delayMs)),
      processId,
      callback: this.wrapTimer(callback),
      cancelled: false,
    };
    this.timers.set(timer.id, timer);
    return {
      cancel: () => {
        timer.cancelled = true;
        this.timers.delete(timer.id);
      },
    };
  }

  /** The clock a process's library code sees: virtual time, timers that stop while it is paused. */
  clockFor(processId: number): Clock {
    return {
      now: () => this.time,
      setTimeout: (callback, delayMs) => this.setTimer(processId, delayMs, callback) as unknown as TimerHandle,
      clearTimeout: (handle) => (handle as unknown as { cancel(): void } | null)?.cancel(),
    };
  }

  /** Everything the library takes from its surroundings, for one Session; `onClient` hears of each client it makes. */
  runtimeFor(processId: number, label: string, onClient: (client: SimClient) => void): Runtime {
    return {
      clock: this.clockFor(processId),
      random: () => this.library.next(),
      newGuid: () => this.library.hex32(),
      createClient: (backend: BackendName, options: ClientOptions) => {
        const client = new SimClient(this, processId, backend, options, `${label}#${this.clients.length}`);
        this.clients.push(client);
        onClient(client);
        return client;
      },
    };
  }

  // ---- the network ----

  openConnection(client: SimClient): Connection | null {
    const process = this.processes.get(client.processId)!;
    if (process.partitioned || process.crashed) return null;
    const connection = new Connection(this.nextConnectionId++, client.processId, client);
    this.connections.set(connection.id, connection);
    const view = this.staleViews.get(client);
    if (view && this.followerLagMs !== null) {
      // The reconnect lands on a follower that has not applied what happened since the break.
      this.staleViews.delete(client);
      connection.lag = { view, watches: { data: [], exist: [], child: [] } };
      this.trace(`net: connection ${connection.id} of ${client.label} lands on a follower at zxid ${view.zxid} (the leader is at ${this.model.zxid})`);
      this.setTimer(worldProcessId, this.followerLagMs, () => this.catchUp(connection, 'in its own time'));
    }
    return connection;
  }

  /** The follower behind `connection` has applied everything: the watches its stale reads set fire for what it missed. */
  private catchUp(connection: Connection, why: string): void {
    const lag = connection.lag;
    if (!lag) return;
    connection.lag = null;
    this.trace(`net: the follower of connection ${connection.id} caught up (${why})`);
    if (connection.open) this.model.setWatches(connection.id, lag.view.zxid, lag.watches);
  }

  send(connection: Connection, message: ToServer): void {
    if (!connection.open) return;
    this.enqueue(connection.toServer, message);
  }

  private deliverLater(connection: Connection, message: ToClient): void {
    this.enqueue(connection.toClient, message);
  }

  private enqueue<T>(queue: InFlight<T>[], message: T, extraMs = 0): void {
    const previous = queue.length > 0 ? queue[queue.length - 1]!.at : 0;
    queue.push({ at: Math.max(previous, this.time + latency(this.scheduling) + extraMs), message });
  }

  /** The client end closes: requests still on the wire may or may not reach the server. */
  closeConnection(connection: Connection, why: string): void {
    if (!this.connections.has(connection.id)) return;
    this.trace(`net: ${connection.endpoint.label} connection ${connection.id} closed by the client (${why})`);
    if (connection.open) this.settleOnTheWire(connection, 'as the connection closed');
    this.forget(connection);
  }

  /** Requests still on the wire when a connection goes: each reached the server, or not; nobody hears the answer. */
  private settleOnTheWire(connection: Connection, when: string): void {
    // Held by a stalled proxy: those never reach the server.
    if (this.stalled.has(connection.endpoint)) connection.toServer.length = 0;
    for (const { message } of connection.toServer.splice(0)) {
      if ((message.kind === 'request' || message.kind === 'close-session') && this.scheduling.chance(0.5)) {
        this.trace(`net: ${message.kind === 'request' ? `${message.operation.op} ${message.operation.path}` : 'close-session'} reached the server ${when}`);
        this.serve(connection, message, false);
      }
    }
  }

  /** The server closes (session ended): what it sent before still arrives, then the close. */
  private serverCloses(connectionId: number): void {
    const connection = this.connections.get(connectionId);
    if (!connection?.open) return;
    connection.toServer.length = 0;
    this.deliverLater(connection, { kind: 'closed' });
    connection.open = false;
    this.model.dropWatches(connection.id);
  }

  private forget(connection: Connection): void {
    connection.open = false;
    connection.toServer.length = 0;
    connection.toClient.length = 0;
    this.connections.delete(connection.id);
    this.model.dropWatches(connection.id);
    const session = connection.sessionId ? this.model.sessions.get(connection.sessionId) : undefined;
    if (session?.connection === connection.id) session.connection = null;
  }

  /** The server handles one message from `connection`; `reply` false when nobody can hear the answer. */
  private serve(connection: Connection, message: ToServer, reply = true): void {
    const answer = (response: ToClient) => {
      if (reply && connection.open) this.deliverLater(connection, response);
    };
    if (message.kind === 'connect') return this.handshake(connection, message, answer);
    const sessionId = connection.sessionId;
    if (!sessionId || !this.model.live(sessionId)) return;
    if (message.kind === 'request' && requestBytes(message.operation) > maxRequestBytes) {
      // The server reads the length first and drops the connection (the session lives on).
      this.trace(
        `zk: ${message.operation.op} ${message.operation.path} of ${requestBytes(message.operation)} bytes is over jute.maxbuffer: connection ${connection.id} closed`,
      );
      const session = this.model.sessions.get(sessionId);
      if (session?.connection === connection.id) session.connection = null;
      this.serverCloses(connection.id);
      return;
    }
    this.model.touch(sessionId);
    const caller: Caller = { sessionId, authIds: connection.authIds };
    switch (message.kind) {
      case 'ping':
        return answer({ kind: 'pong' });
      case 'auth':
        connection.authIds.push(message.id);
        return;
      case 'set-watches':
        return this.model.setWatches(connection.id, message.lastZxid, message);
      case 'close-session':
        answer({ kind: 'reply', xid: message.xid, zxid: this.model.zxid });
        this.model.endSession(sessionId, 'closed');
        return;
      case 'request': {
        const watch = reply && connection.open ? connection.id : null;
        const { operation } = message;
        const read = operation.op === 'exists' || operation.op === 'getData' || operation.op === 'getChildren';
        if (connection.lag && read) {
          const { view, watches } = connection.lag;
          try {
            const result = this.model.readFrom(view, caller, operation.op, operation.path);
            if (operation.watch && watch !== null) {
              const list = operation.op === 'getChildren' ? watches.child : operation.op === 'getData' || result ? watches.data : watches.exist;
              list.push(operation.path);
            }
            answer({ kind: 'reply', xid: message.xid, zxid: view.zxid, result });
          } catch (error) {
            if (!(error instanceof ModelError)) throw error;
            answer({ kind: 'reply', xid: message.xid, zxid: view.zxid, error: error.code });
          }
          return;
        }
        // A sync, or a write (its reply comes once the follower has applied it, and all before it).
        if (connection.lag) this.catchUp(connection, operation.op);
        const process = this.processes.get(connection.processId)!;
        if (operation.op === 'create' && process.loseNextCreateReply && watch !== null) {
          // Applied, and the connection breaks before the reply: a follower the reconnect lands on may not have it.
          process.loseNextCreateReply = false;
          const before = this.followerLagMs === null ? undefined : this.model.snapshot();
          try {
            this.apply(caller, operation, watch);
          } catch (error) {
            if (!(error instanceof ModelError)) throw error;
          }
          this.trace(`net: the reply to create ${operation.path} of ${connection.endpoint.label} is lost`);
          this.faultAt = this.time;
          this.breakConnections(connection.processId, before);
          return;
        }
        try {
          const result = this.apply(caller, message.operation, watch);
          answer({ kind: 'reply', xid: message.xid, zxid: this.model.zxid, result });
        } catch (error) {
          if (!(error instanceof ModelError)) throw error;
          if (error.code === 'NO_AUTH') this.trace(`zk: ${operation.op} ${operation.path} of ${connection.endpoint.label} refused: NO_AUTH`);
          answer({ kind: 'reply', xid: message.xid, zxid: this.model.zxid, error: error.code });
        }
      }
    }
  }

  private apply(caller: Caller, operation: Operation, watch: number | null): Result {
    const model = this.model;
    switch (operation.op) {
      case 'create':
        return model.create(caller, operation.path, operation.data, operation.mode, operation.acl);
      case 'delete':
        model.remove(caller, operation.path, operation.version);
        return undefined;
      case 'exists':
        return model.exists(caller, operation.path, operation.watch ? watch : null);
      case 'getData':
        return model.getData(caller, operation.path, operation.watch ? watch : null);
      case 'setData':
        return model.setData(caller, operation.path, operation.data, operation.version);
      case 'getChildren':
        return model.getChildren(caller, operation.path, operation.watch ? watch : null);
      case 'setAcl':
        model.setAcl(caller, operation.path, operation.acl);
        return undefined;
      case 'sync':
        return undefined;
    }
  }

  private handshake(connection: Connection, message: Extract<ToServer, { kind: 'connect' }>, answer: (response: ToClient) => void): void {
    let session = message.sessionId ? this.model.sessions.get(message.sessionId) : undefined;
    if (message.sessionId) {
      if (!session || session.state !== 'live') {
        answer({ kind: 'handshake-expired' });
        this.serverCloses(connection.id);
        return;
      }
      // A session moves to its newest connection; the server closes the old one.
      if (session.connection !== null && session.connection !== connection.id) {
        const old = session.connection;
        session.connection = null;
        this.serverCloses(old);
      }
    } else {
      session = this.model.createSession(message.timeoutMs);
      this.trace(`zk: session ${session.id} created (timeout ${session.timeoutMs} ms) for ${connection.endpoint.label}`);
    }
    session.connection = connection.id;
    session.lastHeardAt = this.time;
    connection.sessionId = session.id;
    const reply: ToClient = { kind: 'handshake', sessionId: session.id, password: session.password, timeoutMs: session.timeoutMs };
    const process = this.processes.get(connection.processId)!;
    const slow = process.slowHandshake;
    if (!slow || !connection.open) return answer(reply);
    // The session was refreshed now, at the request; its answer arrives late, and what the
    // client sends from here on (new connections too) is held by a stalled proxy: the server
    // hears nothing more from it.
    const client = connection.endpoint;
    this.stalled.add(client);
    this.trace(`net: the connect of ${client.label} answered ${slow.delayMs} ms late; its requests held for ${slow.silentMs} ms`);
    this.enqueue(connection.toClient, reply, slow.delayMs);
    this.setTimer(worldProcessId, slow.silentMs, () => this.stalled.delete(client));
  }

  // ---- faults ----

  /**
   * The network breaks a process's connections: requests on the wire may or may not have
   * reached the server, replies and events on the wire are lost, and the client learns of
   * the break the next time it reads.
   */
  breakConnections(processId: number, before?: TreeView): void {
    // Taken before what was on the wire is applied: the follower a reconnect lands on may not have it.
    if (this.followerLagMs !== null) {
      const view = before ?? this.model.snapshot();
      for (const client of this.clients) if (client.processId === processId) this.staleViews.set(client, view);
    }
    for (const connection of [...this.connections.values()]) {
      if (connection.processId !== processId || !connection.open) continue;
      this.trace(`net: connection ${connection.id} of ${connection.endpoint.label} broken`);
      this.settleOnTheWire(connection, 'before the break');
      connection.open = false;
      this.model.dropWatches(connection.id);
      const session = connection.sessionId ? this.model.sessions.get(connection.sessionId) : undefined;
      if (session?.connection === connection.id) session.connection = null;
      connection.toClient.length = 0;
      connection.toClient.push({ at: this.time, message: { kind: 'closed' } });
    }
  }

  crash(processId: number): void {
    const process = this.processes.get(processId)!;
    process.crashed = true;
    for (const client of this.clients) if (client.processId === processId) client.crash();
    for (const timer of this.timers.values()) if (timer.processId === processId) timer.cancelled = true;
  }

  // ---- the scheduler ----

  private deliverableToServer(connection: Connection): boolean {
    const process = this.processes.get(connection.processId)!;
    return connection.open && connection.toServer.length > 0 && !process.partitioned && !this.stalled.has(connection.endpoint);
  }

  private deliverableToClient(connection: Connection): boolean {
    const process = this.processes.get(connection.processId)!;
    return connection.toClient.length > 0 && !process.partitioned && !process.repliesHeld && !process.paused && !process.crashed;
  }

  /**
   * Runs the earliest thing due, or returns false when nothing is due at all.
   * `planned` is the time of the next planned event and runs it when it is the earliest.
   */
  async step(planned: { at: number; run: () => void } | null): Promise<boolean> {
    let earliest = Infinity;
    const due: (() => void)[] = [];
    const consider = (at: number, run: () => void) => {
      if (at > earliest) return;
      if (at < earliest) {
        earliest = at;
        due.length = 0;
      }
      due.push(run);
    };
    for (const timer of this.timers.values()) {
      if (timer.cancelled) continue;
      const process = this.processes.get(timer.processId);
      if (process && (process.paused || process.crashed)) continue;
      consider(Math.max(this.time, timer.at), () => {
        this.timers.delete(timer.id);
        if (!timer.cancelled) timer.callback();
      });
    }
    for (const connection of this.connections.values()) {
      if (this.deliverableToServer(connection)) {
        consider(Math.max(this.time, connection.toServer[0]!.at), () => this.serve(connection, connection.toServer.shift()!.message));
      }
      if (this.deliverableToClient(connection)) {
        // A Node process that resumes runs its overdue timers before it reads its sockets
        // (the event loop's timers phase comes before its poll phase).
        const resumedAt = this.processes.get(connection.processId)!.resumedAt;
        consider(Math.max(this.time, connection.toClient[0]!.at, resumedAt + 1), () => {
          // Sometimes one socket read carries several messages: the client handles them all
          // in one go, before any promise they settle runs on.
          // (Whatever arrived within a few milliseconds: the read happens when the last of it is in.)
          const window = this.scheduling.chance(0.5) ? this.scheduling.int(0, 5) : -1;
          const batch = window < 0 ? 1 : connection.toClient.filter((entry) => entry.at <= this.time + window).length;
          const messages = connection.toClient.splice(0, Math.max(1, batch));
          this.time = Math.max(this.time, ...messages.map((entry) => entry.at));
          if (connection.toClient.length === 0 && !connection.open) this.forget(connection);
          this.deliverTo(connection.endpoint as SimClient, () => {
            for (const { message } of messages) connection.endpoint.receive(connection, message);
          });
        });
      }
    }
    for (const session of this.model.sessions.values()) {
      if (session.state !== 'live') continue;
      consider(Math.max(this.time, this.model.expiryDeadline(session)), () => {
        if (session.state === 'live' && this.model.expiryDeadline(session) <= this.time) {
          this.trace(`zk: session ${session.id} expired (unheard since ${session.lastHeardAt} ms)`);
          this.model.endSession(session.id, 'expired');
        }
      });
    }
    if (planned) consider(Math.max(this.time, planned.at), planned.run);
    if (due.length === 0) return false;
    this.time = earliest;
    const run = due.length === 1 ? due[0]! : due[Math.floor(this.scheduling.next() * due.length)]!;
    run();
    // Every promise the step settled runs to completion before the next step.
    await nextMacrotask();
    return true;
  }
}
