import type { EventEmitter } from 'eventemitter3';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { ServerFailure, ZkLeaderError } from '../errors.js';

/**
 * The ZooKeeper port: the few operations the recipes need, promise-based, with our own error
 * classes (`ZooKeeperError`). Each backend adapter implements it; nothing outside
 * `src/client/` sees a client library's callbacks or types.
 */

export type BackendName = 'node-zookeeper-client' | 'zookeeper' | 'builtin';

/** How a node is created: persistent or ephemeral (gone with its session), with or without a sequence number. */
export type CreateMode = 'persistent' | 'ephemeral' | 'persistent-sequential' | 'ephemeral-sequential';

/** Permission bits, as ZooKeeper defines them. */
export const Permission = {
  /** Read the data and list the children. */
  read: 1,
  /** Write the data. */
  write: 2,
  /** Create children. */
  create: 4,
  /** Delete children. */
  delete: 8,
  /** Change the ACL. */
  admin: 16,
  /** All of the above. */
  all: 31,
} as const;

/** One ACL entry, e.g. `{ scheme: 'digest', id: 'user:base64sha1', permissions: Permission.all }`. */
export interface AclEntry {
  /** `world`, `digest`, `ip`, `sasl`, ... */
  scheme: string;
  /** Who, in the scheme's terms: `anyone`, `user:base64(sha1(user:password))`, an address. */
  id: string;
  /** The sum of `Permission` bits granted. */
  permissions: number;
}

/** The open ACL: anyone may do anything (ZooKeeper's OPEN_ACL_UNSAFE). The default. */
export const openAcl: readonly AclEntry[] = [{ scheme: 'world', id: 'anyone', permissions: Permission.all }];

/** Whether `acl` is the open ACL (world:anyone, every permission). */
export function isOpenAcl(acl: readonly AclEntry[]): boolean {
  return acl.length === 1 && acl[0]!.scheme === 'world' && acl[0]!.id === 'anyone' && acl[0]!.permissions === Permission.all;
}

/** The parts of a znode's Stat the recipes use. */
export interface NodeStat {
  /** The zxid of the transaction that created the node: unique and ever-growing (the fencing token). */
  czxid: bigint;
  /** The zxid of the last change of its data. */
  mzxid: bigint;
  /** The zxid of the last change of its children (a join or a leave), or of its creation. */
  pzxid: bigint;
  /** How many times its data changed. */
  version: number;
  /** The owning session id as 16 lowercase hex digits, "0000000000000000" for persistent nodes. */
  ephemeralOwner: string;
  /** When it was created (the server's clock, ms since the epoch). */
  createdAtMs: number;
  /** How many children it has. */
  numChildren: number;
  /** How many bytes of data it holds. */
  dataLength: number;
}

/** A node's data and its stat, as `getData` returns them. */
export interface NodeData {
  /** The node's bytes. */
  data: Buffer;
  /** Its versions, zxids and owner. */
  stat: NodeStat;
}

/** What a watch saw happen to its node. */
export type WatchEventType = 'created' | 'deleted' | 'data-changed' | 'children-changed';

/** What a watch calls its watcher with. */
export interface WatchEvent {
  /** What happened. */
  type: WatchEventType;
  /** The node it happened to. */
  path: string;
}

/** A one-shot watch, as in ZooKeeper: it fires at most once. */
export type Watcher = (event: WatchEvent) => void;

/**
 * What the adapter reports about its connection: `connected` (again), `disconnected` (socket
 * lost, the client retries by itself), `expired` (the server ended the session; the client
 * is dead), `auth-failed` (the client is dead), `tls-failed` (TLS failed with every server
 * before any session was had; the client is dead).
 */
export type ClientState = 'connected' | 'disconnected' | 'expired' | 'auth-failed' | 'tls-failed';

export interface ClientEvents {
  /** With `auth-failed` and `tls-failed`, the adapter may say why and what to change. */
  state: [state: ClientState, error?: ZkLeaderError];
  /**
   * A problem the client carries on through (it keeps trying): TLS failing on every server
   * while a session may still be alive. Reported once until a connection opens again.
   */
  error: [error: ZkLeaderError];
}

/** TLS to the servers' secureClientPort: `true` (Node's default CAs) or `node:tls` options. Builtin backend only. */
export type TlsOption = true | TlsConnectionOptions;

/** A SASL DIGEST-MD5 login, made on every connection. Builtin backend only. */
export interface SaslOption {
  /** The user, as in the servers' JAAS `Server` section (`user_<name>="<password>"`). */
  username: string;
  /** Its password. */
  password: string;
  /** Only `DIGEST-MD5` (the default); Kerberos (GSSAPI) is not supported. */
  mechanism?: 'DIGEST-MD5';
}

/** What it takes to re-attach to a session: its id and password. */
export interface SessionCredentials {
  /** 16 lowercase hex digits. */
  id: string;
  /** The session's password, as the server handed it out. */
  password: Buffer;
}

/** Credentials of ZooKeeper's digest scheme, sent on every connection. */
export interface DigestAuth {
  /** Always `digest`. */
  scheme: 'digest';
  /** "user:password" */
  credential: string;
}

/** One operation of a `multi`: applied all together, or none of them. */
export type MultiOp =
  | { type: 'create'; path: string; data: Buffer; mode: CreateMode; acl: readonly AclEntry[] }
  | { type: 'delete'; path: string; version: number }
  | { type: 'setData'; path: string; data: Buffer; version: number }
  /** Fails the whole multi unless the node's version is `version` (-1: any, the node must exist). */
  | { type: 'check'; path: string; version: number };

/** What one operation of a successful `multi` returned, in the order of the operations. */
export type MultiResult = { type: 'create'; path: string } | { type: 'delete' } | { type: 'setData'; stat: NodeStat } | { type: 'check' };

/** The read that set a watch: `exists`, `data` (getData) or `children` (getChildren). */
export type WatchedRead = 'exists' | 'data' | 'children';

/**
 * A watch set by `addWatch` (ZooKeeper 3.6+), which stays after it fires: `persistent` hears
 * of every change of its node (created, deleted, data and children changed);
 * `persistent-recursive` of its node's and every descendant's (all but children changed).
 */
export type PersistentWatchMode = 'persistent' | 'persistent-recursive';

/** Which watches `removeWatches` removes: data (getData/exists), children (getChildren), or both. */
export type WatchRemovalType = 'data' | 'children' | 'any';

export interface ClientOptions {
  connectString: string;
  sessionTimeoutMs: number;
  /** Attach to an existing session instead of creating one. */
  credentials?: SessionCredentials;
  /** The session's monotonic clock, for `handshakeSentAt()`. */
  now?: () => number;
  /** TLS to every server (builtin backend only; the session refuses it for the others). */
  tls?: TlsOption;
  /** A SASL login on every connection (builtin backend only). */
  sasl?: SaslOption;
}

export interface ZkClient extends EventEmitter<ClientEvents> {
  readonly backend: BackendName;
  /**
   * Whether `create` applies the ACL atomically. The native binding cannot: it creates with
   * the open ACL and narrows it in a second request, so a node found again after a connection
   * loss must have its ACL applied again (`setAcl`).
   */
  readonly createsWithAcl: boolean;
  /** Starts connecting; progress arrives as `state` events. */
  connect(): void;
  /** Valid once `connected` was emitted. */
  sessionCredentials(): SessionCredentials;
  /** The session timeout the server granted, valid once `connected` was emitted. */
  negotiatedSessionTimeoutMs(): number;
  /**
   * When the handshake of the current connection was sent, on `ClientOptions.now`'s clock, or
   * the latest moment known to be no later (the server renews the session when it reads the
   * handshake); undefined when the backend cannot tell (the answer's arrival is used then).
   */
  handshakeSentAt?(): number | undefined;
  addAuthInfo(auth: DigestAuth): void;
  create(path: string, data: Buffer, mode: CreateMode, acl: readonly AclEntry[]): Promise<string>;
  remove(path: string, version: number): Promise<void>;
  exists(path: string, watcher?: Watcher): Promise<NodeStat | null>;
  getData(path: string, watcher?: Watcher): Promise<NodeData>;
  setData(path: string, data: Buffer, version: number): Promise<NodeStat>;
  getChildren(path: string, watcher?: Watcher): Promise<string[]>;
  setAcl(path: string, acl: readonly AclEntry[]): Promise<void>;
  /**
   * Applies `ops` in one transaction: all of them or none. Optional: the native binding has
   * no multi.
   * @returns one result per operation, in order.
   * @throws ZooKeeperError with the code of the first operation that failed (and nothing applied).
   */
  multi?(ops: readonly MultiOp[]): Promise<MultiResult[]>;
  /**
   * Removes this client's watches of `type` on `path`, here and on the server, so that a
   * watch nobody waits for any more is not held (and re-sent at every reconnect) for good.
   * Their watchers are not called. Resolves also when the server held no such watch (one that
   * fired already). Optional: only the builtin backend can.
   */
  removeWatches?(path: string, type: WatchRemovalType): Promise<void>;
  /**
   * Drops `watcher`, set on `path` by a `read` (and not fired yet): it is never called, and a
   * reconnect does not re-arm it. The server holds one watch per path and type (data for
   * exists and getData, children for getChildren) for all of a connection's watchers: where
   * the backend can (`removesServerWatches`), that watch is removed too once no other watcher
   * of this client waits on it (nor a read that sets one is in flight); elsewhere it stays
   * until it fires or the connection ends. Resolves also when the server held no such watch
   * (it fired) and when the connection is lost (its watches went with it). Optional: a client
   * whose library keeps its watchers out of reach.
   * @throws ZooKeeperError when the server refused the removal: its watch stays until it fires.
   */
  removeWatcher?(path: string, read: WatchedRead | PersistentWatchMode, watcher: Watcher): Promise<void>;
  /**
   * Sets a watch on `path` that stays after it fires, calling `watcher` for every event until
   * `removeWatcher(path, mode, watcher)`; re-armed on every reconnect. Optional: only the
   * builtin backend has it.
   * @throws ZooKeeperError (ZOOKEEPER_ERROR, UNIMPLEMENTED) from a server older than 3.6,
   * which then closes the connection.
   */
  addWatch?(path: string, mode: PersistentWatchMode, watcher: Watcher): Promise<void>;
  /** Whether `removeWatcher` also removes the server's watch (only the builtin backend can). */
  readonly removesServerWatches?: boolean;
  /**
   * How many watchers this client holds right now (set by a read, not fired, not removed), as
   * the client library keeps them: for leak checks. Optional: a client that cannot tell.
   */
  watcherCount?(): number;
  /**
   * Returns once the server this client talks to has applied every write committed before
   * the call: a read that follows sees them (a reconnect may land on a lagging follower).
   */
  sync(path: string): Promise<void>;
  /**
   * Drops the TCP connection so the client reconnects (to the next server) and re-attaches to
   * the same session: used when the connection has gone silent.
   */
  dropConnection(): void;
  /** Closes the session (its ephemeral nodes go); resolves when the client is closed. */
  close(): Promise<void>;
  /**
   * After a connect that failed: why, server by server (probed over the network, within
   * `budgetMs`). Optional: a client that cannot tell (the simulator's) leaves it out.
   */
  diagnoseConnect?(budgetMs: number): Promise<ServerFailure[]>;
}
