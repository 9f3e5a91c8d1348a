import type { LeaderInfo, Participant, QueueReader } from './candidate.js';
import { Backoff, defaultRetry } from './backoff.js';
import type { TimerHandle } from './clock.js';
import type { NodeStat, Watcher } from './client/types.js';
import { readElection, type ElectionKind, type ElectionReading } from './election-reader.js';
import { validateLockName } from './recipes.js';
import { CoalescingRunner } from './coalesce.js';
import { SafeEmitter } from './emitter.js';
import { InvalidArgumentError, InvalidStateError, abortReasonOf, ZkLeaderError, isConnectionError, isZooKeeperError, toZkLeaderError } from './errors.js';
import { sessionPart, type ObserverHealth } from './health.js';
import { electionChannel, publish, type ElectionMessage } from './instrument.js';
import type { Logger } from './logger.js';
import { validateMs } from './options.js';
import { validatePath } from './paths.js';
import { RecipeSession } from './recipe-session.js';
import type { Session, SessionScope, SessionSource } from './session.js';
import { WatchAudit, type AuditItem, type AuditReader } from './watch-audit.js';
import { OwnerWatches, type WatchGroup } from './watch-group.js';

export interface ObservedLeader extends LeaderInfo {
  /** When this observer first saw this leader (ms since the epoch). */
  since: number;
}

/** What a LeaderObserver saw at its path on its last look. */
export interface ObservedElection {
  /** What the path holds (a queue, a single-node election, nothing, something else), or `missing` while it does not exist. */
  kind: ElectionKind | 'missing';
  /** In queue order, the leader first: every participant with `participants: 'all'`, else the leader alone. */
  participants: Participant[];
  /** The participant that leads, or null. */
  leader: Participant | null;
  /** Sequential children no recipe parses: maybe another program's candidates (nobody behind one leads). */
  foreign: string[];
  /** A single-node election's node name (its `lockName`), when that is what the path holds. */
  lockName: string | null;
}

/** The events of a LeaderObserver and their payloads. */
export interface LeaderObserverEvents {
  /** The leader changed: a new one, or null while nobody leads. */
  leader: [leader: ObservedLeader | null];
  /**
   * What the path holds changed: its kind, a participant joining or leaving (read with
   * `participants: 'all'`; else only the leader is), the leader or its data, the foreign
   * nodes. Once in `start()` with what is there: `kind: 'missing'` while the path does not
   * exist, and again once it does.
   */
  election: [election: ObservedElection];
  /**
   * A read failed (NO_AUTH, say); the observer carries on and looks again after a pause (2.5 to
   * 5 s for a refused read, which will not heal fast), or sooner on the next change or reconnect.
   */
  error: [error: ZkLeaderError];
  /**
   * A read failed on the connection or with the session (CONNECTION_LOSS,
   * OPERATION_TIMEOUT, SESSION_EXPIRED): no `error`, the observer looks again once the
   * session is connected again (the same one, or a new one).
   */
  interrupted: [error: ZkLeaderError];
  /** `close()` finished. */
  closed: [];
}

/** Options of `new LeaderObserver()`: the election's path, and `connect` or `session`. */
export type LeaderObserverOptions = {
  /** The election to follow. */
  path: string;
  /**
   * A single-node election's node name, when it is not `lock` and the holder writes no leader
   * record (a zk-leader holder does, and is found without it).
   */
  lockName?: string;
  /**
   * What each look reads: the leader only (`'leader'`, the default: one read per change), or
   * every participant (`'all'`: one read per participant, for the whole queue in `election`).
   */
  participants?: 'leader' | 'all';
} & SessionSource;

/**
 * Follows an election without taking part: knows the current leader (to route requests to
 * the master, say) and emits `leader` on every change. It watches the queue's children, so
 * it hears of every join and leave; participants themselves never do that.
 *
 * What its watches wait for is also audited once per session timeout (see `WatchAudit`):
 * ZooKeeper uses a watch up without a notice when the observer may not READ the node (an
 * operator's ACL), and the observer would otherwise report an old leader for ever.
 */
export class LeaderObserver extends SafeEmitter<LeaderObserverEvents> {
  /** The election it follows. */
  readonly path: string;
  /** The single-node node name, if given. */
  private readonly lockName: string | undefined;
  /** Whom a look reads: the leader, or every participant. */
  private readonly participants: 'leader' | 'all';
  /** A shared session, or (for an own session) made in start(): constructing connects nothing. */
  private readonly sessions: RecipeSession;
  private current: ObservedLeader | null = null;
  private currentElection: ObservedElection | null = null;
  /** What tells `currentElection` from the next reading (see keyOf). */
  private electionKey: string | null = null;
  private readonly looks = new CoalescingRunner(
    () => this.lookAndReport(),
    () => !this.closed,
  );
  private closed = false;
  private started: Promise<void> | null = null;
  /** Set when a look failed (on the connection, or refused): the reconnect looks again. */
  private needsLook = false;
  /** A refused look's next attempt, due after a pause: no change need come to prompt it. */
  private retryTimer: TimerHandle | null = null;
  private retries: Backoff | null = null;
  private unsubscribe: () => void = () => {};
  // One handler for every watch this observer sets, so repeated looks add no callbacks.
  private readonly onChange = () => void this.refresh();
  /** Every watch this observer sets, in whichever session is current: removed by close(). */
  private readonly watches = new OwnerWatches();
  /** Checks what the last look's watches wait for, in case one was used up without a notice. */
  private readonly audit = new WatchAudit({ clock: () => this.session.runtime.clock, auditChanged: () => void this.refresh() });
  /** What the audit reads through: one per session scope, so that it keeps what it saw there. */
  private auditReader: ScopeAuditReader | null = null;

  /**
   * Checks the options; connects nothing until `start()`.
   * @throws INVALID_ARGUMENT for a bad path, lockName, participants or session options.
   */
  constructor(options: LeaderObserverOptions) {
    super((options as { logger?: Logger } | undefined)?.logger);
    this.path = validatePath(options.path);
    this.lockName = options.lockName === undefined ? undefined : validateLockName(options.lockName);
    this.participants = validateParticipants(options.participants);
    this.sessions = new RecipeSession(options, { path: true, lockName: true, participants: true }, 'LeaderObserver');
  }

  /**
   * The session it reads on: the one passed, or its own once `start()` made it.
   * @throws INVALID_STATE for an own session before `start()`.
   */
  get session(): Session {
    return this.sessions.get('observer', 'start()');
  }

  /** The leader as last seen, or null. */
  get leader(): ObservedLeader | null {
    return this.current;
  }

  /** What the path held at the last look (see the `election` event), or null before the first. */
  get election(): ObservedElection | null {
    return this.currentElection;
  }

  /**
   * Starts following; resolves once the current leader (or its absence) is known.
   * @throws INVALID_STATE when closed; CONNECT_TIMEOUT for an own session that cannot connect.
   * @example
   * const observer = new LeaderObserver({ connect: '127.0.0.1:2181', path: '/services/scheduler' });
   * await observer.start();
   * observer.on('leader', (leader) => route(leader?.data));
   */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new InvalidStateError('the observer is closed: create a new one'));
    this.started ??= (async () => {
      await this.sessions.open().ready();
      // Stopped while the session connected: subscribe to nothing (stop() has run its unsubscribe).
      if (this.closed) throw new InvalidStateError('the observer was stopped while start() was connecting');
      this.unsubscribe = this.session.subscribe({
        // A new session has none of our watches: look again.
        connected: () => void this.refresh(),
        // The same session kept them: look only if a look was interrupted.
        reconnected: () => {
          if (this.needsLook) void this.refresh();
        },
      });
      await this.refresh();
    })();
    return this.started;
  }

  private refresh(): Promise<void> {
    return this.looks.request();
  }

  private async lookAndReport(): Promise<void> {
    try {
      await this.look();
      this.retries?.reset();
      this.clearRetry();
    } catch (error) {
      if (this.closed) return;
      // A failed read set no watch: a reconnect (or a new session) prompts the next look.
      this.needsLook = true;
      if (isConnectionError(error)) {
        this.emit('interrupted', toZkLeaderError(error));
        return;
      }
      // Refused on a connection that stays up: no reconnect comes, and maybe no change either
      // (READ given back, the path as it was), so look again after a pause.
      this.retryLater(isZooKeeperError(error, 'NO_AUTH', 'INVALID_ACL'));
      this.emit('error', toZkLeaderError(error));
    }
  }

  /** Looks again after a pause: a long one when `slow` (a refused ACL will not heal by retrying fast). */
  private retryLater(slow: boolean): void {
    if (this.retryTimer) return;
    const { clock, random } = this.session.runtime;
    this.retries ??= new Backoff(defaultRetry, random);
    this.retryTimer = clock.setTimeout(
      () => {
        this.retryTimer = null;
        void this.refresh();
      },
      slow ? this.retries.slow() : this.retries.next(),
    );
  }

  private clearRetry(): void {
    if (this.retryTimer) this.session.runtime.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private async look(): Promise<void> {
    const scope = this.session.scope;
    if (!scope?.alive) return;
    this.needsLook = false;
    // The leader's node is read with a watch too: a leader that proclaims new data is seen.
    const watched = this.watches.in(scope);
    const audited: AuditItem[] = [];
    const reading = await readElection(auditedReads(watched, audited), this.path, {
      watcher: this.onChange,
      participants: this.participants,
      ...(this.lockName ? { lockName: this.lockName } : {}),
    });
    if (!reading) {
      // No election node yet: watch for its creation instead.
      const created = await watched.exists(this.path, this.onChange);
      if (created) return void this.refresh();
    }
    const leader = reading?.leader ?? null;
    if (this.closed) return;
    // Every watch this look set is checked from now on, and only those: the audit follows the
    // reads, whatever readElection reads for this kind of election.
    this.audit.expect(this.auditReaderFor(scope), audited, this.session.sessionTimeoutMs);
    const election = observedElection(reading);
    const electionKey = keyOf(election);
    const electionChanged = electionKey !== this.electionKey;
    [this.currentElection, this.electionKey] = [election, electionKey];
    this.reportLeader(leader);
    if (electionChanged) this.emit('election', election);
  }

  /** The audit's reader in `scope` (the same one all the session long). */
  private auditReaderFor(scope: SessionScope): AuditReader {
    if (this.auditReader?.scope !== scope) this.auditReader = new ScopeAuditReader(scope, () => this.closed);
    return this.auditReader;
  }

  /** Emits `leader` when the one read differs from the last, by its term or its data. */
  private reportLeader(leader: LeaderInfo | null): void {
    // A single-node handover keeps the name: the token tells one holder from the next.
    const sameTerm = leader?.node === this.current?.node && leader?.fencingToken === this.current?.fencingToken;
    if (sameTerm && JSON.stringify(leader?.data ?? null) === JSON.stringify(this.current?.data ?? null)) return;
    // `since` is published (shown as a date, compared with other machines' records): wall
    // time. Nothing here measures elapsed time with it.
    this.current = leader ? { ...leader, since: sameTerm && this.current ? this.current.since : Date.now() } : null;
    publish(electionChannel, (): ElectionMessage => ({ path: this.path, event: 'leader', present: leader !== null, observer: this }));
    this.emit('leader', this.current);
  }

  /**
   * Resolves with the leader as soon as there is one.
   * @throws WAIT_TIMEOUT once `timeoutMs` elapsed; the signal's reason when `signal` aborts;
   * INVALID_ARGUMENT for a `timeoutMs` that is not from 0 to 2^31 - 1.
   */
  async waitForLeader(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<ObservedLeader> {
    if (options.timeoutMs !== undefined) validateMs(options.timeoutMs, 'timeoutMs', 0, 'zero');
    await this.start();
    if (this.current) return this.current;
    return new Promise((resolve, reject) => {
      // On the session's clock, real or simulated.
      const clock = this.session.runtime.clock;
      const timer =
        options.timeoutMs === undefined
          ? null
          : clock.setTimeout(() => {
              cleanup();
              reject(new ZkLeaderError('WAIT_TIMEOUT', `no leader on ${this.path} within ${options.timeoutMs} ms`));
            }, options.timeoutMs);
      const onLeader = (leader: ObservedLeader | null) => {
        if (!leader) return;
        cleanup();
        resolve(leader);
      };
      const onAbort = () => {
        cleanup();
        reject(abortReasonOf(options.signal!));
      };
      const cleanup = () => {
        if (timer) clock.clearTimeout(timer);
        this.off('leader', onLeader);
        options.signal?.removeEventListener('abort', onAbort);
      };
      this.on('leader', onLeader);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** For a readiness probe: `ok` while it follows on a connected session; the leader as last seen. Plain JSON. */
  health(): ObserverHealth {
    const { sessionState, lastHeardMs } = sessionPart(this.sessions.opened);
    const state = this.closed ? 'closed' : this.started ? 'running' : 'idle';
    const reason = state !== 'running' ? (state === 'idle' ? 'not started' : 'closed') : sessionState !== 'connected' ? `session ${sessionState}` : null;
    const leader = this.current ? { id: this.current.id, node: this.current.node, fencingToken: String(this.current.fencingToken) } : null;
    return { ok: reason === null, reason, state, leader, sessionState, lastHeardMs };
  }

  /**
   * The same as `stop()`.
   * @deprecated use `stop()`, the name all three recipes share.
   */
  close(): Promise<void> {
    return this.stop();
  }

  /** Stops following (and closes an own session). Before `start()`, and again, a no-op. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.audit.stop();
    this.clearRetry();
    this.watches.close();
    if (this.sessions.owned) await this.sessions.opened?.close();
    this.emit('closed');
  }

  /** `await using observer = new LeaderObserver(...)`: closes it when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function validateParticipants(participants: unknown): 'leader' | 'all' {
  if (participants === undefined) return 'leader';
  if (participants !== 'leader' && participants !== 'all') {
    throw new InvalidArgumentError(`participants must be 'leader' or 'all': got ${JSON.stringify(participants)}`);
  }
  return participants;
}

/** How the audit reads in one session: `exists` (no permission needed), until the observer stops or the session ends. */
class ScopeAuditReader implements AuditReader {
  constructor(
    readonly scope: SessionScope,
    private readonly stopped: () => boolean,
  ) {}

  get gone(): boolean {
    return this.stopped() || !this.scope.alive;
  }

  exists(path: string): Promise<NodeStat | null> {
    return this.scope.exists(path);
  }
}

/**
 * `group`'s reads, each one that set a watch noted in `audited` as what the audit checks: a
 * listing as the path's children, a node's data as that node at the mzxid read.
 */
function auditedReads(group: WatchGroup, audited: AuditItem[]): QueueReader {
  const reader: QueueReader = group;
  return {
    async getChildren(path: string, watcher?: Watcher) {
      const children = await reader.getChildren(path, watcher);
      if (watcher) audited.push({ kind: 'children', path });
      return children;
    },
    async getData(path: string, watcher?: Watcher) {
      const node = await reader.getData(path, watcher);
      if (watcher) audited.push({ kind: 'node', path, mzxid: node.stat.mzxid });
      return node;
    },
  };
}

/** A reading as the observer reports it: `missing` for a path that does not exist. */
function observedElection(reading: ElectionReading | null): ObservedElection {
  if (!reading) return { kind: 'missing', participants: [], leader: null, foreign: [], lockName: null };
  const { kind, participants, leader, foreign, lockName } = reading;
  return { kind, participants, leader, foreign, lockName };
}

/** What tells two readings apart: each participant by node and token (a single-node handover keeps the name) and data. */
function keyOf(election: ObservedElection): string {
  const participants = election.participants.map((participant) => [participant.node, String(participant.fencingToken), participant.data]);
  return JSON.stringify([election.kind, election.lockName, election.foreign, participants]);
}
