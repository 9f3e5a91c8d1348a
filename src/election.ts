import { EventEmitter } from 'eventemitter3';
import { hostname } from 'node:os';
import { encodePayload, validateId } from './candidate.js';
import type { AclEntry, BackendName, DigestAuth, WatchEvent } from './client/types.js';
import { openAcl } from './client/types.js';
import {
  InvalidArgumentError,
  InvalidStateError,
  SessionClosedError,
  ZkLeaderError,
  isConnectionError,
  isZooKeeperError,
} from './errors.js';
import { silentLogger, type Logger } from './logger.js';
import {
  candidateNameStem,
  joinPath,
  newGuid,
  validatePath,
  validatePrefix,
} from './paths.js';
import { readLeader, readParticipant, readParticipants, readQueue, type LeaderInfo, type Participant } from './queue.js';
import { CoalescingRunner } from './coalesce.js';
import { Session, sharedSession, type SessionEvents, type SessionOptions } from './session.js';
import { WatchSet } from './watches.js';

/** Why a leadership term ended. */
export type LossReason = 'suspended' | 'expired' | 'resigned' | 'stopped' | 'node-deleted' | 'session-closed';

export interface ElectedEvent {
  fencingToken: bigint;
  /** Aborts the moment this leadership term ends, for any reason. */
  signal: AbortSignal;
}

export interface LeaderElectionEvents {
  elected: [event: ElectedEvent];
  lost: [event: { reason: LossReason }];
  follower: [event: { leader: LeaderInfo; position: number }];
  leader: [leader: LeaderInfo | null];
  suspended: [];
  reconnected: [];
  expired: [];
  stopped: [];
  error: [error: ZkLeaderError];
}

export interface LeaderElectionOptions {
  /** The election's znode; created with its parents if missing. */
  path: string;
  /** A connect string: the election owns a session of its own and closes it on `stop()`. */
  connect?: string;
  /** Or a shared Session, left open on `stop()`. */
  session?: Session;
  /** This participant's id. Default `<hostname>-<pid>`. */
  id?: string;
  /** JSON published with the candidacy (at most 1 MB), e.g. the address to reach the leader. */
  data?: unknown;
  /** For an own session. Default 10 000 ms. */
  sessionTimeoutMs?: number;
  /** For an own session. Default 15 000 ms. */
  connectTimeoutMs?: number;
  /** For an own session. Default 'node-zookeeper-client'. */
  backend?: BackendName;
  /** For an own session: digest credentials. */
  auth?: DigestAuth | DigestAuth[];
  /** ACL of the nodes this election creates. Default open (world:anyone). */
  acl?: readonly AclEntry[];
  /**
   * `release` (default): leadership ends as soon as the connection is suspended, so the old
   * leader has stopped before the server can expire its session and elect another.
   * `hold`: leadership ends only when the session is known to be lost.
   */
  onSuspend?: 'release' | 'hold';
  /** Wait this long after winning before `elected`, so an old leader can finish. Default 0. */
  takeoverDelayMs?: number;
  /** Followers emit `leader` on every change: one extra watch (on the election node's data) each. */
  trackLeader?: boolean;
  /** Stop cleanly (hand over at once) on these signals; `true` means SIGTERM and SIGINT. */
  releaseOnSignals?: boolean | NodeJS.Signals[];
  /** Prefix of this participant's znode name (letters, digits, '_', '.'). Default ''. */
  prefix?: string;
  logger?: Logger;
}

type ElectionState = 'idle' | 'running' | 'stopping' | 'stopped';

interface OwnNode {
  name: string;
  path: string;
  fencingToken: bigint;
  /** The session generation the node was created in: it dies with that session. */
  generation: number;
}

interface Term {
  fencingToken: bigint;
  controller: AbortController;
  announced: boolean;
  delayTimer: NodeJS.Timeout | null;
}

/** The reason a leadership signal aborts with. */
export class LeadershipLostError extends ZkLeaderError {
  constructor(readonly reason: LossReason) {
    super('LEADERSHIP_LOST', `leadership ended: ${reason}`);
  }
}

const retryDelayMs = 250;

/**
 * Leader election on a ZooKeeper path: ephemeral-sequential candidates, each watching only its
 * predecessor. One serialized evaluation loop decides; every watch and reply is stamped with
 * the candidacy epoch and session generation it belongs to, and stale ones are dropped.
 */
export class LeaderElection extends EventEmitter<LeaderElectionEvents> {
  readonly path: string;
  readonly id: string;
  private readonly ownsSession: boolean;
  /** A shared session, or (for an own session) made in start(): constructing connects nothing. */
  private sessionRef: Session | null = null;
  private readonly makeSession: () => Session;
  private readonly payload: Buffer;
  private readonly acl: readonly AclEntry[];
  private readonly onSuspend: 'release' | 'hold';
  private readonly takeoverDelayMs: number;
  private readonly trackLeader: boolean;
  private readonly prefix: string;
  private readonly signals: NodeJS.Signals[];
  private readonly logger: Logger;

  private state: ElectionState = 'idle';
  /** Bumped whenever earlier watches and in-flight evaluations must be ignored. */
  private epoch = 0;
  private node: OwnNode | null = null;
  /** The GUID our node is (to be) created with, and in which session generation. */
  private candidacy: { guid: string; generation: number; mayExist: boolean } | null = null;
  /** A node left by an expired session: deleted once a new session is up, to hand over sooner. */
  private orphanedNodePath: string | null = null;
  /** The leader node and position last reported by `follower`. */
  private lastFollowerKey: string | null = null;
  private term: Term | null = null;
  private readonly evaluations = new CoalescingRunner(
    () => this.evaluate().catch((error: unknown) => this.onEvaluationError(error)),
    () => this.state === 'running',
  );
  private retryTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;
  private lastLeaderToken: bigint | null = null;
  /** The epoch:generation of the active watch on the leader record, so only one is set. */
  private leaderRecordWatch: string | null = null;
  /** Watches set and not yet fired, by epoch:generation:path. */
  private readonly activeWatches = new WatchSet();
  private detachSession: () => void = () => {};
  private readonly signalHandlers = new Map<NodeJS.Signals, () => void>();
  private firstJoin: { resolve: () => void; reject: (error: unknown) => void } | null = null;

  constructor(options: LeaderElectionOptions) {
    super();
    if (!options || typeof options !== 'object') throw new InvalidArgumentError('LeaderElection needs an options object with path and connect (or session)');
    this.path = validatePath(options.path, 'path');
    this.id = validateId(options.id ?? `${hostname()}-${process.pid}`);
    this.payload = encodePayload({ id: this.id, data: options.data });
    this.acl = options.acl ?? openAcl;
    this.onSuspend = options.onSuspend ?? 'release';
    if (this.onSuspend !== 'release' && this.onSuspend !== 'hold') {
      throw new InvalidArgumentError(`onSuspend must be 'release' or 'hold': got ${JSON.stringify(options.onSuspend)}`);
    }
    this.takeoverDelayMs = options.takeoverDelayMs ?? 0;
    if (typeof this.takeoverDelayMs !== 'number' || !(this.takeoverDelayMs >= 0)) {
      throw new InvalidArgumentError(`takeoverDelayMs must be a number >= 0: got ${JSON.stringify(options.takeoverDelayMs)}`);
    }
    this.trackLeader = options.trackLeader ?? false;
    this.prefix = validatePrefix(options.prefix ?? '');
    this.signals = options.releaseOnSignals === true ? ['SIGTERM', 'SIGINT'] : options.releaseOnSignals || [];
    this.logger = options.logger ?? silentLogger;
    const shared = sharedSession(options);
    if (shared) {
      this.makeSession = () => shared;
      this.ownsSession = false;
    } else if (options.connect !== undefined) {
      const sessionOptions: SessionOptions = {
        connect: options.connect,
        ...(options.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: options.sessionTimeoutMs } : {}),
        ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
        ...(options.backend !== undefined ? { backend: options.backend } : {}),
        ...(options.auth !== undefined ? { auth: options.auth } : {}),
        logger: this.logger,
      };
      // Validate now, so a bad connect string fails at construction; connect in start().
      Session.validateOptions(sessionOptions);
      this.makeSession = () => new Session(sessionOptions);
      this.ownsSession = true;
    } else {
      throw new InvalidArgumentError("LeaderElection needs connect (e.g. '127.0.0.1:2181') or session");
    }
  }

  /** The session this election runs on; available once `start()` was called. */
  get session(): Session {
    if (!this.sessionRef) throw new InvalidStateError('the election has no session before start()');
    return this.sessionRef;
  }

  /** Whether this participant leads now (after any takeover delay). */
  get isLeader(): boolean {
    return this.term?.announced === true;
  }

  /** The current term's fencing token, or null when not leading. */
  get fencingToken(): bigint | null {
    return this.isLeader ? this.term!.fencingToken : null;
  }

  /** This participant's znode name, once it has joined. */
  get nodeName(): string | null {
    return this.node?.name ?? null;
  }

  private attachToSession(): () => void {
    const session = this.session;
    const onSuspended = () => {
      if (this.state !== 'running') return;
      this.emit('suspended');
      if (this.onSuspend === 'release') this.endTerm('suspended');
    };
    const onReconnected = () => {
      if (this.state !== 'running') return;
      this.emit('reconnected');
      this.requestEvaluation();
    };
    const onExpired = () => {
      if (this.state !== 'running') return;
      this.epoch += 1;
      this.emit('expired');
      this.endTerm('expired');
      this.orphanedNodePath = this.node?.path ?? null;
      this.node = null;
      this.lastFollowerKey = null;
    };
    const onConnected = () => {
      if (this.state === 'running') this.requestEvaluation();
    };
    const onClosed = () => {
      if (this.state === 'running') void this.finish('session-closed');
    };
    const onError = (error: ZkLeaderError) => {
      if (this.state === 'running') this.emit('error', error);
    };
    const handlers = {
      suspended: onSuspended,
      reconnected: onReconnected,
      expired: onExpired,
      connected: onConnected,
      closed: onClosed,
      error: onError,
    } as const;
    for (const [event, handler] of Object.entries(handlers)) session.on(event as keyof SessionEvents, handler as () => void);
    return () => {
      for (const [event, handler] of Object.entries(handlers)) session.off(event as keyof SessionEvents, handler as () => void);
    };
  }

  /**
   * Joins the election. Resolves once this participant's candidacy is in place (it may already
   * lead); rejects with a clear error for an unreachable server or a path it may not use.
   */
  async start(): Promise<void> {
    if (this.state !== 'idle') {
      throw new InvalidStateError(`start() was already called (the election is ${this.state}): create a new LeaderElection to join again`);
    }
    this.state = 'running';
    this.sessionRef = this.makeSession();
    this.detachSession = this.attachToSession();
    for (const signal of this.signals) {
      const handler = () => void this.releaseOnSignal(signal);
      this.signalHandlers.set(signal, handler);
      process.once(signal, handler);
    }
    const joined = new Promise<void>((resolve, reject) => {
      this.firstJoin = { resolve, reject };
    });
    try {
      await this.session.ready();
      this.requestEvaluation();
      // The first join's errors (NoAuth, a path under an ephemeral node) reach the caller.
      await joined;
    } catch (error) {
      this.firstJoin = null;
      await this.finish('stopped');
      throw error;
    }
  }

  private async releaseOnSignal(signal: NodeJS.Signals): Promise<void> {
    await this.stop();
    // Hand the signal on to its default action unless the application handles it too.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  }

  /** Marks the election for (re-)evaluation; one evaluation runs at a time. */
  private requestEvaluation(): void {
    void this.evaluations.request();
  }

  private onEvaluationError(error: unknown): void {
    if (this.state !== 'running') return;
    if (error instanceof SessionClosedError) return;
    if (isConnectionError(error)) {
      // The session's reconnected/connected event asks for the next evaluation.
      this.logger.debug({ err: error }, 'zk-leader: evaluation interrupted by the connection');
      if (this.session.state === 'connected') this.retrySoon();
      return;
    }
    const wrapped = error instanceof ZkLeaderError ? error : new ZkLeaderError('UNEXPECTED', String((error as Error)?.message ?? error), { cause: error });
    if (this.firstJoin) {
      this.firstJoin.reject(wrapped);
      return;
    }
    this.logger.error({ err: wrapped, path: this.path }, 'zk-leader: election step failed');
    this.emit('error', wrapped);
    // NoAuth and bad ACLs will not heal by retrying fast; other errors get a short pause.
    this.retrySoon(isZooKeeperError(error, 'NO_AUTH', 'INVALID_ACL') ? 5000 : retryDelayMs);
  }

  private retrySoon(delayMs = retryDelayMs): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.requestEvaluation();
    }, delayMs);
  }

  /** True when something happened since `epoch`/`generation` were read: drop the result. */
  private isStale(epoch: number, generation: number): boolean {
    return epoch !== this.epoch || generation !== this.session.generation || this.state !== 'running';
  }

  private async evaluate(): Promise<void> {
    if (this.session.state !== 'connected') return;
    const generation = this.session.generation;
    if (!this.node || this.node.generation !== generation) await this.join(generation);
    const node = this.node;
    const epoch = this.epoch;
    if (!node || this.isStale(epoch, generation)) return;

    // An empty queue also covers an election node deleted by an operator: ours went with it.
    const queue = await readQueue(this.session, this.path);
    if (this.isStale(epoch, generation)) return;
    const position = queue.findIndex((candidate) => candidate.name === node.name);
    if (position < 0) return this.onOwnNodeGone();
    if (position === 0) return this.confirmLeadership(node, epoch, generation);

    // Someone is ahead of us: whatever we believed, we do not lead.
    this.endTerm('node-deleted');
    const predecessor = queue[position - 1]!;
    const leader = await readParticipant(this.session, this.path, queue[0]!);
    if (this.isStale(epoch, generation)) return;
    if (!leader) return this.requestEvaluation();
    const wasLeader = position === 1;
    const stat = await this.watchNode(joinPath(this.path, predecessor.name), epoch, generation, (event) =>
      this.onPredecessorEvent(event, epoch, generation, wasLeader),
    );
    if (this.isStale(epoch, generation)) return;
    // Gone between the listing and the watch: re-list rather than wait for nothing.
    if (!stat) return this.requestEvaluation();
    // Re-evaluations that change nothing (a reconnect, a repeated trigger) stay quiet.
    const followerKey = `${leader.node}:${position}`;
    if (followerKey !== this.lastFollowerKey) {
      this.lastFollowerKey = followerKey;
      this.emit('follower', { leader, position });
    }
    if (this.trackLeader) await this.watchLeaderRecord(epoch, generation);
  }

  /** `exists` with a watch, setting at most one watch per node and candidacy. */
  private async watchNode(path: string, epoch: number, generation: number, onEvent: (event: WatchEvent) => void) {
    const scope = `${epoch}:${generation}:`;
    // Watches of earlier candidacies are ignored when they fire: forget them now.
    this.activeWatches.retain((key) => key.startsWith(scope));
    const key = scope + path;
    const watcher = this.activeWatches.watcher(key, onEvent);
    try {
      const stat = await this.session.exists(path, watcher);
      if (!stat && watcher) this.activeWatches.release(key);
      return stat;
    } catch (error) {
      if (watcher) this.activeWatches.release(key);
      throw error;
    }
  }

  private onOwnNodeGone(): void {
    this.logger.info({ path: this.path, node: this.node?.name }, 'zk-leader: our node is gone, volunteering again');
    this.endTerm('node-deleted');
    this.node = null;
    this.candidacy = null;
    this.lastFollowerKey = null;
    this.requestEvaluation();
  }

  private onPredecessorEvent(event: WatchEvent, epoch: number, generation: number, wasLeader: boolean): void {
    if (this.isStale(epoch, generation)) return;
    // The predecessor led at our last listing and its deletion reached us over this very
    // session: nobody can be ahead of us (sequence numbers only grow), so we lead now and
    // confirm our own node in the evaluation that follows.
    if (event.type === 'deleted' && wasLeader && this.session.state === 'connected' && this.node?.generation === generation) {
      // A listing already on its way may predate the deletion (its reply can arrive in the
      // same read): it must not end the term we are granting now.
      this.epoch += 1;
      this.grant(this.node.fencingToken);
    }
    this.requestEvaluation();
  }

  /** Lowest in the queue: check that our node is still ours in THIS session, then lead. */
  private async confirmLeadership(node: OwnNode, epoch: number, generation: number): Promise<void> {
    const stat = await this.watchNode(node.path, epoch, generation, (event) => {
      if (event.type === 'deleted' && !this.isStale(epoch, generation)) this.onOwnNodeGone();
    });
    if (this.isStale(epoch, generation)) return;
    if (!stat || stat.ephemeralOwner !== this.session.sessionId) return this.onOwnNodeGone();
    this.grant(stat.czxid);
  }

  private grant(fencingToken: bigint): void {
    if (this.term) return;
    const term: Term = { fencingToken, controller: new AbortController(), announced: false, delayTimer: null };
    this.lastFollowerKey = null;
    this.term = term;
    const announce = () => {
      term.delayTimer = null;
      if (this.term !== term) return;
      term.announced = true;
      this.logger.info({ path: this.path, id: this.id, fencingToken: String(fencingToken) }, 'zk-leader: elected');
      this.emit('elected', { fencingToken, signal: term.controller.signal });
      void this.publishLeaderRecord(fencingToken).catch((error: unknown) =>
        this.logger.debug({ err: error }, 'zk-leader: could not publish the leader record'),
      );
    };
    if (this.takeoverDelayMs > 0) term.delayTimer = setTimeout(announce, this.takeoverDelayMs);
    else announce();
  }

  private endTerm(reason: LossReason): void {
    const term = this.term;
    if (!term) return;
    this.term = null;
    if (term.delayTimer) clearTimeout(term.delayTimer);
    term.controller.abort(new LeadershipLostError(reason));
    if (term.announced) {
      this.logger.info({ path: this.path, id: this.id, reason }, 'zk-leader: leadership lost');
      this.emit('lost', { reason });
    }
  }

  /**
   * Creates our candidate node. A candidacy keeps its GUID until its node is known to be gone,
   * so a join interrupted after the create (reply lost, connection dropped) finds the node
   * again by that GUID instead of creating a second one.
   */
  private async join(generation: number): Promise<void> {
    const orphan = this.orphanedNodePath;
    if (orphan) {
      this.orphanedNodePath = null;
      await this.removeQuietly(orphan);
    }
    if (this.candidacy?.generation !== generation) this.candidacy = { guid: newGuid(), generation, mayExist: false };
    const candidacy = this.candidacy;
    let created: string | null = candidacy.mayExist ? await this.findByGuid(candidacy.guid) : null;
    while (!created) {
      candidacy.mayExist = true;
      try {
        created = await this.session.create(
          joinPath(this.path, candidateNameStem(this.prefix, candidacy.guid)),
          this.payload,
          'ephemeral-sequential',
          this.acl,
        );
      } catch (error) {
        if (isZooKeeperError(error, 'NO_NODE')) {
          await this.session.ensurePath(this.path, this.acl);
        } else if (isZooKeeperError(error, 'CONNECTION_LOSS', 'OPERATION_TIMEOUT')) {
          // The create may have succeeded on the server: look for our GUID before retrying.
          await this.session.whenConnected();
          if (this.session.generation !== generation) return;
          created = await this.findByGuid(candidacy.guid);
        } else {
          throw error;
        }
      }
    }
    const stat = await this.session.exists(created);
    if (this.state !== 'running' || this.session.generation !== generation) {
      // Stopped (or the session died) while the create was in flight: leave no orphan.
      await this.removeQuietly(created);
      return;
    }
    if (!stat) {
      // Deleted already (an operator): the next evaluation volunteers with a new candidacy.
      this.candidacy = null;
      return this.requestEvaluation();
    }
    this.node = { name: created.slice(this.path.length + 1), path: created, fencingToken: stat.czxid, generation };
    this.logger.debug({ path: this.path, node: this.node.name }, 'zk-leader: joined');
    this.firstJoin?.resolve();
    this.firstJoin = null;
  }

  private async findByGuid(guid: string): Promise<string | null> {
    try {
      const mine = (await this.session.getChildren(this.path)).find((name) => name.includes(guid));
      return mine ? joinPath(this.path, mine) : null;
    } catch (error) {
      if (isZooKeeperError(error, 'NO_NODE')) return null;
      throw error;
    }
  }

  // The leader record on the election node's data lets trackLeader followers learn of a
  // new leader with one watch each, without listing the children.
  private async publishLeaderRecord(fencingToken: bigint): Promise<void> {
    const node = this.node;
    if (!node) return;
    const record = { node: node.name, id: this.id, token: fencingToken.toString(), since: Date.now() };
    await this.session.setData(this.path, Buffer.from(JSON.stringify(record)));
  }

  private async watchLeaderRecord(epoch: number, generation: number): Promise<void> {
    const watchKey = `${epoch}:${generation}`;
    if (this.leaderRecordWatch === watchKey) return;
    this.leaderRecordWatch = watchKey;
    const { data } = await this.session.getData(this.path, (event) => {
      if (this.leaderRecordWatch === watchKey) this.leaderRecordWatch = null;
      if (event.type === 'data-changed' && !this.isStale(epoch, generation) && !this.isLeader) {
        void this.watchLeaderRecord(epoch, generation).catch((error: unknown) => this.onEvaluationError(error));
      }
    });
    if (this.isStale(epoch, generation)) return;
    const record = parseLeaderRecord(data);
    if (!record || (this.lastLeaderToken !== null && record.token <= this.lastLeaderToken)) return;
    this.lastLeaderToken = record.token;
    const leader = await readParticipant(this.session, this.path, record.node);
    if (!this.isStale(epoch, generation)) this.emit('leader', leader);
  }

  private async removeQuietly(path: string): Promise<void> {
    try {
      await this.session.remove(path);
    } catch (error) {
      if (!isZooKeeperError(error, 'NO_NODE')) this.logger.debug({ err: error, path }, 'zk-leader: could not remove a node');
    }
  }

  /** Deletes our node, retrying until it is gone or the session that owns it has ended. */
  private async removeOwnNode(node: OwnNode): Promise<void> {
    for (;;) {
      if (this.session.generation !== node.generation || this.session.state === 'closed') return;
      try {
        await this.session.whenConnected();
        if (this.session.generation !== node.generation) return;
        await this.session.remove(node.path);
        return;
      } catch (error) {
        if (isZooKeeperError(error, 'NO_NODE') || error instanceof SessionClosedError) return;
        if (!isZooKeeperError(error, 'CONNECTION_LOSS', 'OPERATION_TIMEOUT')) throw error;
      }
    }
  }

  /**
   * Gives up leadership now and queues again at the back. A no-op (resolving false) when this
   * participant does not lead.
   */
  async resign(): Promise<boolean> {
    if (this.state !== 'running' || !this.term) return false;
    this.epoch += 1;
    const node = this.node;
    this.node = null;
    this.candidacy = null;
    this.endTerm('resigned');
    if (node) await this.removeOwnNode(node);
    this.requestEvaluation();
    return true;
  }

  /**
   * Leaves the election: ends leadership (`lost` with reason 'stopped'), deletes our node,
   * closes our own session (a shared one stays open), emits `stopped`. Resolves when our node
   * is gone. Calling it again, or before `start()`, is a no-op.
   */
  stop(): Promise<void> {
    if (this.state === 'idle' || this.state === 'stopped') {
      this.state = 'stopped';
      return this.stopping ?? Promise.resolve();
    }
    return this.finish('stopped');
  }

  private finish(reason: LossReason): Promise<void> {
    if (this.stopping) return this.stopping;
    this.state = 'stopping';
    this.epoch += 1;
    this.stopping = (async () => {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = null;
      for (const [signal, handler] of this.signalHandlers) process.off(signal, handler);
      this.signalHandlers.clear();
      this.endTerm(reason);
      // An evaluation still in flight drops its results (the epoch moved on), and a create
      // that completes after this point deletes its node itself.
      const node = this.node;
      this.node = null;
      const connected = this.session.state === 'connected';
      if (node && (connected || !this.ownsSession) && this.session.state !== 'closed') {
        // Bounded: past one session timeout the server has dropped the node anyway.
        await withTimeout(this.removeOwnNode(node), this.session.sessionTimeoutMs).catch((error: unknown) =>
          this.emit('error', error as ZkLeaderError),
        );
      }
      this.detachSession();
      if (this.ownsSession) await this.session.close();
      this.state = 'stopped';
      this.emit('stopped');
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Resolves with the next (or current) term; rejects if the election stops first. */
  waitForLeadership(signal?: AbortSignal): Promise<ElectedEvent> {
    if (this.isLeader) return Promise.resolve({ fencingToken: this.term!.fencingToken, signal: this.term!.controller.signal });
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        this.off('elected', onElected);
        this.off('stopped', onStopped);
        signal?.removeEventListener('abort', onAbort);
      };
      const onElected = (event: ElectedEvent) => {
        cleanup();
        resolve(event);
      };
      const onStopped = () => {
        cleanup();
        reject(new InvalidStateError('the election stopped before this participant was elected'));
      };
      const onAbort = () => {
        cleanup();
        reject(signal?.reason);
      };
      if (this.state === 'stopped' || this.state === 'stopping') return onStopped();
      this.on('elected', onElected);
      this.on('stopped', onStopped);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Runs `work` each time this participant leads, with a signal that aborts when the term
   * ends; loops until the election stops. When `work` returns (or throws) while still leading,
   * leadership is handed on (`resign()`), as Curator's LeaderSelector does. Starts the
   * election if needed; resolves when the election has stopped.
   */
  async runWhileLeader(work: (signal: AbortSignal, term: { fencingToken: bigint }) => Promise<void> | void): Promise<void> {
    if (this.state === 'idle') await this.start();
    while (this.state === 'running') {
      let term: ElectedEvent;
      try {
        term = await this.waitForLeadership();
      } catch {
        return;
      }
      // The term may have ended between the election and this turn of the loop.
      if (term.signal.aborted) continue;
      try {
        await work(term.signal, { fencingToken: term.fencingToken });
      } catch (error) {
        if (!term.signal.aborted) {
          this.emit('error', new ZkLeaderError('LEADER_WORK_FAILED', `the leader's work failed: ${(error as Error)?.message ?? error}`, { cause: error }));
        }
      }
      if (!term.signal.aborted) await this.resign();
    }
  }

  /** The current leader, read from ZooKeeper now; null when nobody leads. */
  getLeader(): Promise<LeaderInfo | null> {
    return readLeader(this.session, this.path);
  }

  /** Every participant in queue order, the leader first, read from ZooKeeper now. */
  participants(): Promise<Participant[]> {
    return readParticipants(this.session, this.path);
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function parseLeaderRecord(data: Buffer): { node: string; token: bigint } | null {
  try {
    const record = JSON.parse(data.toString('utf8')) as { node?: unknown; token?: unknown };
    if (typeof record.node === 'string' && typeof record.token === 'string') return { node: record.node, token: BigInt(record.token) };
  } catch {
    // empty or foreign data: no record yet
  }
  return null;
}

