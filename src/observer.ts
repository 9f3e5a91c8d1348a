import { EventEmitter } from 'eventemitter3';
import { InvalidStateError, ZkLeaderError, isConnectionError, isZooKeeperError } from './errors.js';
import { electionOrder, validatePath, type CandidateName } from './paths.js';
import { readParticipant, type LeaderInfo } from './queue.js';
import { CoalescingRunner } from './coalesce.js';
import { sessionFrom, type Session, type SessionSource } from './session.js';
import { WatchSet } from './watches.js';

export interface ObservedLeader extends LeaderInfo {
  /** When this observer first saw this leader (ms since the epoch). */
  since: number;
}

export interface LeaderObserverEvents {
  /** The leader changed: a new one, or null while nobody leads. */
  leader: [leader: ObservedLeader | null];
  error: [error: ZkLeaderError];
  closed: [];
}

export type LeaderObserverOptions = { path: string } & SessionSource;

/**
 * Follows an election without taking part: knows the current leader (to route requests to
 * the master, say) and emits `leader` on every change. It watches the queue's children, so
 * it hears of every join and leave; participants themselves never do that.
 */
export class LeaderObserver extends EventEmitter<LeaderObserverEvents> {
  readonly path: string;
  readonly session: Session;
  private readonly ownsSession: boolean;
  private current: ObservedLeader | null = null;
  private readonly looks = new CoalescingRunner(() => this.lookAndReport(), () => !this.closed);
  private closed = false;
  private started: Promise<void> | null = null;
  private readonly watches = new WatchSet();
  private readonly onConnected = () => {
    // After an expiry no watch of ours is left; after a reconnect they all are.
    if (this.session.generation !== this.watchedGeneration) this.watches.retain(() => false);
    this.watchedGeneration = this.session.generation;
    void this.refresh();
  };
  private watchedGeneration = 0;

  constructor(options: LeaderObserverOptions) {
    super();
    this.path = validatePath(options.path);
    ({ session: this.session, ownsSession: this.ownsSession } = sessionFrom(options));
  }

  /** The leader as last seen, or null. */
  get leader(): ObservedLeader | null {
    return this.current;
  }

  /** Starts following; resolves once the current leader (or its absence) is known. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new InvalidStateError('the observer is closed: create a new one'));
    this.started ??= (async () => {
      await this.session.ready();
      // A new session after expiry has lost our watch: look again.
      this.session.on('connected', this.onConnected);
      this.session.on('reconnected', this.onConnected);
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
    } catch (error) {
      if (this.closed) return;
      // A lost connection is retried by the session's connected/reconnected events.
      if (isConnectionError(error)) return;
      this.emit('error', error instanceof ZkLeaderError ? error : new ZkLeaderError('UNEXPECTED', String(error), { cause: error }));
    }
  }

  private async look(): Promise<void> {
    const onChange = () => void this.refresh();
    let queue: CandidateName[];
    try {
      queue = electionOrder(await this.session.getChildren(this.path, this.watches.watcher('children', onChange)));
    } catch (error) {
      this.watches.release('children');
      if (!isZooKeeperError(error, 'NO_NODE')) throw error;
      // No election node yet: watch for its creation instead.
      const created = await this.session.exists(this.path, this.watches.watcher('exists', onChange));
      if (created) return void this.refresh();
      queue = [];
    }
    let leader: LeaderInfo | null = null;
    for (const candidate of queue) {
      leader = await readParticipant(this.session, this.path, candidate);
      if (leader) break;
    }
    if (this.closed || leader?.node === this.current?.node) return;
    this.current = leader ? { ...leader, since: Date.now() } : null;
    this.emit('leader', this.current);
  }

  /**
   * Resolves with the leader as soon as there is one. Rejects with `timeoutMs` elapsed
   * (code WAIT_TIMEOUT) or when `signal` aborts.
   */
  async waitForLeader(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<ObservedLeader> {
    await this.start();
    if (this.current) return this.current;
    return new Promise((resolve, reject) => {
      const timer = options.timeoutMs === undefined ? null : setTimeout(() => {
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
        reject(options.signal?.reason);
      };
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        this.off('leader', onLeader);
        options.signal?.removeEventListener('abort', onAbort);
      };
      this.on('leader', onLeader);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Stops following (and closes an own session). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.session.off('connected', this.onConnected);
    this.session.off('reconnected', this.onConnected);
    if (this.ownsSession) await this.session.close();
    this.emit('closed');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
