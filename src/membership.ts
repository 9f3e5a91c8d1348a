import { loadavg } from 'node:os';
import { maxNodeDataBytes, validateId } from './candidate.js';
import type { AclEntry } from './client/types.js';
import type { Clock, TimerHandle } from './clock.js';
import { Backoff, defaultRetry } from './backoff.js';
import { CoalescingRunner } from './coalesce.js';
import { SafeEmitter } from './emitter.js';
import { InvalidArgumentError, InvalidStateError, SessionClosedError, ZkLeaderError, isConnectionError, isZooKeeperError, toZkLeaderError } from './errors.js';
import { sessionPart, type MembershipHealth } from './health.js';
import type { Logger } from './logger.js';
import { validateAcl } from './acl.js';
import { validateMs } from './options.js';
import { joinPath, validatePath } from './paths.js';
import { RecipeSession } from './recipe-session.js';
import type { Session, SessionSource } from './session.js';
import { OwnerWatches } from './watch-group.js';

/** How many times leave() sends its delete when the connection is lost under it. */
const leaveAttempts = 3;

/** What a member publishes about its own health. */
export interface MemberHealth {
  /** The member's process id. */
  pid: number;
  /** `process.memoryUsage().heapUsed`. */
  heapUsedBytes: number;
  /** How long the member's process has run. */
  uptimeSeconds: number;
  /** One-minute load average of the member's machine. */
  load: number;
}

/** A group member as read from ZooKeeper. */
export interface Member {
  /** The member's id (unique in the group). */
  id: string;
  /** What it published when joining (JSON), or null. */
  data: unknown;
  /** Free text such as 'starting', 'ok', 'warning', 'error'. */
  status: string;
  /** Details of the status (JSON), if any. */
  details?: unknown;
  /** Its process's health, when it reports (`reportEveryMs`). */
  health?: MemberHealth;
  /** When the member last wrote its record (ms since the epoch). */
  updatedAt: number;
  /** The member's session, 16 hex digits. */
  sessionId: string;
  /** When its node was created (the server's clock, ms since the epoch). */
  joinedAt: number;
}

/** The events of a Membership and their payloads. */
export interface MembershipEvents {
  /** A member appeared. */
  joined: [member: Member];
  /** A member left (its node is gone: stopped, or its session ended). */
  left: [member: Member];
  /** A member wrote a new status, details or health. */
  updated: [member: Member];
  /** The whole group, after every change. */
  members: [members: Member[]];
  /** A read or write failed; the membership carries on and retries. */
  error: [error: ZkLeaderError];
}

/** Options of `new Membership()`: `connect` or `session`, and what to publish. */
export type MembershipOptions = {
  /** Publish pid, heap, uptime and load this often; 0 (default) publishes none. */
  reportEveryMs?: number;
  /** ACL of the group node and member nodes. Default open. */
  acl?: readonly AclEntry[];
} & SessionSource;

/** What `join()` publishes. */
export interface JoinOptions {
  /** This member's id, unique in the group. */
  id: string;
  /** JSON published with the membership, e.g. an address. */
  data?: unknown;
  /** The first status. Default 'starting'. */
  status?: string;
  /** Details of the status (JSON). */
  details?: unknown;
}

/** What a member writes into its own node. */
type OwnRecord = Omit<Member, 'sessionId' | 'joinedAt'>;

/**
 * One join's claim on its member node, from `join()` until `leave()`. Every write of the node
 * belongs to one tenure and ends, without a word, once its tenure is no longer the current one:
 * so no write can land after the leave() that ended it (leave() waits for them first), and a
 * leave() during a re-join's pause is no error.
 */
interface Tenure {
  /** What the node holds (replaced by setStatus()). */
  record: OwnRecord;
  /** This tenure's writes on their way: leave() waits for them before it deletes the node. */
  readonly writes: Set<Promise<boolean>>;
}

function parseMember(name: string, bytes: Buffer, sessionId: string, joinedAt: number): Member {
  let record: Partial<OwnRecord> = {};
  try {
    record = JSON.parse(bytes.toString('utf8')) as Partial<OwnRecord>;
  } catch {
    // written by another program: keep the raw text as data
    record = { data: bytes.toString('utf8') };
  }
  return {
    id: typeof record.id === 'string' ? record.id : name,
    data: record.data ?? null,
    status: typeof record.status === 'string' ? record.status : 'unknown',
    ...(record.details !== undefined ? { details: record.details } : {}),
    ...(record.health ? { health: record.health } : {}),
    updatedAt: typeof record.updatedAt === 'number' ? record.updatedAt : joinedAt,
    sessionId,
    joinedAt,
  };
}

function sameMember(a: Member, b: Member): boolean {
  return a.sessionId === b.sessionId && a.updatedAt === b.updatedAt && a.status === b.status && JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Group membership with status: each member is an ephemeral node `<path>/<id>` holding its
 * data, status and (optionally) health. Watchers see `joined`, `left`, `updated` and the
 * whole list in order. A member re-joins by itself after its session expires.
 */
export class Membership extends SafeEmitter<MembershipEvents> {
  /** A shared session, or (for an own session) made by the first join()/watch(): constructing connects nothing. */
  private readonly sessions: RecipeSession;
  private readonly reportEveryMs: number;
  private readonly acl: readonly AclEntry[];
  private path: string | null = null;
  /** The current join, if any: see Tenure. */
  private tenure: Tenure | null = null;
  /** The leave() on its way: a second leave() or stop() waits for it, and a new tenure's writes come after it. */
  private leaving: Promise<void> | null = null;
  /** The first watch()'s setup (group node and session subscription): later calls wait for it; a failed one is tried again. */
  private starting: Promise<void> | null = null;
  private known = new Map<string, Member>();
  private readonly reads = new CoalescingRunner(
    () => this.readAndPublish(),
    () => !this.closed,
  );
  private reportTimer: TimerHandle | null = null;
  /** Pauses between attempts at our node (a node of an earlier session lingers): stop() ends them. */
  private readonly pauses = new Set<{ resolve: () => void; timer: TimerHandle }>();
  private closed = false;
  /** The first stop()'s work: a later stop() waits for it and resolves. */
  private stopping: Promise<void> | null = null;
  /** Set when a read failed on the connection: the reconnect reads again. */
  private needsRead = false;
  /** Ids of our own earlier sessions: a node of theirs may linger until the server drops it. */
  private readonly ownSessionIds = new Set<string>();
  private unsubscribe: () => void = () => {};
  // One handler for every watch, so repeated reads add no callbacks.
  private readonly onChange = () => void this.refresh();
  /** Every watch this membership sets, in whichever session is current: removed by close(). */
  private readonly watches = new OwnerWatches();

  /**
   * Checks the options; connects nothing until `join()` or `watch()`.
   * @throws INVALID_ARGUMENT for bad options.
   */
  constructor(options: MembershipOptions) {
    super((options as { logger?: Logger } | undefined)?.logger);
    this.reportEveryMs = validateMs(options.reportEveryMs, 'reportEveryMs', 0, 'zero');
    this.acl = validateAcl(options.acl);
    this.sessions = new RecipeSession(options, { reportEveryMs: true, acl: true }, 'Membership');
  }

  /**
   * The session the membership runs on: the one passed, or its own once `join()` or `watch()` made it.
   * @throws INVALID_STATE for an own session before `join()` or `watch()`.
   */
  get session(): Session {
    return this.sessions.get('membership', 'join() or watch()');
  }

  /**
   * Joins the group at `path` as `id` and starts watching it.
   * @throws INVALID_STATE when already joined or closed; INVALID_ARGUMENT for a bad id or path;
   * ZooKeeper's codes (NO_AUTH, NODE_EXISTS for an id taken by a live member).
   * @example
   * const members = new Membership({ connect: '127.0.0.1:2181', reportEveryMs: 5000 });
   * members.on('left', (member) => console.log(`${member.id} is gone`));
   * await members.join('/services/workers', { id: 'w1', data: { port: 8081 }, status: 'ok' });
   */
  async join(path: string, options: JoinOptions): Promise<void> {
    if (this.tenure) throw new InvalidStateError(`already joined as '${this.tenure.record.id}': call leave() first`);
    const id = validateId(options?.id);
    const tenure: Tenure = {
      record: { id, data: options.data ?? null, status: options.status ?? 'starting', details: options.details, updatedAt: wallClockNow() },
      writes: new Set(),
    };
    this.tenure = tenure;
    try {
      await this.watch(path);
      // stop() or leave() may come while we wait: then this join is over, and says so.
      if (this.tenure === tenure && !this.closed && (await this.writeOwn(tenure, 'create'))) return this.scheduleReport();
    } catch (error) {
      // Not a member: a later join() may try again.
      if (this.tenure === tenure) this.tenure = null;
      throw error;
    }
    throw new InvalidStateError(`stop() or leave() was called before member '${id}' had joined`);
  }

  /** Timers and elapsed time run on the session's clock, real or simulated. */
  private get clock(): Clock {
    return this.session.runtime.clock;
  }

  /** Arms the next health report, one `reportEveryMs` from now (a re-armed timeout, not an interval: stop() clears the one there is). */
  private scheduleReport(): void {
    // One report chain at a time: a report in flight across leave() and join() re-arms it too.
    this.cancelReport();
    const tenure = this.tenure;
    if (this.reportEveryMs === 0 || this.closed || !tenure) return;
    this.reportTimer = this.clock.setTimeout(() => {
      this.reportTimer = null;
      if (this.tenure !== tenure) return;
      tenure.record = { ...tenure.record, updatedAt: wallClockNow() };
      // A leave() on the way ends the report quietly (writeOwn resolves false).
      void this.writeOwn(tenure, 'update')
        .catch((error: unknown) => this.fail(error))
        .finally(() => {
          if (!this.reportTimer) this.scheduleReport();
        });
    }, this.reportEveryMs);
  }

  private cancelReport(): void {
    if (this.reportTimer) this.clock.clearTimeout(this.reportTimer);
    this.reportTimer = null;
  }

  /**
   * Watches the group at `path` without joining; resolves with the members as of now.
   * @throws INVALID_STATE when closed or watching another path; INVALID_ARGUMENT for a bad path.
   */
  async watch(path: string): Promise<Member[]> {
    if (this.closed) throw new InvalidStateError('the membership is closed: create a new one');
    const valid = validatePath(path);
    if (this.path && this.path !== valid) throw new InvalidStateError(`already watching '${this.path}'`);
    if (!this.path) {
      this.path = valid;
      this.starting = this.start(valid).catch((error: unknown) => {
        // Not watching: a later watch() or join() sets up again, on any path.
        if (!this.closed) [this.path, this.starting] = [null, null];
        throw error;
      });
    }
    await this.starting;
    await this.refresh();
    return [...this.known.values()];
  }

  /** The first watch(): the group node, then the session's events. */
  private async start(path: string): Promise<void> {
    await this.sessions.open().ready();
    await this.ensureGroup(path);
    // Stopped while we waited: subscribe to nothing (stop() has run its unsubscribe).
    if (this.closed) throw new InvalidStateError('the membership was stopped while watch() was starting');
    this.unsubscribe = this.session.subscribe({
      // A new session: our ephemeral node and every watch are gone. A leave() meanwhile ends the write quietly.
      connected: () => {
        if (this.tenure) void this.writeOwn(this.tenure, 'create').catch((error: unknown) => this.fail(error));
        void this.refresh();
      },
      // The same session kept its watches: read again only if a read was interrupted.
      reconnected: () => {
        if (this.needsRead) void this.refresh();
      },
    });
  }

  /**
   * Publishes a new status (and details); health too when reporting is on.
   * @throws INVALID_STATE before `join()`, or when `leave()` or `stop()` comes first; INVALID_ARGUMENT for an empty status.
   */
  async setStatus(status: string, details?: unknown): Promise<void> {
    const tenure = this.tenure;
    if (!tenure) throw new InvalidStateError('join() first');
    if (typeof status !== 'string' || status === '') throw new InvalidArgumentError(`status must be a non-empty string: got ${JSON.stringify(status)}`);
    tenure.record = { ...tenure.record, status, details, updatedAt: wallClockNow() };
    if (!(await this.writeOwn(tenure, 'update'))) throw new InvalidStateError('stop() or leave() was called before the status was written');
  }

  /**
   * For a readiness probe: `ok` while it watches a group on a connected session and, once
   * joined, its own member node is in place. Plain JSON.
   */
  health(): MembershipHealth {
    const { sessionState, lastHeardMs } = sessionPart(this.sessions.opened);
    const own = this.tenure?.record ?? null;
    const joined = own !== null && [...this.known.values()].some((member) => member.id === own.id && member.sessionId === this.sessions.opened?.sessionId);
    const state = this.closed ? 'closed' : this.path === null ? 'idle' : 'running';
    const reason =
      state !== 'running'
        ? state === 'idle'
          ? 'not watching a group yet'
          : 'closed'
        : sessionState !== 'connected'
          ? `session ${sessionState}`
          : own && !joined
            ? 'own member node not in place yet'
            : null;
    return { ok: reason === null, reason, state, group: this.path, joined, members: this.known.size, sessionState, lastHeardMs };
  }

  /** The members, read from ZooKeeper now. */
  async members(): Promise<Member[]> {
    if (!this.path) throw new InvalidStateError('join() or watch() first');
    return this.read(false);
  }

  private encodeOwn(own: OwnRecord): Buffer {
    const record: OwnRecord = { ...own, ...(this.reportEveryMs > 0 ? { health: currentHealth() } : {}) };
    const bytes = Buffer.from(JSON.stringify(record));
    if (bytes.length > maxNodeDataBytes) throw new InvalidArgumentError(`member record is ${bytes.length} bytes; at most ${maxNodeDataBytes}`);
    return bytes;
  }

  /** How long a node of our own earlier session may linger: one session timeout and a margin. */
  private get lingerMs(): number {
    return this.session.sessionTimeoutMs + 2000;
  }

  /** Creates the group's path; a lost connection or an expiry on the way is waited out (stop() ends the wait). */
  private async ensureGroup(path: string): Promise<void> {
    const backoff = new Backoff(defaultRetry, this.session.runtime.random);
    for (;;) {
      try {
        return await this.session.ensurePath(path, this.acl);
      } catch (error) {
        if (this.closed) return;
        if (!isConnectionError(error)) throw error;
        await this.pause(backoff.next());
        if (this.closed) return;
      }
    }
  }

  /**
   * Writes our node for `tenure`, riding out lost connections and a node of our earlier session
   * that lingers. Resolves true once written, false once the tenure ended first (leave() or stop():
   * no error, the write is simply no longer wanted).
   * @throws MEMBER_ID_TAKEN, or the server's code (NO_AUTH...), for a write that cannot succeed.
   */
  private writeOwn(tenure: Tenure, mode: 'create' | 'update'): Promise<boolean> {
    const write = this.attemptWrites(tenure, mode);
    tenure.writes.add(write);
    const settled = () => void tenure.writes.delete(write);
    write.then(settled, settled);
    return write;
  }

  private async attemptWrites(tenure: Tenure, mode: 'create' | 'update'): Promise<boolean> {
    const ended = () => this.closed || this.tenure !== tenure;
    // An earlier tenure's leave() deletes by name: our create must come after it.
    if (this.leaving) await this.leaving.catch(() => {});
    const id = tenure.record.id;
    const path = joinPath(this.path!, id);
    // Set when a node of our earlier session is first seen (a lost connection before that is no part of the bound).
    let waitUntil: number | null = null;
    const backoff = new Backoff(defaultRetry, this.session.runtime.random);
    for (;;) {
      if (ended()) return false;
      try {
        if (mode === 'update') await this.session.setData(path, this.encodeOwn(tenure.record));
        else {
          // Before the create: its reply may be lost and the node outlive this session.
          this.ownSessionIds.add(this.session.sessionId);
          await this.session.create(path, this.encodeOwn(tenure.record), 'ephemeral', this.acl);
        }
        return true;
      } catch (error) {
        if (mode === 'update' && isZooKeeperError(error, 'NO_NODE')) {
          mode = 'create';
          continue;
        }
        try {
          if (mode !== 'create' || !isZooKeeperError(error, 'NODE_EXISTS')) throw error;
          const stat = await this.session.exists(path);
          if (!stat) continue;
          // Ours: a create whose reply was lost landed after all.
          if (stat.ephemeralOwner === this.session.sessionId) return true;
          // A node of our expired session lingers until the server drops it: wait for that,
          // a bounded time. Anyone else's is a second member with our id.
          waitUntil ??= this.clock.now() + this.lingerMs;
          if (!this.ownSessionIds.has(stat.ephemeralOwner) || this.clock.now() > waitUntil) {
            throw new ZkLeaderError(
              'MEMBER_ID_TAKEN',
              `member id '${id}' at ${path} is held by session 0x${stat.ephemeralOwner}: give each member a unique id, or stop the other one`,
            );
          }
          // Backoff as the election's: spread out, and never past the bound by much.
          if (!ended()) await this.pause(Math.min(backoff.next(), Math.max(0, waitUntil - this.clock.now()) + 1));
        } catch (failure) {
          // The connection dropped before the reply (the write may have landed), or the session
          // ended: write again once the session is back, as every recipe rides those out. A
          // create that did land answers NODE_EXISTS in our session.
          if (!isConnectionError(failure)) throw failure;
          if (!ended()) await this.pause(backoff.next());
        }
      }
    }
  }

  /** Ends every pause now (their loops look again at whether they are still wanted). */
  private endPauses(): void {
    for (const pause of [...this.pauses]) {
      this.clock.clearTimeout(pause.timer);
      pause.resolve();
    }
  }

  /** A pause on the session's clock that stop() and leave() end early. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const pause = {
        resolve: () => {
          this.pauses.delete(pause);
          resolve();
        },
        timer: this.clock.setTimeout(() => pause.resolve(), ms),
      };
      this.pauses.add(pause);
    });
  }

  private refresh(): Promise<void> {
    return this.reads.request();
  }

  private async readAndPublish(): Promise<void> {
    try {
      this.needsRead = false;
      this.publish(await this.read(true));
    } catch (error) {
      // A lost connection: the session's connected/reconnected events read again.
      if (isConnectionError(error)) this.needsRead = true;
      else this.fail(error);
    }
  }

  private async read(watch: boolean): Promise<Member[]> {
    const path = this.path!;
    const scope = this.session.scope;
    if (!scope?.alive) return [...this.known.values()];
    const watches = this.watches.in(scope);
    const children = (await (watch ? watches.getChildren(path, this.onChange) : scope.getChildren(path))).sort();
    const read = await Promise.all(
      children.map(async (name) => {
        try {
          const child = joinPath(path, name);
          const { data, stat } = await (watch ? watches.getData(child, this.onChange) : scope.getData(child));
          return parseMember(name, data, stat.ephemeralOwner, stat.createdAtMs);
        } catch (error) {
          if (isZooKeeperError(error, 'NO_NODE')) return null;
          throw error;
        }
      }),
    );
    return read.filter((member): member is Member => member !== null);
  }

  private publish(members: Member[]): void {
    if (this.closed) return;
    const next = new Map(members.map((member) => [member.id, member]));
    const events: ['joined' | 'left' | 'updated', Member][] = [];
    for (const [id, member] of this.known) if (!next.has(id)) events.push(['left', member]);
    for (const [id, member] of next) {
      const before = this.known.get(id);
      if (!before) events.push(['joined', member]);
      else if (!sameMember(before, member)) events.push(['updated', member]);
    }
    // State first, then events: a listener that reads health() sees the group it is told of.
    this.known = next;
    for (const [event, member] of events) this.emit(event, member);
    if (events.length > 0) this.emit('members', members);
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.emit('error', toZkLeaderError(error));
  }

  /**
   * Leaves the group (deletes our node) but keeps watching. Resolves once the node is gone; a
   * second call meanwhile resolves with the first.
   * @throws the server's code (NO_AUTH when the group's ACL denies DELETE), or CONNECTION_LOSS
   * after the connection was lost on each of 3 tries.
   */
  leave(): Promise<void> {
    // Already leaving, and not joined again since: the same leave.
    if (this.leaving && !this.tenure) return this.leaving;
    this.cancelReport();
    const tenure = this.tenure;
    this.tenure = null;
    // The tenure's writes end now (a pause is cut short): removeOwn() waits for them.
    this.endPauses();
    const previous = this.leaving;
    const leaving = (async () => {
      if (previous) await previous.catch(() => {});
      await this.removeOwn(tenure);
    })().finally(() => {
      if (this.leaving === leaving) this.leaving = null;
    });
    this.leaving = leaving;
    return leaving;
  }

  private async removeOwn(tenure: Tenure | null): Promise<void> {
    if (!tenure || !this.path || this.session.state === 'closed') return;
    // A write on its way to the server lands before our delete, which then removes it.
    await Promise.allSettled([...tenure.writes]);
    // A lost connection is tried again (the request waits for the session), a bounded number of
    // times; a closed or expired session took the ephemeral node with it.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.session.remove(joinPath(this.path, tenure.record.id));
        return;
      } catch (error) {
        if (isZooKeeperError(error, 'NO_NODE', 'SESSION_EXPIRED') || error instanceof SessionClosedError) return;
        if (!isConnectionError(error) || attempt === leaveAttempts) throw error;
      }
    }
  }

  /**
   * The same as `stop()`.
   * @deprecated use `stop()`, the name all three recipes share.
   */
  close(): Promise<void> {
    return this.stop();
  }

  /**
   * Leaves, stops watching, and closes an own session. Before `join()`/`watch()`, and again, a no-op.
   * @throws NO_AUTH (or the server's other code; the membership is stopped all the same, and
   * this is said once) when our member node could not be deleted in a shared session: the
   * group's ACL denies DELETE, and the node stays until that session closes. (An own session
   * is closed, which removes the node.)
   */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping.catch(() => {});
    this.stopping = this.finish();
    return this.stopping;
  }

  private async finish(): Promise<void> {
    const group = this.path;
    let leftInShared: ZkLeaderError | null = null;
    try {
      await this.leave();
    } catch (cause) {
      // An own session's node goes with the session, closed below: no loss. In a shared
      // session it stays, and the caller must hear of it.
      if (this.sessions.owned) this.logger.debug({ err: cause }, 'zk-leader: leave() failed; closing the own session removes the member node');
      else {
        const code = cause instanceof ZkLeaderError ? cause.code : 'UNEXPECTED';
        const why = isZooKeeperError(cause, 'NO_AUTH')
          ? `the ACL of ${group} must grant this member's credentials DELETE`
          : isConnectionError(cause)
            ? `the connection was lost on each of ${leaveAttempts} tries`
            : String(cause);
        leftInShared = new ZkLeaderError(
          code,
          `stop() could not delete our member node (${code} on ${group}): ${why}; the node stays until the shared session closes`,
          { cause },
        );
      }
    }
    this.closed = true;
    this.cancelReport();
    this.endPauses();
    this.unsubscribe();
    this.watches.close();
    if (this.sessions.owned) await this.sessions.opened?.close();
    if (leftInShared) throw leftInShared;
  }

  /** `await using membership = new Membership(...)`: closes it when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * `updatedAt` is published: readers show it as a date and compare it across machines, which
 * only wall time allows. Nothing in the library measures elapsed time with it (that is the
 * session's monotonic clock).
 */
function wallClockNow(): number {
  return Date.now();
}

function currentHealth(): MemberHealth {
  return {
    pid: process.pid,
    heapUsedBytes: process.memoryUsage().heapUsed,
    uptimeSeconds: Math.round(process.uptime()),
    load: loadavg()[0] ?? 0,
  };
}
