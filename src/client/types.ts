import type { EventEmitter } from 'eventemitter3';

/**
 * The ZooKeeper port: the few operations the recipes need, promise-based, with our own error
 * classes (`ZooKeeperError`). Each backend adapter implements it; nothing outside
 * `src/client/` sees a client library's callbacks or types.
 */

export type BackendName = 'node-zookeeper-client' | 'zookeeper';

export type CreateMode = 'persistent' | 'ephemeral' | 'persistent-sequential' | 'ephemeral-sequential';

/** Permission bits, as ZooKeeper defines them. */
export const Permission = { read: 1, write: 2, create: 4, delete: 8, admin: 16, all: 31 } as const;

/** One ACL entry, e.g. `{ scheme: 'digest', id: 'user:base64sha1', permissions: Permission.all }`. */
export interface AclEntry {
  scheme: string;
  id: string;
  permissions: number;
}

export const openAcl: readonly AclEntry[] = [{ scheme: 'world', id: 'anyone', permissions: Permission.all }];

/** Whether `acl` is the open ACL (world:anyone, every permission). */
export function isOpenAcl(acl: readonly AclEntry[]): boolean {
  return acl.length === 1 && acl[0]!.scheme === 'world' && acl[0]!.id === 'anyone' && acl[0]!.permissions === Permission.all;
}

/** The parts of a znode's Stat the recipes use. */
export interface NodeStat {
  czxid: bigint;
  mzxid: bigint;
  version: number;
  /** The owning session id as 16 lowercase hex digits, "0000000000000000" for persistent nodes. */
  ephemeralOwner: string;
  createdAtMs: number;
  numChildren: number;
  dataLength: number;
}

export type WatchEventType = 'created' | 'deleted' | 'data-changed' | 'children-changed';

export interface WatchEvent {
  type: WatchEventType;
  path: string;
}

/** A one-shot watch, as in ZooKeeper: it fires at most once. */
export type Watcher = (event: WatchEvent) => void;

/**
 * What the adapter reports about its connection: `connected` (again), `disconnected` (socket
 * lost, the client retries by itself), `expired` (the server ended the session; the client
 * is dead), `auth-failed` (the client is dead).
 */
export type ClientState = 'connected' | 'disconnected' | 'expired' | 'auth-failed';

export interface ClientEvents {
  state: [state: ClientState];
}

/** What it takes to re-attach to a session: its id and password. */
export interface SessionCredentials {
  /** 16 lowercase hex digits. */
  id: string;
  password: Buffer;
}

export interface DigestAuth {
  scheme: 'digest';
  /** "user:password" */
  credential: string;
}

export interface ClientOptions {
  connectString: string;
  sessionTimeoutMs: number;
  /** Attach to an existing session instead of creating one. */
  credentials?: SessionCredentials;
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
  addAuthInfo(auth: DigestAuth): void;
  create(path: string, data: Buffer, mode: CreateMode, acl: readonly AclEntry[]): Promise<string>;
  remove(path: string, version: number): Promise<void>;
  exists(path: string, watcher?: Watcher): Promise<NodeStat | null>;
  getData(path: string, watcher?: Watcher): Promise<{ data: Buffer; stat: NodeStat }>;
  setData(path: string, data: Buffer, version: number): Promise<NodeStat>;
  getChildren(path: string, watcher?: Watcher): Promise<string[]>;
  setAcl(path: string, acl: readonly AclEntry[]): Promise<void>;
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
}
