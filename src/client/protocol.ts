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
};

export function zooKeeperError(numericCode: number, operation: string, path?: string, detail?: string): ZooKeeperError {
  const code = errorCodes[numericCode] ?? 'ZOOKEEPER_ERROR';
  const extra = code === 'ZOOKEEPER_ERROR' ? `code ${numericCode}${detail ? ` ${detail}` : ''}` : undefined;
  return new ZooKeeperError(code, operation, path, extra);
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
