import { ZooKeeperError, type ZooKeeperErrorCode } from '../errors.js';
import type { CreateMode, WatchEventType } from './types.js';

// ZooKeeper's wire-level numbers: both client libraries hand them through unchanged.

const errorCodes: Record<number, ZooKeeperErrorCode> = {
  // ZRUNTIMEINCONSISTENCY: the C client got a reply out of order (a stream with a gap) and
  // dropped the connection; what was in flight may or may not have been applied.
  [-2]: 'CONNECTION_LOSS',
  [-4]: 'CONNECTION_LOSS',
  [-7]: 'OPERATION_TIMEOUT',
  // ZINVALIDSTATE: the native handle is closed, which it does itself on expiry.
  [-9]: 'SESSION_EXPIRED',
  [-101]: 'NO_NODE',
  [-102]: 'NO_AUTH',
  [-103]: 'BAD_VERSION',
  [-108]: 'NO_CHILDREN_FOR_EPHEMERALS',
  [-110]: 'NODE_EXISTS',
  [-111]: 'NOT_EMPTY',
  [-112]: 'SESSION_EXPIRED',
  [-114]: 'INVALID_ACL',
  [-115]: 'AUTH_FAILED',
  [-116]: 'SESSION_EXPIRED', // ZCLOSING
  // REQUESTTIMEOUT: the Java client's own verdict on a request not answered in time.
  [-122]: 'OPERATION_TIMEOUT',
  // SESSIONCLOSEDREQUIRESASLAUTH: the server requires SASL and closed the connection.
  [-124]: 'AUTH_FAILED',
};

/**
 * Every code a server (or a client library) can put in an error, by its name in
 * `KeeperException.Code`: codes with no typed counterpart come out as ZOOKEEPER_ERROR with
 * the name in the message, so the operator reads `UNIMPLEMENTED`, not a bare number.
 */
const errorNames: Record<number, string> = {
  [-1]: 'SYSTEMERROR',
  [-2]: 'RUNTIMEINCONSISTENCY',
  [-3]: 'DATAINCONSISTENCY',
  [-4]: 'CONNECTIONLOSS',
  [-5]: 'MARSHALLINGERROR',
  [-6]: 'UNIMPLEMENTED',
  [-7]: 'OPERATIONTIMEOUT',
  [-8]: 'BADARGUMENTS',
  [-12]: 'UNKNOWNSESSION',
  [-13]: 'NEWCONFIGNOQUORUM',
  [-14]: 'RECONFIGINPROGRESS',
  [-100]: 'APIERROR',
  [-101]: 'NONODE',
  [-102]: 'NOAUTH',
  [-103]: 'BADVERSION',
  [-108]: 'NOCHILDRENFOREPHEMERALS',
  [-110]: 'NODEEXISTS',
  [-111]: 'NOTEMPTY',
  [-112]: 'SESSIONEXPIRED',
  [-113]: 'INVALIDCALLBACK',
  [-114]: 'INVALIDACL',
  [-115]: 'AUTHFAILED',
  [-118]: 'SESSIONMOVED',
  [-119]: 'NOTREADONLY',
  [-120]: 'EPHEMERALONLOCALSESSION',
  [-121]: 'NOWATCHER',
  [-122]: 'REQUESTTIMEOUT',
  [-123]: 'RECONFIGDISABLED',
  [-124]: 'SESSIONCLOSEDREQUIRESASLAUTH',
  [-125]: 'QUOTAEXCEEDED',
  [-127]: 'THROTTLEDOP',
};

/** ZooKeeper's name for a numeric error code (`NONODE`, `UNIMPLEMENTED`, ...), if it has one. */
export function zooKeeperErrorName(numericCode: number): string | undefined {
  return errorNames[numericCode];
}

export function zooKeeperError(numericCode: number, operation: string, path?: string, detail?: string, failedOp?: number): ZooKeeperError {
  const code = errorCodes[numericCode] ?? 'ZOOKEEPER_ERROR';
  const name = errorNames[numericCode];
  const extra = code === 'ZOOKEEPER_ERROR' ? `code ${numericCode}${name ? ` (${name})` : ''}${detail ? ` ${detail}` : ''}` : undefined;
  return new ZooKeeperError(code, operation, path, extra, failedOp);
}

const watchEventTypes: Record<number, WatchEventType> = {
  1: 'created',
  2: 'deleted',
  3: 'data-changed',
  4: 'children-changed',
};

/** The watch event type for ZooKeeper's number, or undefined for session events (type -1). */
export function watchEventType(numericType: number): WatchEventType | undefined {
  return watchEventTypes[numericType];
}

export const createModeFlags: Record<CreateMode, number> = {
  persistent: 0,
  ephemeral: 1,
  'persistent-sequential': 2,
  'ephemeral-sequential': 3,
};

/** A session id as 16 lowercase hex digits, from a Buffer, a bigint or a hex string. */
export function sessionIdHex(id: Buffer | bigint | string): string {
  if (Buffer.isBuffer(id)) return id.toString('hex').padStart(16, '0');
  if (typeof id === 'bigint') return BigInt.asUintN(64, id).toString(16).padStart(16, '0');
  return id.toLowerCase().padStart(16, '0');
}

/** The longest wait for a reconnect's handshake answer (see handshakeTimeoutMs). */
const reconnectHandshakeCapMs = 2000;

/**
 * How long a connection attempt may wait for the server to answer its handshake.
 *
 * A server can take the connection and never answer: ZooKeeper 3.8.0, in the first moments of
 * its start, closes a connection it cannot serve yet by a path that throws (a
 * NullPointerException in `removeCnxn`, its database not made yet) before the socket is
 * closed, and that socket then stays open, unanswered, for good. After a server restart with
 * 1,000 sessions reconnecting, some land there in about one restart in three.
 *
 * Java's rule shares the session timeout among the servers, which with one or two servers
 * leaves no time to try again before the session expires; here at least three attempts fit
 * into one session timeout, and at least a second is given. A reconnect waits at most 2 s
 * besides: re-attaching a session is answered at once (no transaction, also through a
 * follower), and 2 s is what Java gives each server of a five-server ensemble at the default
 * 10 s. A new session is not capped: its creation is a transaction, slow on a loaded server,
 * and each one given up leaves a session behind on the server until it expires. Pass the
 * negotiated timeout once there is a session: it is the one the server expires it by.
 */
export function handshakeTimeoutMs(sessionTimeoutMs: number, serverCount: number, reconnect: boolean): number {
  const share = Math.max(1000, Math.floor(sessionTimeoutMs / Math.max(serverCount, 3)));
  return reconnect ? Math.min(share, reconnectHandshakeCapMs) : share;
}
