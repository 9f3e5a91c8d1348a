import { candidateNameStem } from './candidate.js';
import type { AclEntry, NodeData, NodeStat, WatchEvent, Watcher } from './client/types.js';
import { ZkLeaderError, isConnectionError, isZooKeeperError } from './errors.js';
import { createRequestBytes, defaultJuteMaxBufferBytes } from './limits.js';
import { joinPath } from './paths.js';
import { isNameOf, type RecipeName, type SequentialRecipe } from './recipes.js';
import type { SessionScope } from './session.js';
import type { WatchGroup } from './watch-group.js';

/**
 * Why a candidacy ended by itself: its node was deleted, its session ended, or its node can
 * no longer be watched (a read of it was refused: an operator changed its ACL), so that a
 * deletion would go unheard.
 */
export type CandidacyEnd = 'node-deleted' | 'expired' | 'unwatchable';

/**
 * Creates lost to the connection in a row before a create much larger than a default server
 * accepts is taken for what it most likely is: a request over the server's jute.maxbuffer,
 * which the server answers by closing the connection.
 */
const lostCreatesBeforeTooLarge = 3;

export interface CandidacySpec {
  electionPath: string;
  /** The format our node is named in. */
  recipe: RecipeName;
  prefix: string;
  payload: Buffer;
  acl: readonly AclEntry[];
  /**
   * The single-node recipe: one ephemeral node of this name that every participant races to
   * create, instead of a sequential node of our own.
   */
  fixedName?: string;
}

/** Our node, once created and confirmed ours in this session. */
export interface OwnNode {
  name: string;
  path: string;
  /** The node's czxid: the fencing token of any term it leads. */
  fencingToken: bigint;
}

/**
 * One znode we hold in an election, in one ZooKeeper session: it creates the node (finding it
 * again by its GUID when a create's reply is lost), watches it for its whole life, watches
 * other nodes on its behalf, and removes it. The moment the node is gone (deleted by anyone,
 * or its session ended) the candidacy is inert: every watch it set calls nobody, and it
 * reports the end exactly once. So nothing that belongs to a node we no longer hold can act.
 */
export class Candidacy {
  readonly guid: string;
  private status: 'joining' | 'held' | 'gone' = 'joining';
  private own: OwnNode | null = null;
  private joining: Promise<boolean> | null = null;
  /** A create was sent: our node may exist though no reply said so. */
  private mayExist = false;
  /** The node a create (or a lookup by GUID) returned, before it is confirmed: a failed join may leave it. */
  private created: string | null = null;
  /** The node our own watch is on, from the moment it is set (before the node is confirmed). */
  private watchedPath: string | null = null;
  private removal: Promise<void> | null = null;
  /** Single-node: the last create found the node held by another session. */
  private heldByOther = false;
  private readonly watchers = new Map<string, Watcher>();
  /** Every watch this candidacy sets, its own node's included: closed when it ends, which removes them. */
  private readonly watches: WatchGroup;
  /** Creates of this candidacy's node lost to the connection in a row. */
  private lostCreates = 0;
  /** Why the candidacy can no longer watch its node, once that is so. */
  private watchFailure: unknown = null;
  private readonly onScopeEnded = () => this.end('expired');

  /**
   * @param adopt the GUID of a node of this session that an earlier candidacy could not
   * delete (a refused delete): this candidacy finds that node again instead of creating one.
   */
  constructor(
    readonly scope: SessionScope,
    private readonly spec: CandidacySpec,
    private readonly onEnd: (candidacy: Candidacy, reason: CandidacyEnd) => void,
    adopt?: string,
  ) {
    this.guid = adopt ?? scope.runtime.newGuid();
    this.watches = scope.watchGroup();
    this.mayExist = adopt !== undefined;
    if (!scope.alive) this.status = 'gone';
    else scope.signal.addEventListener('abort', this.onScopeEnded, { once: true });
  }

  /** Our node exists, is ours in this session, and is watched: the candidacy may lead. */
  get held(): boolean {
    return this.status === 'held';
  }

  get gone(): boolean {
    return this.status === 'gone';
  }

  /** Single-node: the last join found the node held by another session (try again when it goes). */
  get outraced(): boolean {
    return this.heldByOther && this.status === 'joining';
  }

  /** Our node, while held. */
  get node(): OwnNode | null {
    return this.status === 'held' ? this.own : null;
  }

  /** The path our node had, also after the candidacy ended. */
  get nodePath(): string | null {
    return this.own?.path ?? null;
  }

  /**
   * Creates our node (once; later calls share the first) and confirms it. Resolves true when
   * held, false when the candidacy ended meanwhile (and then no node of it is left behind).
   * @throws a ZooKeeperError the election cannot heal by retrying (NO_AUTH, a path under an
   * ephemeral node, ...).
   */
  join(): Promise<boolean> {
    if (!this.joining) {
      const attempt = this.createAndConfirm();
      this.joining = attempt;
      // A failed attempt (NO_AUTH, say) may be tried again later, by the same GUID; so may a
      // single-node race lost to another session, once its node is gone.
      attempt.then(
        () => {
          if (this.joining === attempt && this.outraced) this.joining = null;
        },
        () => {
          if (this.joining === attempt) this.joining = null;
        },
      );
    }
    return this.joining;
  }

  private async createAndConfirm(): Promise<boolean> {
    let path: string | null = null;
    try {
      path = await this.createOrFind();
      this.created = path;
      if (!path || this.status === 'gone') return false;
      // Known before the answer: a data change may fire the watch in the very read that
      // brings its answer, and must find the path to watch again.
      this.watchedPath = path;
      let stat;
      try {
        ({ stat } = await this.watches.getData(path, this.ownWatcher));
      } catch (error) {
        // Deleted before we could watch it (an operator): this candidacy is over. (Only this
        // read's NO_NODE means that; a create's means a missing parent or chroot.)
        if (!isZooKeeperError(error, 'NO_NODE')) throw error;
        this.end('node-deleted');
        return false;
      }
      // The GUID makes the node ours; the owner check makes it ours in THIS session.
      if (stat.ephemeralOwner !== this.scope.sessionId) {
        path = null; // not ours to delete
        this.end('node-deleted');
        return false;
      }
      if (this.gone) return false;
      this.own = { name: path.slice(this.spec.electionPath.length + 1), path, fencingToken: stat.czxid };
      this.status = 'held';
      return true;
    } catch (error) {
      if (isZooKeeperError(error, 'SESSION_EXPIRED') || this.status === 'gone') return false;
      throw error;
    } finally {
      // Released (or ended) while the create was in flight: leave no orphan behind.
      if (path && this.status === 'gone') {
        this.created = null;
        await this.removeNode(path);
      }
    }
  }

  /**
   * Our node: found by GUID when an earlier create may have made it, else created. Each call
   * sends at most one create of our node: a connection loss goes to the evaluation, which
   * tries again with backoff, so a server that closes the connection on it sees no storm.
   */
  private async createOrFind(): Promise<string | null> {
    const { electionPath, recipe, prefix, payload, acl, fixedName } = this.spec;
    const fixed = fixedName !== undefined;
    const path = fixed ? joinPath(electionPath, fixedName) : joinPath(electionPath, candidateNameStem(prefix, this.guid, recipe as SequentialRecipe));
    if (fixed) this.heldByOther = false;
    for (let parentsMade = 0; ; parentsMade += 1) {
      if (this.mayExist) {
        // The create may have been applied though its reply was lost; a reconnect may have
        // landed on a server that has not seen it yet: sync, then look for our GUID.
        await this.scope.sync(electionPath);
        const found = await this.findByGuid();
        if (found) {
          try {
            await this.scope.applyAcl(found, acl);
          } catch (error) {
            // Found, then deleted (by an operator) before its ACL was set: this candidacy is over.
            if (!isZooKeeperError(error, 'NO_NODE')) throw error;
            this.end('node-deleted');
            return null;
          }
          return found;
        }
      }
      if (this.status === 'gone') return null;
      try {
        this.mayExist = true;
        const created = await this.scope.create(path, payload, fixed ? 'ephemeral' : 'ephemeral-sequential', acl);
        this.lostCreates = 0;
        return created;
      } catch (error) {
        if (fixed && isZooKeeperError(error, 'NODE_EXISTS')) {
          // Ours if a create whose reply was lost made it; anyone else's otherwise.
          if (await this.findByGuid()) return path;
          this.heldByOther = true;
          this.mayExist = false;
          return null;
        }
        // The election node is missing (never made, or deleted, perhaps again right after we
        // made it): make it, a few times at most; a missing chroot is its own error.
        if (isZooKeeperError(error, 'NO_NODE') && parentsMade < 3) {
          await this.scope.ensurePath(electionPath, acl);
          continue;
        }
        if (isConnectionError(error)) this.noteLostCreate(path);
        throw error;
      }
    }
  }

  /** A create lost to the connection: after a few in a row, say what a server that drops it means. */
  private noteLostCreate(path: string): void {
    this.lostCreates += 1;
    const bytes = createRequestBytes(this.scope.chrootedPath(path), this.spec.payload, this.spec.acl);
    if (this.lostCreates < lostCreatesBeforeTooLarge || bytes <= defaultJuteMaxBufferBytes) return;
    this.lostCreates = 0;
    throw new ZkLeaderError(
      'REQUEST_TOO_LARGE',
      `the server closed the connection on each of the last ${lostCreatesBeforeTooLarge} creates of ${path} (a request of ${bytes} bytes, over the ${defaultJuteMaxBufferBytes} a default jute.maxbuffer accepts): publish less data, or set juteMaxBufferBytes to the server's jute.maxbuffer`,
    );
  }

  /** Our node: by GUID, or for the single-node recipe, the one node if our session owns it. */
  private async findByGuid(): Promise<string | null> {
    const { fixedName, electionPath } = this.spec;
    if (fixedName !== undefined) {
      // exists, not getData: ZooKeeper checks no ACL on it, so an operator who took READ from
      // the node does not keep us from knowing it ours.
      const path = joinPath(electionPath, fixedName);
      const stat = await this.scope.exists(path);
      return stat?.ephemeralOwner === this.scope.sessionId ? path : null;
    }
    try {
      const mine = (await this.scope.getChildren(this.spec.electionPath)).find((name) => isNameOf(name, this.guid));
      return mine ? joinPath(this.spec.electionPath, mine) : null;
    } catch (error) {
      if (isZooKeeperError(error, 'NO_NODE')) return null;
      throw error;
    }
  }

  // Our own node stays watched for the candidacy's whole life: its deletion (by anyone)
  // reaches us before any later event on this connection, so no watch of a dead candidacy
  // can be mistaken for one of a live one. A data change fires the one-shot watch too.
  private readonly ownWatcher: Watcher = (event) => {
    if (this.status === 'gone') return;
    if (event.type === 'deleted') this.end('node-deleted');
    else void this.rearmOwnWatch();
  };

  private async rearmOwnWatch(): Promise<void> {
    const path = this.watchedPath;
    while (path && this.status !== 'gone') {
      try {
        await this.watches.getData(path, this.ownWatcher);
        return;
      } catch (error) {
        if (isZooKeeperError(error, 'NO_NODE')) return this.end('node-deleted');
        // A connection loss: try again (the next request waits for the reconnect). An ended
        // session ends the candidacy through the scope.
        if (isConnectionError(error)) continue;
        // Refused (NO_AUTH: an operator changed the node's ACL to deny READ): its deletion
        // would go unheard, so the node can no longer vouch for a term.
        this.watchFailure = error;
        return this.end('unwatchable');
      }
    }
  }

  /** Why the node could no longer be watched, after an end for 'unwatchable'. */
  get unwatchableBecause(): unknown {
    return this.watchFailure;
  }

  /**
   * Our node is missing from a listing sent after it was confirmed (in the same session, so
   * the listing saw our create): it is gone, whatever the watch has or has not said yet.
   */
  missingFromListing(): void {
    if (this.status === 'held') this.end('node-deleted');
  }

  /**
   * Reads `path` with a data watch on this candidacy's behalf; at most one per path, or per
   * `slot` when given (a new one replaces the previous, on whatever node that was). Null when the node does not exist (no watch is left then).
   * The watch calls `onEvent` only while the candidacy lives.
   */
  async watch(path: string, onEvent: (event: WatchEvent) => void, slot?: string): Promise<NodeData | null> {
    if (this.status === 'gone') return null;
    try {
      return await this.watchedRead(slot ?? `data:${path}`, onEvent, (handler) => this.watches.getData(path, handler));
    } catch (error) {
      if (isZooKeeperError(error, 'NO_NODE')) return null;
      throw error;
    }
  }

  /**
   * Lists `path`'s children with a children watch on this candidacy's behalf (one per path; a
   * new one replaces the previous), calling `onEvent` on the next join or leave while the
   * candidacy lives. Rejects as `getChildren` does (NO_NODE when the path is gone).
   */
  list(path: string, onEvent: (event: WatchEvent) => void): Promise<string[]> {
    if (this.status === 'gone') return this.scope.getChildren(path);
    return this.watchedRead(`children:${path}`, onEvent, (handler) => this.watches.getChildren(path, handler));
  }

  /** `exists` of `path` without a watch, in this candidacy's session (for a `WatchAudit`). */
  exists(path: string): Promise<NodeStat | null> {
    return this.scope.exists(path);
  }

  /** Whether a children watch of this candidacy on `path` is set and has not fired yet. */
  listening(path: string): boolean {
    return this.watchers.has(`children:${path}`);
  }

  private async watchedRead<T>(key: string, onEvent: (event: WatchEvent) => void, read: (handler: Watcher) => Promise<T>): Promise<T> {
    const previous = this.watchers.get(key);
    // The slot's previous watch (on whatever node that was) goes: one watch per slot.
    if (previous) this.watches.cancel(previous);
    const handler: Watcher = (event) => {
      if (this.watchers.get(key) === handler) this.watchers.delete(key);
      if (this.status !== 'gone') onEvent(event);
    };
    this.watchers.set(key, handler);
    try {
      return await read(handler);
    } catch (error) {
      if (this.watchers.get(key) === handler) this.watchers.delete(key);
      throw error;
    }
  }

  private end(reason: CandidacyEnd | 'released'): void {
    if (this.status === 'gone') return;
    this.status = 'gone';
    this.scope.signal.removeEventListener('abort', this.onScopeEnded);
    this.watchers.clear();
    this.watches.close();
    if (reason !== 'released') this.onEnd(this, reason);
  }

  /**
   * Ends the candidacy and deletes its node: inert at once; resolves when the node is gone
   * (retrying through connection losses) or its session has ended, which takes it too. A
   * create still in flight is waited for and its node deleted.
   */
  release(): Promise<void> {
    this.removal ??= (async () => {
      const own = this.own;
      this.end('released');
      await this.joining?.catch(() => false);
      // A join that failed after its create (the watch on the new node lost with the
      // connection, say) left a node no confirmed state knows of: remove that one too, or
      // look for it by GUID when even the create's answer was lost.
      const path = own?.path ?? this.created ?? (this.mayExist ? await this.findAgain() : null);
      if (path) await this.removeNode(path);
    })();
    return this.removal;
  }

  /**
   * Tries the removal of a released candidacy's node once more (after a refused delete: the
   * ACL may have been fixed since); resolves when it is gone or its session ended.
   * @throws what the delete throws (NO_AUTH while the ACL still denies it).
   */
  async removeAgain(): Promise<void> {
    const path = this.own?.path ?? this.created;
    if (path) await this.removeNode(path);
  }

  /** Our node by GUID, once the server we talk to has caught up; null when there is none or the session ended. */
  private async findAgain(): Promise<string | null> {
    while (this.scope.alive) {
      try {
        await this.scope.sync(this.spec.electionPath);
        return await this.findByGuid();
      } catch (error) {
        if (!isZooKeeperError(error, 'CONNECTION_LOSS', 'OPERATION_TIMEOUT')) return null;
      }
    }
    return null;
  }

  private async removeNode(path: string): Promise<void> {
    while (this.scope.alive) {
      try {
        // A fixed name is anyone's once our node is gone: delete only the version this session
        // owns. (A sequential name carries our GUID: nobody else can have made it.)
        const version = this.spec.fixedName === undefined ? -1 : await this.ownedVersion(path);
        if (version === null) return;
        await this.scope.remove(path, version);
        return;
      } catch (error) {
        if (isZooKeeperError(error, 'NO_NODE', 'SESSION_EXPIRED')) return;
        // Written since we read its version (an operator): still ours, look again.
        if (isZooKeeperError(error, 'BAD_VERSION')) continue;
        if (!isZooKeeperError(error, 'CONNECTION_LOSS', 'OPERATION_TIMEOUT')) throw error;
      }
    }
  }

  /**
   * The version of `path` if it is the node this candidacy made (our session owns it and, once
   * known, its czxid is our token), else null. By `exists`, which needs no READ. A version alone
   * does not tell nodes apart (every new node has version 0), so between this answer and the
   * delete another session's node of that name could still be hit: only if an operator deleted
   * ours in that round trip and someone created it again.
   */
  private async ownedVersion(path: string): Promise<number | null> {
    const stat = await this.scope.exists(path);
    if (!stat || stat.ephemeralOwner !== this.scope.sessionId) return null;
    if (this.own && stat.czxid !== this.own.fencingToken) return null;
    return stat.version;
  }

  /**
   * Single-node: whether the node is still the one this candidacy holds, by `exists` (no READ
   * needed). False ends the candidacy: the node was deleted, perhaps made again by another.
   */
  async stillHeld(): Promise<boolean> {
    const own = this.node;
    if (!own) return false;
    const stat = await this.scope.exists(own.path);
    if (stat && stat.ephemeralOwner === this.scope.sessionId && stat.czxid === own.fencingToken) return true;
    this.missingFromListing();
    return false;
  }
}
