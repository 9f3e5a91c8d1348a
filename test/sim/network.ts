import type { AclEntry, CreateMode, NodeStat, WatchEventType } from '../../src/client/types.js';
import type { ZooKeeperErrorCode } from '../../src/errors.js';
import type { TreeView } from './zookeeper-model.js';

/**
 * What travels over one simulated client connection. Each direction is a FIFO (TCP): a
 * message is delivered no earlier than its `at`, and never before the one sent ahead of it.
 */

export type Operation =
  | { op: 'create'; path: string; data: Buffer; mode: CreateMode; acl: readonly AclEntry[] }
  | { op: 'delete'; path: string; version: number }
  | { op: 'exists'; path: string; watch: boolean }
  | { op: 'getData'; path: string; watch: boolean }
  | { op: 'setData'; path: string; data: Buffer; version: number }
  | { op: 'getChildren'; path: string; watch: boolean }
  | { op: 'setAcl'; path: string; acl: readonly AclEntry[] }
  | { op: 'sync'; path: string };

export type ToServer =
  | { kind: 'connect'; sessionId: string | null; password: Buffer | null; timeoutMs: number }
  | { kind: 'request'; xid: number; operation: Operation }
  | { kind: 'ping' }
  | { kind: 'auth'; id: string }
  | { kind: 'set-watches'; lastZxid: bigint; data: string[]; exist: string[]; child: string[] }
  | { kind: 'close-session'; xid: number };

export type Result = string | NodeStat | null | { data: Buffer; stat: NodeStat } | string[] | undefined;

export type ToClient =
  | { kind: 'handshake'; sessionId: string; password: Buffer; timeoutMs: number }
  | { kind: 'handshake-expired' }
  | { kind: 'reply'; xid: number; zxid: bigint; result?: Result; error?: ZooKeeperErrorCode }
  | { kind: 'pong' }
  | { kind: 'event'; type: WatchEventType; path: string }
  /** The server closed the connection: whatever it sent before arrives first. */
  | { kind: 'closed' };

export interface InFlight<T> {
  at: number;
  message: T;
}

/** One TCP connection between a simulated client and the server. */
export class Connection {
  readonly toServer: InFlight<ToServer>[] = [];
  readonly toClient: InFlight<ToClient>[] = [];
  /** False once either end closed it: nothing more is delivered in either direction. */
  open = true;
  /** The session the server attached to this connection, once the handshake was processed. */
  sessionId: string | null = null;
  /** Digest ids this connection authenticated as, at the server. */
  readonly authIds: string[] = [];
  /**
   * The server this connection landed on lags: reads are answered from `view` (and the watches
   * they set are kept here) until it catches up, at a sync, a write, or after a while.
   */
  lag: { view: TreeView; watches: { data: string[]; exist: string[]; child: string[] } } | null = null;

  constructor(
    readonly id: number,
    readonly processId: number,
    readonly endpoint: ClientEndpoint,
  ) {}
}

/** What the network delivers to the client end of a connection. */
export interface ClientEndpoint {
  readonly label: string;
  receive(connection: Connection, message: ToClient): void;
}
