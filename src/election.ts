import { hostname } from 'node:os';
import { Candidacy, type CandidacyEnd } from './candidacy.js';
import {
  candidateNameStem,
  encodePayload,
  readLeader,
  readParticipant,
  readParticipants,
  validateId,
  validatePrefix,
  type LeaderInfo,
  type Participant,
} from './candidate.js';
import type { AclEntry, BackendName } from './client/types.js';
import { Backoff, validateRetry, type RetryOptions } from './backoff.js';
import { CoalescingRunner } from './coalesce.js';
import { SafeEmitter } from './emitter.js';
import {
  InvalidArgumentError,
  InvalidStateError,
  abortReasonOf,
  SessionClosedError,
  ZkLeaderError,
  isConnectionError,
  isZooKeeperError,
  toZkLeaderError,
  type LossReason,
} from './errors.js';
import { sessionPart, type ElectionHealth } from './health.js';
import { electionChannel, publish, type ElectionMessage } from './instrument.js';
import { silentLogger, type Logger } from './logger.js';
import { checkCreateFits } from './limits.js';
import { joinPath, validatePath } from './paths.js';
import { validateLockName, validateRecipe, type RecipeName } from './recipes.js';
import type { Clock, TimerHandle } from './clock.js';
import { Session, sharedSession, type SessionHandlers, type SessionOptions, type SessionScope } from './session.js';
import type { Runtime } from './runtime.js';
import { eventStream } from './stream.js';
import { guardedMulti, notLeader, toMultiOps, type TransactionOp, type TransactionResult } from './transaction.js';
import { WatchAudit } from './watch-audit.js';
import { Looks } from './election/looks.js';
import {
  electionOptionNames,
  type ElectedEvent,
  type ElectionChange,
  type ElectionState,
  type FollowerEvent,
  type LeaderElectionEvents,
  type LeaderElectionInit,
  type LostEvent,
} from './election/options.js';
import { runWhileLeader } from './election/run-while-leader.js';
import { Terms, type Term, type TermHost } from './election/term.js';
import { LeaderRecordWatch, LeaderRecordWriter, type RecordWatchHost, type RecordWriterHost } from './election/record.js';
import { FollowerReports, type ReportsHost } from './election/reports.js';
import { Removals } from './election/removals.js';
import { Evaluation, type EvaluationHost } from './election/evaluation.js';
import { LeaderLease, type LeaseHost } from './election/lease.js';
import { livenessFractions } from './liveness.js';
import { validateAcl } from './acl.js';
import { rejectUnknownOptions, validateMs } from './options.js';
import { stopOnSignal, validateSignals } from './signals.js';

export { LeadershipLostError, type LossReason } from './errors.js';
export type {
  ElectedEvent,
  ElectionChange,
  FollowerEvent,
  LeaderElectionEvents,
  LeaderElectionInit,
  LeaderElectionOptions,
  LostEvent,
} from './election/options.js';

/**
 * Leader election on a ZooKeeper path: each participant holds an ephemeral-sequential node
 * there and watches only the one ahead of it; the first in line leads. A term (`elected`)
 * carries a fencing token and an AbortSignal, and ends (`lost`) the moment this participant
 * can no longer be sure it leads: its node or session is gone, or (by default) its connection
 * was suspended. Writes to ZooKeeper that must only happen while leading go through
 * `transaction()`.
 *
 * @example
 * const election = new LeaderElection({ connect: '127.0.0.1:2181', path: '/services/scheduler/leader' });
 * election.on('elected', ({ fencingToken, signal }) => startServing({ fencingToken, signal }));
 * await election.start();
 */
export class LeaderElection extends SafeEmitter<LeaderElectionEvents> {
  /** The election's znode. */
  readonly path: string;
  /** This participant's id, published in its node. */
  readonly id: string;
  private readonly ownsSession: boolean;
  /** A shared session, or (for an own session) made in start(): constructing connects nothing. */
  private sessionRef: Session | null = null;
  private readonly makeSession: () => Session;
  /** What our node holds: replaced by `proclaim()`, for this term's node and every later one. */
  private payload: Buffer;
  private readonly recipe: RecipeName;
  private readonly lockName: string;
  private readonly acl: readonly AclEntry[];
  private readonly onSuspend: 'release' | 'hold';
  private readonly takeoverDelayMs: number;
  private readonly trackLeader: boolean;
  private readonly prefix: string;
  private readonly signals: NodeJS.Signals[];

  private state: ElectionState = 'idle';
  private candidacy: Candidacy | null = null;
  /** The current term, if any: granted, announced, ended. */
  private readonly terms: Terms;
  /** When what an evaluation learned may still be acted on: the one notion of staleness. */
  private readonly looks: Looks;
  /** `follower`, and the nodes that keep this participant from leading, each told once. */
  private readonly reports: FollowerReports;
  /** The evaluation loop: each look at the election, and what its watches do. */
  private readonly evaluation: Evaluation;
  /** Writes the leader record for each announced term. */
  private readonly recordWriter: LeaderRecordWriter;
  /** trackLeader: the follower's watch on the leader record. */
  private readonly recordWatch: LeaderRecordWatch;
  /** The leader as last learned (ourselves while leading), for health(). */
  private knownLeader: { id: string; node: string } | null = null;
  private readonly evaluations = new CoalescingRunner(
    () =>
      this.evaluate().then(
        () => this.retries?.reset(),
        (error: unknown) => this.onEvaluationError(error),
      ),
    () => this.state === 'running',
  );
  private readonly retry: Required<RetryOptions>;
  /** Made in start(), on the session's source of randomness. */
  private retries: Backoff | null = null;
  private retryTimer: TimerHandle | null = null;
  /** While set, this participant stays out of the queue (runWhileLeader's backoff). */
  private rejoinTimer: TimerHandle | null = null;
  /** What our watches should tell us, looked at again at a bounded period (they can go silent). */
  private readonly audit: WatchAudit;
  /** onSuspend 'hold': how old what the leader knows may grow while a notice or a reconnect leaves it in doubt. */
  private readonly lease: LeaderLease;
  private stopping: Promise<void> | null = null;
  /** Why a stop() left a node of ours behind in a shared session (its delete was refused). */
  private leftInShared: ZkLeaderError | null = null;
  /** Removals of our nodes (a resign, a stop, an ended session's): stop() resolves after them. */
  private readonly removals: Removals;
  /** Single-node: gives back this election's claim on its node name in the session. */
  private releaseClaim: (() => void) | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly signalReleases: (() => void)[] = [];
  private firstJoin: { resolve: () => void; reject: (error: unknown) => void } | null = null;

  /**
   * Checks the options; connects nothing until `start()`.
   * @throws INVALID_ARGUMENT naming the bad option.
   */
  constructor(options: LeaderElectionInit) {
    super(options?.logger ?? silentLogger);
    if (!options || typeof options !== 'object') throw new InvalidArgumentError('LeaderElection needs an options object with path and connect (or session)');
    rejectUnknownOptions(options, electionOptionNames, 'LeaderElection');
    this.path = validatePath(options.path, 'path');
    this.id = validateId(options.id ?? `${hostname()}-${process.pid}`);
    this.recipe = validateRecipe(options.recipe);
    if (this.recipe !== 'zk-leader' && options.data !== undefined) {
      throw new InvalidArgumentError(
        `recipe '${this.recipe}' publishes only the id (its peers read a node's data as the participant's id): drop data, or use recipe 'zk-leader'`,
      );
    }
    // The peers' recipes hold the id's UTF-8 bytes: what Curator's getIdBytes and kazoo's identifier write.
    this.payload = this.recipe === 'zk-leader' ? encodePayload({ id: this.id, data: options.data }) : Buffer.from(this.id, 'utf8');
    this.acl = validateAcl(options.acl);
    this.onSuspend = options.onSuspend ?? 'release';
    if (this.onSuspend !== 'release' && this.onSuspend !== 'hold') {
      throw new InvalidArgumentError(`onSuspend must be 'release' or 'hold': got ${JSON.stringify(options.onSuspend)}`);
    }
    this.takeoverDelayMs = validateMs(options.takeoverDelayMs, 'takeoverDelayMs', 0, 'zero');
    const host = new LeaderElection.PartsHost(this);
    this.looks = new Looks(host);
    this.reports = new FollowerReports(host);
    this.recordWriter = new LeaderRecordWriter(host);
    this.recordWatch = new LeaderRecordWatch(host);
    this.terms = new Terms(host);
    this.audit = new WatchAudit(host);
    this.lease = new LeaderLease(host);
    this.evaluation = new Evaluation(host);
    this.trackLeader = options.trackLeader ?? false;
    this.retry = validateRetry(options.retry);
    this.removals = new Removals(this.retry, host);
    this.lockName = validateLockName(options.lockName);
    if (options.lockName !== undefined && this.recipe !== 'single-node') {
      throw new InvalidArgumentError(`lockName is for recipe 'single-node': recipe '${this.recipe}' queues sequential nodes`);
    }
    this.prefix = validatePrefix(options.prefix ?? '');
    if (this.prefix !== '' && this.recipe !== 'zk-leader') {
      throw new InvalidArgumentError(`prefix names zk-leader's own nodes only: recipe '${this.recipe}' names them as its peers do`);
    }
    this.signals = validateSignals(options.releaseOnSignals);
    const shared = sharedSession(options, { logger: true, retry: true });
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
        ...(options.tls !== undefined ? { tls: options.tls } : {}),
        ...(options.sasl !== undefined ? { sasl: options.sasl } : {}),
        ...(options.juteMaxBufferBytes !== undefined ? { juteMaxBufferBytes: options.juteMaxBufferBytes } : {}),
        ...(options.runtime !== undefined ? { runtime: options.runtime } : {}),
        retry: this.retry,
        logger: this.logger,
      };
      // Validate now, so a bad connect string fails at construction; connect in start().
      const valid = Session.validateOptions(sessionOptions);
      this.makeSession = () => new Session(sessionOptions);
      this.ownsSession = true;
      this.checkNodeFits(valid.chroot, valid.juteMaxBufferBytes, valid.backend);
    } else {
      throw new InvalidArgumentError("LeaderElection needs connect (e.g. '127.0.0.1:2181') or session");
    }
    if (shared) {
      this.checkNodeFits(shared.chroot, shared.juteMaxBufferBytes, shared.backend);
    }
  }

  /**
   * Refuses data whose create the server would answer by closing the connection (and so
   * never answer at all): the longest create this election sends is of its own node.
   */
  private checkNodeFits(chroot: string, juteMaxBufferBytes: number, backend: BackendName, payload = this.payload): void {
    const name = this.recipe === 'single-node' ? this.lockName : candidateNameStem(this.prefix, '0'.repeat(32), this.recipe);
    checkCreateFits(
      this.recipe === 'zk-leader' ? 'data (with the id, as JSON)' : 'id',
      `${chroot}${joinPath(this.path, name)}`,
      payload,
      this.acl,
      juteMaxBufferBytes,
      backend,
    );
  }

  /**
   * The session this election runs on; available once `start()` was called.
   * @throws INVALID_STATE before `start()`.
   */
  get session(): Session {
    if (!this.sessionRef) throw new InvalidStateError('the election has no session before start()');
    return this.sessionRef;
  }

  /** Timers run on the session's clock, real or simulated. */
  private get clock(): Clock {
    return this.session.runtime.clock;
  }

  /** Whether this participant leads now (after any takeover delay). */
  get isLeader(): boolean {
    return this.terms.announced !== null;
  }

  /** The current term's fencing token, or null when not leading. */
  get fencingToken(): bigint | null {
    return this.terms.announced?.fencingToken ?? null;
  }

  /** This participant's znode name, while it holds one. */
  get nodeName(): string | null {
    return this.candidacy?.node?.name ?? null;
  }

  /**
   * Joins the election. Resolves once this participant's candidacy is in place (it may already
   * lead). `signal` stops the election (as `stop()` does) whenever it aborts: while start()
   * still waits, start() then rejects with the signal's reason.
   * @throws the signal's reason when it aborts first; INVALID_STATE when called twice, for a second single-node participant for the
   * same node on one Session, or when `stop()` is called before the first join completes;
   * SESSION_CLOSED for a closed shared session or when the session closes first (after
   * AUTH_FAILED, say); CONNECT_TIMEOUT; CHROOT_NOT_FOUND; REQUEST_TOO_LARGE; NO_AUTH.
   */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    if (this.state !== 'idle') {
      throw new InvalidStateError(`start() was already called (the election is ${this.state}): create a new LeaderElection to join again`);
    }
    if (signal?.aborted) throw abortReasonOf(signal);
    const session = this.makeSession();
    if (session.state === 'closed') {
      this.state = 'stopped';
      throw new SessionClosedError('start()');
    }
    if (this.recipe === 'single-node') {
      // ZooKeeper tells the node's holder by its session alone: two participants racing for
      // one name on one session would both take it for theirs.
      const claim = session.claimFixedNode(joinPath(this.path, this.lockName));
      if (!claim) {
        this.state = 'stopped';
        throw new InvalidStateError(
          `another single-node election on this Session already races for ${joinPath(this.path, this.lockName)}: ZooKeeper tells its holder by session, so give each participant a Session of its own`,
        );
      }
      this.releaseClaim = claim;
    }
    this.state = 'running';
    this.sessionRef = session;
    this.terms.startWaiting();
    this.unsubscribe = session.subscribe(new LeaderElection.SessionListener(this));
    for (const processSignal of this.signals) this.signalReleases.push(stopOnSignal(processSignal, this));
    if (signal) {
      // The caller's signal stops the election whenever it aborts, during start() or later.
      const onAbort = () => void this.stop().catch((error: unknown) => this.emit('error', toZkLeaderError(error, 'stopping when the start signal aborted')));
      signal.addEventListener('abort', onAbort, { once: true });
      this.signalReleases.push(() => signal.removeEventListener('abort', onAbort));
    }
    const joined = new Promise<void>((resolve, reject) => {
      this.firstJoin = { resolve, reject };
    });
    // stop() may refuse the join while we still wait for the session, before anything
    // awaits it: that must not count as an unhandled rejection (it would end the process).
    joined.catch(() => {});
    try {
      // Look now, once: on a connected session this joins; on one that is not, the look is
      // owed and the session's next 'connected' or 'reconnected' makes it.
      this.requestEvaluation();
      // stop() refuses the join at once, also while the session is still connecting.
      await Promise.race([session.ready(), joined]);
      // The first join's errors (NoAuth, a path under an ephemeral node) reach the caller.
      await joined;
    } catch (error) {
      this.firstJoin = null;
      await this.finish('stopped');
      throw signal?.aborted ? abortReasonOf(signal) : error;
    }
  }

  /** Marks the election for (re-)evaluation; one evaluation runs at a time. */
  private requestEvaluation(): void {
    void this.evaluations.request();
  }

  private onEvaluationError(error: unknown): void {
    if (this.state !== 'running' || error instanceof SessionClosedError) return;
    if (isConnectionError(error)) {
      // Interrupted: the reconnect (or the next session) looks again.
      this.looks.owed = true;
      this.logger.debug({ err: error }, 'zk-leader: evaluation interrupted by the connection');
      if (this.session.state === 'connected') this.retrySoon();
      return;
    }
    const wrapped = toZkLeaderError(error, 'election step failed');
    if (this.firstJoin) {
      this.firstJoin.reject(wrapped);
      return;
    }
    // A leader's look at the queue was refused (NO_AUTH: an operator changed the ACL): it can
    // no longer see its node's deletion (the server sends no notice about a node one cannot
    // read), so it cannot vouch for the term. The node stays; a later look may lead again.
    this.terms.end('unverifiable');
    this.logger.error({ err: wrapped, path: this.path }, 'zk-leader: election step failed');
    // NoAuth and bad ACLs will not heal by retrying fast; other errors get a short pause.
    this.retrySoon(isZooKeeperError(error, 'NO_AUTH', 'INVALID_ACL'));
    this.emit('error', wrapped);
  }

  private retrySoon(slow = false): void {
    if (this.retryTimer) return;
    this.retries ??= new Backoff(this.retry, this.session.runtime.random);
    const delayMs = slow ? this.retries.slow() : this.retries.next();
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = null;
      this.requestEvaluation();
    }, delayMs);
  }

  /** The candidacy for the current session, made anew when the last one ended. */
  private currentCandidacy(): Candidacy | null {
    const scope = this.session.scope;
    if (!scope?.alive || this.session.state !== 'connected' || this.rejoinTimer || this.removals.handingOver) return null;
    if (this.candidacy && !this.candidacy.gone) return this.candidacy;
    this.candidacy = this.newCandidacy(scope);
    return this.candidacy;
  }

  /** A candidacy in `scope`: a new node, or (`adopt`) the node of that GUID found again. */
  private newCandidacy(scope: SessionScope, adopt?: string): Candidacy {
    return new Candidacy(
      scope,
      {
        electionPath: this.path,
        recipe: this.recipe,
        prefix: this.prefix,
        payload: this.payload,
        acl: this.acl,
        ...(this.recipe === 'single-node' ? { fixedName: this.lockName } : {}),
      },
      (ended, reason) => this.onCandidacyEnded(ended, reason),
      adopt,
    );
  }

  /** One evaluation: the current candidacy's look at the election (see Evaluation), or one owed when there is none now. */
  private async evaluate(): Promise<void> {
    const candidacy = this.currentCandidacy();
    if (!candidacy) {
      // Not now (suspended, between sessions, backing off): owed to whoever comes next,
      // including a reconnect of this very session.
      this.looks.owed = true;
      return;
    }
    this.looks.owed = false;
    await this.evaluation.run(candidacy);
  }

  /**
   * Our node can no longer be read (its ACL was changed to deny READ): its deletion would go
   * unheard, so it can vouch for no term. End the term, say so, remove the node (deleting needs
   * only DELETE on the election path) and queue again on a node of our own ACL, after a pause.
   */
  private onNodeUnwatchable(candidacy: Candidacy): void {
    this.terms.end('unverifiable');
    const cause = candidacy.unwatchableBecause;
    this.emit(
      'error',
      new ZkLeaderError(
        isZooKeeperError(cause) ? cause.code : 'UNEXPECTED',
        `our node ${candidacy.nodePath} can no longer be read (${isZooKeeperError(cause) ? cause.code : String(cause)}), so its deletion would go unheard: someone changed its ACL; the term ended, the node is removed and this participant queues again`,
        { cause },
      ),
    );
    this.removals.handOver(candidacy).then(
      () => this.retrySoon(),
      (error: unknown) => {
        this.emit('error', toZkLeaderError(error, `removing our unreadable node ${candidacy.nodePath}`));
        this.retrySoon(true);
      },
    );
  }

  private onCandidacyEnded(candidacy: Candidacy, reason: CandidacyEnd): void {
    if (candidacy !== this.candidacy) return;
    this.candidacy = null;
    this.reports.forget();
    this.logger.info({ path: this.path, reason }, 'zk-leader: our candidacy ended');
    if (reason === 'unwatchable') return this.onNodeUnwatchable(candidacy);
    this.terms.end(reason === 'expired' ? 'expired' : 'node-deleted');
    // A sequential name carries our GUID, so only we can have made it; a single-node name is
    // anyone's once the server has expired our session, so it is left to the server.
    if (reason === 'expired' && candidacy.nodePath && this.recipe !== 'single-node') this.removals.leaveBehind(candidacy.nodePath);
    // A deleted node: volunteer again now. An ended session: the next session's `connected` does.
    if (reason === 'node-deleted' && this.state === 'running') this.requestEvaluation();
  }

  /** The term is announced: the leader as known, `elected`, and the leader record. */
  private onElected(term: Term): void {
    const { candidacy, fencingToken } = term;
    this.knownLeader = candidacy.node ? { id: this.id, node: candidacy.node.name } : null;
    this.logger.info({ path: this.path, id: this.id, fencingToken: String(fencingToken) }, 'zk-leader: elected');
    // The signal is made only if a listener reads it (see Term).
    this.emit('elected', {
      fencingToken,
      get signal() {
        return term.signal;
      },
    });
    this.recordWriter.publish(term);
  }

  /**
   * Writes to ZooKeeper only while this participant leads: one ZooKeeper multi made of a
   * `check` that our own candidate node still exists, then `ops`. The server commits all of
   * it or nothing, and only while that node is there, so a leader that was paused, cut off or
   * deposed cannot write, however late its request arrives.
   * @returns each op's result, in order.
   * @throws NOT_LEADER when this participant does not lead (by its own account, or the
   * server's check failed): nothing was written. A ZooKeeperError (`failedOp` its index in
   * `ops`) when one of `ops` failed: nothing was written. CONNECTION_LOSS when the answer was
   * lost: it may have been committed. UNSUPPORTED on the native backend (no multi) and with
   * the single-node recipe (its node's name outlives a term: another holder's would pass the
   * check). INVALID_ARGUMENT for a malformed op.
   * @example
   * await election.transaction([{ op: 'setData', path: '/app/config', data: JSON.stringify(config) }]);
   */
  async transaction(ops: readonly TransactionOp[]): Promise<TransactionResult[]> {
    const multiOps = toMultiOps(ops);
    if (this.recipe === 'single-node') {
      throw new ZkLeaderError(
        'UNSUPPORTED',
        `transaction on ${this.path}: the single-node recipe cannot guard writes (another holder's node has the same name); use a sequential recipe`,
      );
    }
    const term = this.terms.announced;
    const node = term ? term.candidacy.node : null;
    if (!term || !node) throw notLeader(this.path, 'this participant does not lead');
    return guardedMulti(term.candidacy.scope, this.session, this.path, node.path, multiOps);
  }

  /**
   * Replaces the data this leader published (the `data` option) without another election:
   * our node holds it from now on, observers see it (`leader` again, same term), and any
   * later node of this participant is created with it (etcd's `proclaim`).
   * @throws NOT_LEADER when this participant does not lead, or its node is gone at the
   * server (nothing was written); UNSUPPORTED for the peers' recipes (their nodes hold only
   * the id); INVALID_ARGUMENT for data that is not JSON or does not fit a node.
   */
  async proclaim(data: unknown): Promise<void> {
    if (this.recipe !== 'zk-leader') {
      throw new ZkLeaderError(
        'UNSUPPORTED',
        `proclaim on ${this.path}: recipe '${this.recipe}' publishes only the id (its peers read the node's data as the id)`,
      );
    }
    const payload = encodePayload({ id: this.id, data });
    const term = this.terms.announced;
    const node = term ? term.candidacy.node : null;
    if (!term || !node) throw notLeader(this.path, 'this participant does not lead', 'proclaim');
    const session = this.session;
    this.checkNodeFits(session.chroot, session.juteMaxBufferBytes, session.backend, payload);
    try {
      // Our node's name is ours alone (a sequential node is never made again): a write to it
      // cannot reach another participant's, and fails NO_NODE once it is gone.
      await term.candidacy.scope.setData(node.path, payload);
    } catch (error) {
      if (isZooKeeperError(error, 'NO_NODE', 'SESSION_EXPIRED'))
        throw notLeader(this.path, `our candidate node ${node.path} is gone at the server`, 'proclaim');
      throw error;
    }
    this.payload = payload;
  }

  /**
   * Gives up leadership now and queues again at the back. During `takeoverDelayMs` (won, not
   * yet announced) it gives up the pending term the same way, without `elected` or `lost`.
   * @returns false (a no-op) when this participant neither leads nor is about to.
   */
  async resign(): Promise<boolean> {
    return this.leaveQueue('resigned', 0);
  }

  private async leaveQueue(reason: LossReason, pauseMs: number): Promise<boolean> {
    const term = this.terms.current;
    if (this.state !== 'running' || !term) return false;
    const candidacy = term.candidacy;
    this.looks.decided();
    if (this.candidacy === candidacy) this.candidacy = null;
    this.terms.end(reason);
    if (pauseMs > 0) {
      this.rejoinTimer = this.clock.setTimeout(() => {
        this.rejoinTimer = null;
        this.requestEvaluation();
      }, pauseMs);
    }
    try {
      await this.removals.handOver(candidacy);
    } catch (error) {
      // Refused (the election path's ACL does not grant us DELETE): the node is still there,
      // in our live session, at the head of the queue. Say so, and find it again: this
      // participant goes on leading on it, which is what everyone else sees.
      if (this.state === 'running' && !this.candidacy && candidacy.scope.alive) this.candidacy = this.newCandidacy(candidacy.scope, candidacy.guid);
      this.requestEvaluation();
      throw new ZkLeaderError(
        isZooKeeperError(error) ? error.code : 'UNEXPECTED',
        `could not delete our node ${candidacy.nodePath} to hand over (${isZooKeeperError(error) ? error.code : String(error)}): the ACL of ${this.path} must grant this participant's credentials DELETE; this participant goes on leading on the same node: call resign() again once the ACL is fixed (stop() with an own session closes the session, which removes the node)`,
        { cause: error },
      );
    }
    this.requestEvaluation();
    return true;
  }

  /**
   * Leaves the election: ends leadership (`lost` with reason 'stopped'), deletes our node,
   * closes our own session (a shared one stays open), emits `stopped`. Resolves when our node
   * is gone (or its session has ended, which takes it too). Calling it again, or before
   * `start()`, is a no-op.
   * @throws NO_AUTH (the election is stopped all the same; once) when the server refused to delete
   * our node in a shared session: the path's ACL denies DELETE, and the node stays until that
   * session closes. (An own session is closed, which removes it.)
   */
  async stop(): Promise<void> {
    if (this.state !== 'idle' && this.state !== 'stopped') await this.finish('stopped');
    else {
      this.state = 'stopped';
      await this.stopping;
    }
    // Said once, to the stop() that found it; calling stop() again is a no-op.
    const left = this.leftInShared;
    this.leftInShared = null;
    if (left) throw left;
  }

  private finish(reason: LossReason): Promise<void> {
    if (this.stopping) return this.stopping;
    this.state = 'stopping';
    this.looks.decided();
    this.stopping = (async () => {
      for (const timer of [this.retryTimer, this.rejoinTimer]) if (timer) this.clock.clearTimeout(timer);
      this.retryTimer = null;
      this.rejoinTimer = null;
      this.audit.stop();
      for (const release of this.signalReleases.splice(0)) release();
      this.terms.end(reason);
      const firstJoin = this.firstJoin;
      this.firstJoin = null;
      firstJoin?.reject(
        reason === 'session-closed' ? new SessionClosedError('start()') : new InvalidStateError('stop() was called before the election had joined'),
      );
      const candidacy = this.candidacy;
      this.candidacy = null;
      // A shared session lives on: our node must go now, and so must one a resign() is still
      // removing. An own session deletes them in one round trip each, also one that is
      // suspended: its deletes wait for the reconnect, or end when the session is lost (which
      // takes the nodes along), so stop() resolves once no node of ours is left, at most a
      // session timeout later. Between sessions there is no node to wait for.
      if (candidacy) void this.removals.release(candidacy);
      if (!this.ownsSession || this.session.state === 'connected' || this.session.state === 'suspended') {
        const removals = this.removals.underWayNow();
        const results = await Promise.allSettled(removals.map(([removal]) => removal));
        // A refused delete of an own session's node is no loss: closing the session removes it.
        // In a shared session the node stays: stop() says so.
        const refused = results.find((result) => result.status === 'rejected');
        if (refused && !this.ownsSession) {
          results.forEach((result, index) => {
            if (result.status === 'rejected') this.removals.removeLater(removals[index]![1]);
          });
          const cause: unknown = refused.reason;
          this.leftInShared = new ZkLeaderError(
            isZooKeeperError(cause) ? cause.code : 'UNEXPECTED',
            `stop() could not delete our node (${isZooKeeperError(cause) ? `${cause.code} on ${cause.path ?? this.path}` : String(cause)}): the ACL of ${this.path} must grant this participant's credentials DELETE; the node stays until the shared session closes`,
            { cause },
          );
        }
      }
      this.releaseClaim?.();
      this.unsubscribe?.();
      if (this.ownsSession) await this.session.close();
      this.state = 'stopped';
      this.emit('stopped');
    })();
    return this.stopping;
  }

  /** `await using election = new LeaderElection(...)`: stops it when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /**
   * Resolves with the next (or current) term. Takes the same options as
   * `LeaderObserver.waitForLeader`; a bare AbortSignal still works (deprecated).
   * @throws INVALID_STATE if the election stops first; the signal's reason when it aborts;
   * WAIT_TIMEOUT once `timeoutMs` elapsed; INVALID_ARGUMENT for a bad `timeoutMs`.
   */
  waitForLeadership(options: { signal?: AbortSignal; timeoutMs?: number } | AbortSignal = {}): Promise<ElectedEvent> {
    const { signal, timeoutMs } = options instanceof AbortSignal ? { signal: options, timeoutMs: undefined } : options;
    if (timeoutMs !== undefined) validateMs(timeoutMs, 'timeoutMs', 0, 'zero');
    if (signal?.aborted) return Promise.reject(abortReasonOf(signal));
    const term = this.terms.announced;
    if (term) return Promise.resolve({ fencingToken: term.fencingToken, signal: term.signal });
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? null
          : setTimeout(() => {
              cleanup();
              reject(new ZkLeaderError('WAIT_TIMEOUT', `this participant was not elected on ${this.path} within ${timeoutMs} ms`));
            }, timeoutMs);
      const cleanup = () => {
        if (timer) clearTimeout(timer);
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
        reject(abortReasonOf(signal!));
      };
      if (this.state === 'stopped' || this.state === 'stopping') return onStopped();
      this.on('elected', onElected);
      this.on('stopped', onStopped);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Runs `work` each time this participant leads, with a signal that aborts when the term
   * ends; loops until the election stops. When `work` returns while still leading,
   * leadership is handed on (as Curator's LeaderSelector does). When it throws, the error is
   * emitted (LEADER_WORK_FAILED) and this participant steps out of the queue for a while
   * before volunteering again: 0.5 s after the first failure, doubling to 30 s, with jitter,
   * back to 0.5 s after work that returns normally. Starts the election if needed; resolves
   * when the election has stopped. With `{ once: true }` (kazoo's `run()`): waits for
   * leadership, runs `work` once, then stops the election (the node goes, the next one leads);
   * resolves then, at once when the election stops before leading.
   * @throws what `start()` throws (CONNECT_TIMEOUT, NO_AUTH, ...); LEADER_WORK_FAILED is
   * emitted, not thrown, except with `once`, where the work's failure rejects (after the stop).
   * @example
   * await election.runWhileLeader(async (signal, { fencingToken }) => {
   *   while (!signal.aborted) await scheduleDueJobs({ fencingToken, signal });
   * });
   */
  runWhileLeader(work: (signal: AbortSignal, term: { fencingToken: bigint }) => Promise<void> | void, options: { once?: boolean } = {}): Promise<void> {
    return runWhileLeader(
      {
        election: this,
        state: () => this.state,
        leaveQueue: (pauseMs) => this.leaveQueue('resigned', pauseMs),
        emitError: (error) => this.emit('error', error),
      },
      work,
      options,
    );
  }

  /**
   * For a readiness probe: `ok` while running on a connected session with a node in the
   * queue (leading or following); the role, the fencing token while leading, the leader as
   * last learned, and the session's state and silence. Plain JSON.
   *
   * @example
   * // Kubernetes readinessProbe: httpGet /healthz
   * app.get('/healthz', (_req, res) => {
   *   const health = election.health();
   *   res.status(health.ok ? 200 : 503).json(health);
   * });
   */
  health(): ElectionHealth {
    const session = this.sessionRef;
    const node = this.nodeName;
    // Single-node: waiting on another session's node is taking part, with no node of one's own.
    const waiting = node !== null || this.candidacy?.outraced === true;
    const { sessionState, lastHeardMs } = sessionPart(session);
    const reason =
      this.state === 'idle'
        ? 'not started'
        : this.state !== 'running'
          ? this.state
          : sessionState !== 'connected'
            ? `session ${sessionState ?? 'none'}`
            : !waiting
              ? 'not in the queue yet'
              : null;
    return {
      ok: reason === null,
      reason,
      state: this.state,
      role: this.isLeader ? 'leader' : waiting ? 'follower' : 'none',
      node,
      fencingToken: this.isLeader ? String(this.terms.announced!.fencingToken) : null,
      leader: this.knownLeader,
      sessionState,
      lastHeardMs,
    };
  }

  /**
   * The changes of this participant's view, for `for await`: `elected`, `lost`, `follower`
   * and `leader` as one union. Starts with the current term when it leads already; ends
   * after `stop()` (with the `lost` it caused) or when `signal` aborts.
   *
   * @example
   * for await (const change of election.changes({ signal })) {
   *   if (change.type === 'elected') serve(change.fencingToken, change.signal);
   *   else if (change.type === 'lost') log.info(`no longer leading: ${change.reason}`);
   * }
   */
  changes(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<ElectionChange> {
    return eventStream<ElectionChange>((push, end) => {
      if (this.state === 'stopped') {
        end();
        return () => {};
      }
      const term = this.terms.announced;
      if (term) push({ type: 'elected', fencingToken: term.fencingToken, signal: term.signal });
      const handlers = {
        elected: (event: ElectedEvent) => push({ type: 'elected', ...event }),
        lost: (event: LostEvent) => push({ type: 'lost', ...event }),
        follower: (event: FollowerEvent) => push({ type: 'follower', ...event }),
        leader: (leader: LeaderInfo | null) => push({ type: 'leader', leader }),
        stopped: end,
      };
      this.on('elected', handlers.elected)
        .on('lost', handlers.lost)
        .on('follower', handlers.follower)
        .on('leader', handlers.leader)
        .on('stopped', handlers.stopped);
      return () => {
        this.off('elected', handlers.elected)
          .off('lost', handlers.lost)
          .off('follower', handlers.follower)
          .off('leader', handlers.leader)
          .off('stopped', handlers.stopped);
      };
    }, options.signal);
  }

  /**
   * The current leader, read from ZooKeeper now; null when nobody leads.
   * @throws INVALID_STATE before `start()`.
   */
  async getLeader(): Promise<LeaderInfo | null> {
    if (this.recipe === 'single-node') return readParticipant(this.session, this.path, this.lockName, 'single-node');
    return readLeader(this.session, this.path);
  }

  /**
   * Every participant in queue order, the leader first, read from ZooKeeper now.
   * @throws INVALID_STATE before `start()`.
   */
  async participants(): Promise<Participant[]> {
    // Single-node: only the holder has a node; the others are invisible until they win.
    if (this.recipe === 'single-node') return [await this.getLeader()].filter((leader): leader is Participant => leader !== null);
    return readParticipants(this.session, this.path);
  }

  /**
   * What the election's parts (its terms, leader record, reports, looks, audit, removals) ask
   * of it, as methods of one object: a closure per callback, each with its context, cost
   * about 1 KiB an election, and ten thousand elections on one session is a use we bench.
   * Nested, so that it may reach the election's private members.
   */
  private static readonly PartsHost = class implements TermHost, RecordWriterHost, RecordWatchHost, ReportsHost, EvaluationHost, LeaseHost {
    constructor(private readonly election: LeaderElection) {}

    get path(): string {
      return this.election.path;
    }
    get id(): string {
      return this.election.id;
    }
    get logger(): Logger {
      return this.election.logger;
    }
    get recipe(): RecipeName {
      return this.election.recipe;
    }
    get takeoverDelayMs(): number {
      return this.election.takeoverDelayMs;
    }
    clock(): Clock {
      return this.election.clock;
    }
    runtime(): Runtime {
      return this.election.session.runtime;
    }
    checkLiveness(): void {
      this.election.session.checkLiveness();
    }
    lastAnswerSentAt(): number {
      return this.election.session.lastAnswerSentAt;
    }
    leaseMs(): number {
      // The session's own bound on silence, at which a held term ends.
      return this.election.session.sessionTimeoutMs * livenessFractions.expiry;
    }
    leading(): boolean {
      // A released term ends at the first suspension already, whose clock counts from the same answer.
      return this.election.onSuspend === 'hold' && this.election.terms.current !== null;
    }
    askForAnswer(): void {
      this.election.session.requestHeartbeat();
    }
    expired(): void {
      this.election.terms.end('unverifiable');
    }
    inCharge(candidacy: Candidacy): boolean {
      const { election } = this;
      return election.state === 'running' && election.candidacy === candidacy && !candidacy.gone;
    }
    isStale(candidacy: Candidacy): boolean {
      return this.election.looks.isStale(candidacy);
    }
    isLeader(): boolean {
      return this.election.isLeader;
    }
    isCurrent(term: Term): boolean {
      return this.election.terms.current === term;
    }
    elected(term: Term): void {
      this.election.onElected(term);
    }
    ended(): void {
      const { election } = this;
      if (election.knownLeader?.id === election.id) election.knownLeader = null;
    }
    lost(reason: LossReason): void {
      this.election.emit('lost', { reason });
    }
    follower(event: { leader: LeaderInfo; position: number }): void {
      this.election.emit('follower', event);
    }
    found(leader: LeaderInfo | null): void {
      const { election } = this;
      election.knownLeader = leader ? { id: leader.id, node: leader.node } : null;
      publish(electionChannel, (): ElectionMessage => ({ path: election.path, event: 'leader', present: leader !== null, observer: election }));
      election.emit('leader', leader);
    }
    error(error: ZkLeaderError): void {
      this.election.emit('error', error);
    }
    failed(error: unknown): void {
      this.election.onEvaluationError(error);
    }
    delayFailed(error: unknown): void {
      this.election.onEvaluationError(error);
    }
    auditChanged(): void {
      if (this.election.state === 'running') this.election.requestEvaluation();
    }
    get lockName(): string {
      return this.election.lockName;
    }
    get trackLeader(): boolean {
      return this.election.trackLeader;
    }
    get looks(): Looks {
      return this.election.looks;
    }
    get terms(): Terms {
      return this.election.terms;
    }
    get reports(): FollowerReports {
      return this.election.reports;
    }
    get recordWatch(): LeaderRecordWatch {
      return this.election.recordWatch;
    }
    get lease(): LeaderLease {
      return this.election.lease;
    }
    get audit(): WatchAudit {
      return this.election.audit;
    }
    get removals(): Removals {
      return this.election.removals;
    }
    connected(): boolean {
      return this.election.session.state === 'connected';
    }
    sessionTimeoutMs(): number {
      return this.election.session.sessionTimeoutMs;
    }
    joined(): void {
      this.election.firstJoin?.resolve();
      this.election.firstJoin = null;
    }
    requestEvaluation(): void {
      this.election.requestEvaluation();
    }
    knownLeaderIs(leader: { id: string; node: string }): void {
      this.election.knownLeader = leader;
    }
  };

  /** What the election does on its session's events (methods, for the reason PartsHost says). */
  private static readonly SessionListener = class implements SessionHandlers {
    constructor(private readonly election: LeaderElection) {}

    suspended(): void {
      const { election } = this;
      if (election.state !== 'running') return;
      if (election.onSuspend === 'release' && election.terms.current) {
        election.looks.owed = true;
        election.terms.end('suspended');
      }
      election.emit('suspended');
    }
    reconnected(): void {
      const { election } = this;
      if (election.state !== 'running') return;
      election.lease.reconnected();
      // The session's watches survived (the client set them again): look only if something
      // may have been missed meanwhile, and not before a pending retry is due (a server that
      // closes the connection on our request would otherwise get it again at every reconnect).
      if (election.looks.owed && !election.retryTimer) election.requestEvaluation();
      election.emit('reconnected');
    }
    // The candidacy ended with the scope already (its node went with the session).
    expired(): void {
      if (this.election.state === 'running') this.election.emit('expired');
    }
    connected(): void {
      const { election } = this;
      if (election.state === 'running' && !election.retryTimer) election.requestEvaluation();
    }
    closed(): void {
      if (this.election.state === 'running') void this.election.finish('session-closed');
    }
    error(error: ZkLeaderError): void {
      if (this.election.state === 'running') this.election.emit('error', error);
    }
  };
}
