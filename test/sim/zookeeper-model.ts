import { digestAcl } from '../../src/acl.js';
import { Permission as permission, openAcl, type AclEntry, type CreateMode, type NodeStat, type WatchEventType } from '../../src/client/types.js';
import type { ZooKeeperErrorCode } from '../../src/errors.js';
import type { Operation } from './network.js';

/**
 * ZooKeeper's data tree, sessions and watches, as the Programmer's Guide specifies them, for
 * the deterministic simulation. One server, linearizable: every operation is applied at the
 * moment the simulation delivers it, and its reply and the watch events it triggers are
 * handed to the connections in that order (so a client sees an event before the reply of
 * any later request on its connection, as ZooKeeper guarantees).
 *
 * What it models: persistent, ephemeral and sequential nodes (the sequence is the parent's
 * cversion, a signed 32-bit counter printed with "%010d", so it wraps past 2^31 - 1);
 * czxid/mzxid/pzxid/version/cversion/ephemeralOwner; sessions with negotiated timeouts,
 * expiry by the server after a whole timeout unheard, and closing; one-shot data and child
 * watches held per connection, re-registered by SetWatches after a reconnect (firing at once
 * for what changed since the client's last zxid); the digest ACL scheme. What it does not is
 * listed in docs/simulation.md.
 */

export interface ModelNode {
  path: string;
  data: Buffer;
  acl: readonly AclEntry[];
  czxid: bigint;
  mzxid: bigint;
  pzxid: bigint;
  ctime: number;
  version: number;
  cversion: number;
  ephemeralOwner: string;
  sequential: boolean;
  children: Set<string>;
}

export interface ModelSession {
  id: string;
  password: Buffer;
  timeoutMs: number;
  lastHeardAt: number;
  state: 'live' | 'expired' | 'closed';
  ephemerals: Set<string>;
  /** The connection the session is attached to, if any. */
  connection: number | null;
}

export type ServerEvent = { type: WatchEventType; path: string };

/** The tree as a follower that has applied every transaction up to `zxid` holds it. */
export interface TreeView {
  zxid: bigint;
  nodes: Map<string, ModelNode>;
}

/** What the server tells the simulation to send: a watch event to one connection, or to close it. */
export interface ServerOutput {
  notify(connection: number, event: ServerEvent): void;
  closeConnection(connection: number): void;
  /** Who is behind a connection, for the READ check a watch event passes before it is sent. */
  readerOf?(connection: number): Caller | undefined;
  /** A node was created or deleted: the simulation's trace and invariants follow the tree. */
  changed?(kind: 'created' | 'deleted' | 'data', node: ModelNode, by: string): void;
}

export class ModelError extends Error {
  constructor(readonly code: ZooKeeperErrorCode) {
    super(code);
  }
}

/** Who sends a request: a session and the digest ids its connection authenticated as. */
export interface Caller {
  sessionId: string;
  authIds: readonly string[];
  /** Operators act as ZooKeeper's super user: no ACL applies. */
  superUser?: boolean;
}

export const tickTimeMs = 100;
/** jute.maxbuffer's default: the server closes a connection whose next request is longer. */
export const maxRequestBytes = 1_048_575;
const minSessionTimeoutMs = 2 * tickTimeMs;
const maxSessionTimeoutMs = 20 * tickTimeMs;
const noOwner = '0000000000000000';

/** ZooKeeper prints a sequence with Java's "%010d": zero-padded to ten characters, sign included. */
export function formatSequence(sequence: number): string {
  return sequence < 0 ? `-${String(-sequence).padStart(9, '0')}` : String(sequence).padStart(10, '0');
}

/** The digest id ZooKeeper derives from "user:password" (the library's own derivation). */
export function digestId(credential: string): string {
  return digestAcl(credential)[0]!.id;
}

const stringBytes = (text: string) => 4 + Buffer.byteLength(text, 'utf8');
const aclBytes = (acl: readonly AclEntry[]) => 4 + acl.reduce((sum, entry) => sum + 4 + stringBytes(entry.scheme) + stringBytes(entry.id), 0);

/**
 * How long a request is on the wire as ZooKeeper's jute encodes it (the length prefix not
 * counted): the request header (xid, type) and the request record. The server reads the
 * length first and closes the connection when it is over `maxRequestBytes`
 * (NIOServerCnxn/NettyServerCnxn: "Len error"), before it looks at the request.
 */
export function requestBytes(operation: Operation): number {
  const header = 8 + stringBytes(operation.path);
  switch (operation.op) {
    case 'create':
      return header + 4 + operation.data.length + aclBytes(operation.acl) + 4;
    case 'setData':
      return header + 4 + operation.data.length + 4;
    case 'setAcl':
      return header + aclBytes(operation.acl) + 4;
    case 'delete':
      return header + 4;
    case 'exists':
    case 'getData':
    case 'getChildren':
      return header + 1;
    case 'sync':
      return header;
  }
}

function parentOf(path: string): string {
  const index = path.lastIndexOf('/');
  return index <= 0 ? '/' : path.slice(0, index);
}

export class ZooKeeperModel {
  readonly nodes = new Map<string, ModelNode>();
  readonly sessions = new Map<string, ModelSession>();
  private zxidCounter = 0n;
  private nextSessionNumber = 1;
  /** Server-side watches, per path, by connection: exists and getData share one table, as in ZooKeeper. */
  readonly dataWatches = new Map<string, Set<number>>();
  readonly childWatches = new Map<string, Set<number>>();

  constructor(
    private readonly now: () => number,
    private readonly output: ServerOutput,
  ) {
    this.nodes.set('/', this.newNode('/', Buffer.alloc(0), openAcl, noOwner, false));
  }

  get zxid(): bigint {
    return this.zxidCounter;
  }

  private newNode(path: string, data: Buffer, acl: readonly AclEntry[], owner: string, sequential: boolean): ModelNode {
    const zxid = this.zxidCounter;
    return {
      path,
      data,
      acl,
      czxid: zxid,
      mzxid: zxid,
      pzxid: zxid,
      ctime: this.now(),
      version: 0,
      cversion: 0,
      ephemeralOwner: owner,
      sequential,
      children: new Set(),
    };
  }

  stat(node: ModelNode): NodeStat {
    return {
      czxid: node.czxid,
      mzxid: node.mzxid,
      pzxid: node.pzxid,
      version: node.version,
      ephemeralOwner: node.ephemeralOwner,
      createdAtMs: node.ctime,
      numChildren: node.children.size,
      dataLength: node.data.length,
    };
  }

  // ---- sessions ----

  negotiate(requestedMs: number): number {
    return Math.min(maxSessionTimeoutMs, Math.max(minSessionTimeoutMs, requestedMs));
  }

  createSession(requestedMs: number): ModelSession {
    const id = (0x1000000000000n + BigInt(this.nextSessionNumber++)).toString(16).padStart(16, '0');
    const session: ModelSession = {
      id,
      password: Buffer.from(id),
      timeoutMs: this.negotiate(requestedMs),
      lastHeardAt: this.now(),
      state: 'live',
      ephemerals: new Set(),
      connection: null,
    };
    this.sessions.set(id, session);
    return session;
  }

  live(sessionId: string): boolean {
    return this.sessions.get(sessionId)?.state === 'live';
  }

  touch(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (session?.state === 'live') session.lastHeardAt = this.now();
  }

  /** The moment the server expires `session` unless it hears from it: on the next tick boundary after a whole timeout. */
  expiryDeadline(session: ModelSession): number {
    return Math.ceil((session.lastHeardAt + session.timeoutMs) / tickTimeMs) * tickTimeMs;
  }

  /** Ends a session: its ephemeral nodes go, each in its own transaction, and its connection closes. */
  endSession(sessionId: string, how: 'expired' | 'closed'): void {
    const session = this.sessions.get(sessionId);
    if (!session || session.state !== 'live') return;
    session.state = how;
    for (const path of [...session.ephemerals].sort()) {
      const node = this.nodes.get(path);
      if (node) this.removeNode(node, how === 'expired' ? `expiry of ${sessionId}` : `close of ${sessionId}`);
    }
    session.ephemerals.clear();
    if (session.connection !== null) {
      const connection = session.connection;
      session.connection = null;
      this.output.closeConnection(connection);
    }
  }

  // ---- access control ----

  private allowed(node: ModelNode, caller: Caller, needed: number): boolean {
    if (caller.superUser) return true;
    return node.acl.some(
      (entry) =>
        (entry.permissions & needed) !== 0 &&
        ((entry.scheme === 'world' && entry.id === 'anyone') || (entry.scheme === 'digest' && caller.authIds.includes(entry.id))),
    );
  }

  private check(node: ModelNode, caller: Caller, needed: number): void {
    if (!this.allowed(node, caller, needed)) throw new ModelError('NO_AUTH');
  }

  // ---- operations (each one transaction when it writes) ----

  private nextZxid(): bigint {
    this.zxidCounter += 1n;
    return this.zxidCounter;
  }

  create(caller: Caller, path: string, data: Buffer, mode: CreateMode, acl: readonly AclEntry[]): string {
    const parent = this.nodes.get(parentOf(path));
    if (!parent) throw new ModelError('NO_NODE');
    if (parent.ephemeralOwner !== noOwner) throw new ModelError('NO_CHILDREN_FOR_EPHEMERALS');
    this.check(parent, caller, permission.create);
    if (acl.length === 0) throw new ModelError('INVALID_ACL');
    const sequential = mode.endsWith('sequential');
    const fullPath = sequential ? `${path}${formatSequence(parent.cversion)}` : path;
    if (this.nodes.has(fullPath)) throw new ModelError('NODE_EXISTS');
    const ephemeral = mode.startsWith('ephemeral');
    const zxid = this.nextZxid();
    const node = this.newNode(fullPath, data, acl, ephemeral ? caller.sessionId : noOwner, sequential);
    node.czxid = node.mzxid = node.pzxid = zxid;
    this.nodes.set(fullPath, node);
    parent.children.add(fullPath.slice(fullPath.lastIndexOf('/') + 1));
    parent.cversion = (parent.cversion + 1) | 0;
    parent.pzxid = zxid;
    if (ephemeral) this.sessions.get(caller.sessionId)?.ephemerals.add(fullPath);
    this.output.changed?.('created', node, caller.superUser ? 'operator' : caller.sessionId);
    this.trigger(this.dataWatches, fullPath, 'created', undefined, node);
    this.trigger(this.childWatches, parent.path, 'children-changed', undefined, parent);
    return fullPath;
  }

  remove(caller: Caller, path: string, version: number): void {
    const node = this.nodes.get(path);
    if (!node || path === '/') throw new ModelError('NO_NODE');
    this.check(this.nodes.get(parentOf(path))!, caller, permission.delete);
    if (version !== -1 && version !== node.version) throw new ModelError('BAD_VERSION');
    if (node.children.size > 0) throw new ModelError('NOT_EMPTY');
    this.removeNode(node, caller.superUser ? 'operator' : caller.sessionId);
  }

  private removeNode(node: ModelNode, by: string): void {
    const zxid = this.nextZxid();
    const parent = this.nodes.get(parentOf(node.path))!;
    this.nodes.delete(node.path);
    parent.children.delete(node.path.slice(node.path.lastIndexOf('/') + 1));
    parent.cversion = (parent.cversion + 1) | 0;
    parent.pzxid = zxid;
    if (node.ephemeralOwner !== noOwner) this.sessions.get(node.ephemeralOwner)?.ephemerals.delete(node.path);
    this.output.changed?.('deleted', node, by);
    const told = this.trigger(this.dataWatches, node.path, 'deleted', undefined, node);
    this.trigger(this.childWatches, node.path, 'deleted', told, node);
    this.trigger(this.childWatches, parent.path, 'children-changed', undefined, parent);
  }

  exists(caller: Caller, path: string, watch: number | null): NodeStat | null {
    void caller;
    if (watch !== null) this.addWatch(this.dataWatches, path, watch);
    const node = this.nodes.get(path);
    return node ? this.stat(node) : null;
  }

  getData(caller: Caller, path: string, watch: number | null): { data: Buffer; stat: NodeStat } {
    const node = this.nodes.get(path);
    if (!node) throw new ModelError('NO_NODE');
    this.check(node, caller, permission.read);
    if (watch !== null) this.addWatch(this.dataWatches, path, watch);
    return { data: node.data, stat: this.stat(node) };
  }

  setData(caller: Caller, path: string, data: Buffer, version: number): NodeStat {
    const node = this.nodes.get(path);
    if (!node) throw new ModelError('NO_NODE');
    this.check(node, caller, permission.write);
    if (version !== -1 && version !== node.version) throw new ModelError('BAD_VERSION');
    node.mzxid = this.nextZxid();
    node.data = data;
    node.version += 1;
    this.output.changed?.('data', node, caller.superUser ? 'operator' : caller.sessionId);
    this.trigger(this.dataWatches, path, 'data-changed', undefined, node);
    return this.stat(node);
  }

  getChildren(caller: Caller, path: string, watch: number | null): string[] {
    const node = this.nodes.get(path);
    if (!node) throw new ModelError('NO_NODE');
    this.check(node, caller, permission.read);
    if (watch !== null) this.addWatch(this.childWatches, path, watch);
    return [...node.children];
  }

  setAcl(caller: Caller, path: string, acl: readonly AclEntry[]): void {
    const node = this.nodes.get(path);
    if (!node) throw new ModelError('NO_NODE');
    this.check(node, caller, permission.admin);
    if (acl.length === 0) throw new ModelError('INVALID_ACL');
    this.nextZxid();
    node.acl = acl;
  }

  // ---- a lagging follower ----

  /** A copy of the tree as it is now: what a follower that stops applying transactions here answers reads from. */
  snapshot(): TreeView {
    const nodes = new Map<string, ModelNode>();
    for (const [path, node] of this.nodes) nodes.set(path, { ...node, children: new Set(node.children) });
    return { zxid: this.zxidCounter, nodes };
  }

  /** A read answered from `view` (ACLs as the view has them); watches are the caller's to keep. */
  readFrom(
    view: TreeView,
    caller: Caller,
    op: 'exists' | 'getData' | 'getChildren',
    path: string,
  ): NodeStat | null | { data: Buffer; stat: NodeStat } | string[] {
    const node = view.nodes.get(path);
    if (op === 'exists') return node ? this.stat(node) : null;
    if (!node) throw new ModelError('NO_NODE');
    this.check(node, caller, permission.read);
    return op === 'getData' ? { data: node.data, stat: this.stat(node) } : [...node.children];
  }

  // ---- watches ----

  private addWatch(table: Map<string, Set<number>>, path: string, connection: number): void {
    let watchers = table.get(path);
    if (!watchers) table.set(path, (watchers = new Set()));
    watchers.add(connection);
  }

  /**
   * Fires and removes the watches on `path`; returns who was told, so one delete tells each
   * connection once. As ZooKeeper 3.8 does, a watcher whose session may not READ `node` (the
   * node whose ACL governs the event) loses its watch and is told nothing: an operator who takes
   * READ from a node silences every watch on it, its deletion's included.
   */
  private trigger(table: Map<string, Set<number>>, path: string, type: WatchEventType, skip?: Set<number>, node?: ModelNode): Set<number> {
    const watchers = table.get(path);
    if (!watchers) return new Set();
    table.delete(path);
    for (const connection of watchers) {
      if (skip?.has(connection)) continue;
      const reader = node && this.output.readerOf?.(connection);
      if (reader && !this.allowed(node, reader, permission.read)) continue;
      this.output.notify(connection, { type, path });
    }
    return watchers;
  }

  /** A connection closed: the server forgets its watches (the client sets them again on the next one). */
  dropWatches(connection: number): void {
    for (const table of [this.dataWatches, this.childWatches]) {
      for (const [path, watchers] of table) {
        watchers.delete(connection);
        if (watchers.size === 0) table.delete(path);
      }
    }
  }

  /** Watches the server holds for `connection` (leak checks). */
  watchCount(connection: number): number {
    let count = 0;
    for (const table of [this.dataWatches, this.childWatches]) for (const watchers of table.values()) if (watchers.has(connection)) count += 1;
    return count;
  }

  /**
   * SetWatches after a reconnect, as the server applies it: a watch whose node changed after
   * the client's last zxid fires at once, the others are registered again.
   */
  setWatches(connection: number, lastZxid: bigint, watches: { data: string[]; exist: string[]; child: string[] }): void {
    for (const path of watches.data) {
      const node = this.nodes.get(path);
      if (!node) this.output.notify(connection, { type: 'deleted', path });
      else if (node.mzxid > lastZxid) this.output.notify(connection, { type: 'data-changed', path });
      else this.addWatch(this.dataWatches, path, connection);
    }
    for (const path of watches.exist) {
      if (this.nodes.has(path)) this.output.notify(connection, { type: 'created', path });
      else this.addWatch(this.dataWatches, path, connection);
    }
    for (const path of watches.child) {
      const node = this.nodes.get(path);
      if (!node) this.output.notify(connection, { type: 'deleted', path });
      else if (node.pzxid > lastZxid) this.output.notify(connection, { type: 'children-changed', path });
      else this.addWatch(this.childWatches, path, connection);
    }
  }

  // ---- for operators and invariants ----

  /** The sequential children of `path` in creation order (czxid), the true queue. */
  queue(path: string): ModelNode[] {
    const node = this.nodes.get(path);
    if (!node) return [];
    const children: ModelNode[] = [];
    for (const name of node.children) {
      const child = this.nodes.get(`${path}/${name}`)!;
      if (child.sequential) children.push(child);
    }
    return children.sort((a, b) => (a.czxid < b.czxid ? -1 : 1));
  }

  /** Prepares a persistent node with a chosen cversion, as if that many children had come and gone. */
  seed(path: string, cversion: number): void {
    const zxid = this.nextZxid();
    const node = this.newNode(path, Buffer.alloc(0), openAcl, noOwner, false);
    node.czxid = node.mzxid = node.pzxid = zxid;
    node.cversion = cversion;
    const parent = this.nodes.get(parentOf(path));
    if (!parent) throw new Error(`seed: no parent for ${path}`);
    parent.children.add(path.slice(path.lastIndexOf('/') + 1));
    parent.cversion = (parent.cversion + 1) | 0;
    this.nodes.set(path, node);
  }
}
