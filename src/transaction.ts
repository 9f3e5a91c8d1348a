import { validateAcl } from './acl.js';
import { type AclEntry, type CreateMode, type MultiOp, type MultiResult, type NodeStat } from './client/types.js';
import { InvalidArgumentError, ZkLeaderError, ZooKeeperError } from './errors.js';
import { checkMultiFits } from './limits.js';
import { validatePath } from './paths.js';
import type { SessionScope } from './session.js';

/** Creates a node (ACL open unless given). */
export interface TransactionCreate {
  /** What to do. */
  op: 'create';
  /** The node to create. */
  path: string;
  /** Its data: bytes or a UTF-8 string. Default empty. */
  data?: Buffer | string;
  /** Default `persistent`; a sequential mode's result has the number in its path. */
  mode?: CreateMode;
  /** Default open (world:anyone). */
  acl?: readonly AclEntry[];
}

/** Replaces a node's data. */
export interface TransactionSetData {
  /** What to do. */
  op: 'setData';
  /** The node to write. */
  path: string;
  /** Its new data: bytes or a UTF-8 string. Default empty. */
  data?: Buffer | string;
  /** Only if the node is at this version; -1 (default) matches any. */
  version?: number;
}

/** Deletes a node. */
export interface TransactionDelete {
  /** What to do. */
  op: 'delete';
  /** The node to delete. */
  path: string;
  /** Only if the node is at this version; -1 (default) matches any. */
  version?: number;
}

/** Fails the transaction unless the node exists (at `version`, if given). */
export interface TransactionCheck {
  /** What to do. */
  op: 'check';
  /** The node that must exist. */
  path: string;
  /** The version it must be at; -1 (default) matches any. */
  version?: number;
}

/** One write (or check) of `election.transaction()`. */
export type TransactionOp = TransactionCreate | TransactionSetData | TransactionDelete | TransactionCheck;

/** What one operation of a committed transaction returned, in the order of the operations. */
export type TransactionResult =
  | {
      /** A create. */
      op: 'create';
      /** The node created, with its sequence number for a sequential mode. */
      path: string;
    }
  | {
      /** A setData. */
      op: 'setData';
      /** The node's stat after the write. */
      stat: NodeStat;
    }
  | {
      /** A delete. */
      op: 'delete';
    }
  | {
      /** A check. */
      op: 'check';
    };

const createModes: readonly CreateMode[] = ['persistent', 'ephemeral', 'persistent-sequential', 'ephemeral-sequential'];

/** The ops as the client's multi takes them; INVALID_ARGUMENT, naming the op, for one that is malformed. */
export function toMultiOps(ops: readonly TransactionOp[]): MultiOp[] {
  // Checked as given (plain JavaScript callers): narrowing the typed array would make it any[].
  const given: unknown = ops;
  if (!Array.isArray(given) || ops.length === 0) throw new InvalidArgumentError('transaction(ops): ops must be a non-empty array of operations');
  return ops.map((op, index): MultiOp => {
    const what = `transaction(ops): ops[${index}]`;
    if (typeof op !== 'object' || op === null) throw new InvalidArgumentError(`${what} must be an object like { op: 'setData', path, data }`);
    const path = validatePath(op.path, `${what}.path`);
    const version = 'version' in op && op.version !== undefined ? op.version : -1;
    if (!Number.isInteger(version) || version < -1 || version > 2 ** 31 - 1) {
      throw new InvalidArgumentError(`${what}.version must be an integer from -1 (any) to 2^31 - 1, got ${String(version)}`);
    }
    const bytes = (data: unknown): Buffer => {
      if (data === undefined) return Buffer.alloc(0);
      if (Buffer.isBuffer(data)) return data;
      if (typeof data === 'string') return Buffer.from(data, 'utf8');
      throw new InvalidArgumentError(`${what}.data must be a Buffer or a string, got ${typeof data}`);
    };
    switch (op.op) {
      case 'create': {
        const mode = op.mode ?? 'persistent';
        if (!createModes.includes(mode)) throw new InvalidArgumentError(`${what}.mode must be one of ${createModes.join(', ')}, got ${String(mode)}`);
        return { type: 'create', path, data: bytes(op.data), mode, acl: validateAcl(op.acl, `${what}.acl`) };
      }
      case 'setData':
        return { type: 'setData', path, data: bytes(op.data), version };
      case 'delete':
        return { type: 'delete', path, version };
      case 'check':
        return { type: 'check', path, version };
      default:
        throw new InvalidArgumentError(`${what}.op must be 'create', 'setData', 'delete' or 'check', got ${String((op as { op: unknown }).op)}`);
    }
  });
}

/** The participant does not lead, by its own account or by the server's: nothing was written. */
export function notLeader(path: string, why: string, what = 'transaction'): ZkLeaderError {
  return new ZkLeaderError('NOT_LEADER', `${what} on ${path} refused, nothing was written: ${why}`);
}

/** What the session's server takes in one request, and how the backend counts it. */
export interface RequestLimits {
  /** The connect string's chroot, before every path on the wire ('' for none). */
  chroot: string;
  /** The servers' jute.maxbuffer. */
  juteMaxBufferBytes: number;
  /** Whether the backend has multi at all (without, the multi's own UNSUPPORTED says so first). */
  hasMulti: boolean;
}

/**
 * Sends `ops` as one multi behind a check that `ownNode` exists: the server commits them only
 * while the node that makes us leader is there, however late the request arrives (a paused or
 * partitioned leader, one whose node an operator deleted). A failed check is NOT_LEADER; an op
 * of the caller's that fails is its ZooKeeperError, `failedOp` counted in the caller's ops.
 * A multi over the server's limit is REQUEST_TOO_LARGE and is not sent: the server would close
 * the connection on it, which costs the leader its term and says nothing of why.
 */
export async function guardedMulti(
  scope: SessionScope,
  limits: RequestLimits,
  electionPath: string,
  ownNode: string,
  ops: MultiOp[],
): Promise<TransactionResult[]> {
  const guard: MultiOp[] = [{ type: 'check', path: ownNode, version: -1 }];
  if (limits.hasMulti) checkMultiFits(`transaction on ${electionPath}`, guard, ops, limits.chroot, limits.juteMaxBufferBytes);
  let results: MultiResult[];
  try {
    results = await scope.multi([...guard, ...ops]);
  } catch (error) {
    if (!(error instanceof ZooKeeperError)) throw error;
    // The session is gone: the server ran nothing of it, and our node went with it.
    if (error.code === 'SESSION_EXPIRED') throw notLeader(electionPath, 'the session that held our node has ended');
    if (error.failedOp === 0)
      throw notLeader(electionPath, `our candidate node ${ownNode} is gone at the server (${error.code}): another participant leads or will`);
    // The reply is lost, not the request: it may have been committed or not.
    if (error.code === 'CONNECTION_LOSS' || error.code === 'OPERATION_TIMEOUT') {
      throw new ZkLeaderError(
        error.code,
        `transaction on ${electionPath}: the connection dropped before the answer came, so it may or may not have been committed; read back what it wrote before trying again`,
        { cause: error },
      );
    }
    if (error.failedOp === undefined) throw error;
    const op = ops[error.failedOp - 1]!;
    throw new ZooKeeperError(
      error.code,
      'transaction',
      op.path,
      `operation ${error.failedOp} of ${ops.length} (${op.type}); nothing was written`,
      error.failedOp - 1,
    );
  }
  return results.slice(1).map((result): TransactionResult => {
    switch (result.type) {
      case 'create':
        return { op: 'create', path: result.path };
      case 'setData':
        return { op: 'setData', stat: result.stat };
      case 'delete':
        return { op: 'delete' };
      default:
        return { op: 'check' };
    }
  });
}
