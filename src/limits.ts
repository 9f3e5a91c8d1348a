import type { AclEntry, BackendName, MultiOp } from './client/types.js';
import { InvalidArgumentError, ZkLeaderError } from './errors.js';

/**
 * What a ZooKeeper server accepts in one request by default: its `jute.maxbuffer` (0xfffff).
 * The server reads the length prefix of each request and closes the connection on a larger
 * one, so a request over it never fails cleanly: it looks like a connection loss, every time.
 */
export const defaultJuteMaxBufferBytes = 0xfffff;

/** node-zookeeper-client refuses more data than this in one node, whatever the server takes. */
const nodeZookeeperClientMaxDataBytes = 1024 * 1024;

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * The length a create request has on the wire, without its 4-byte length prefix (what the
 * server compares with jute.maxbuffer): request header (xid, type), then CreateRequest's path,
 * data and ACL as jute writes them (each string and buffer with a 4-byte length, the ACL as a
 * vector of perms, scheme, id) and the flags. `path` as the server sees it: with the chroot.
 */
export function createRequestBytes(path: string, data: Buffer, acl: readonly AclEntry[]): number {
  const header = 4 + 4;
  const aclBytes = 4 + acl.reduce((total, entry) => total + 4 + 4 + utf8Bytes(entry.scheme) + 4 + utf8Bytes(entry.id), 0);
  return header + 4 + utf8Bytes(path) + 4 + data.length + aclBytes + 4;
}

/**
 * The length of a multi request on the wire, without its length prefix: the request header,
 * then each op behind a MultiHeader (type, done, err: 9 bytes) and the closing MultiHeader, the
 * ops' bodies as jute writes them (CreateRequest, DeleteRequest, SetDataRequest, CheckVersionRequest).
 * Paths as the server sees them: `chroot` before each.
 */
export function multiRequestBytes(ops: readonly MultiOp[], chroot: string): number {
  const text = (path: string) => 4 + utf8Bytes(chroot + (path === '/' && chroot !== '' ? '' : path));
  const multiHeader = 4 + 1 + 4;
  return ops.reduce(
    (total, op) => {
      switch (op.type) {
        case 'create':
          // createRequestBytes counts a request header of its own: the multi's is counted once.
          return total + multiHeader + createRequestBytes(chroot + op.path, op.data, op.acl) - 8;
        case 'setData':
          return total + multiHeader + text(op.path) + 4 + op.data.length + 4;
        case 'delete':
        case 'check':
          return total + multiHeader + text(op.path) + 4;
      }
    },
    4 + 4 + multiHeader,
  );
}

/**
 * Refuses, before it is sent, a multi the server would answer by closing the connection (seen
 * as a connection loss that suspends the session, and "may have been committed" when nothing
 * was): REQUEST_TOO_LARGE, with its size and what to change. `guard` are our ops before the
 * caller's `ops` (the check of our own node), counted in the size but not in the ops' indexes.
 * node-zookeeper-client's 1 MiB cap on data is in its create and setData, not in its
 * transaction: a multi is bound by the server's limit alone.
 */
export function checkMultiFits(what: string, guard: readonly MultiOp[], ops: readonly MultiOp[], chroot: string, juteMaxBufferBytes: number): void {
  const bytes = multiRequestBytes([...guard, ...ops], chroot);
  if (bytes <= juteMaxBufferBytes) return;
  throw new ZkLeaderError(
    'REQUEST_TOO_LARGE',
    `${what} is a request of ${bytes} bytes, over the server's jute.maxbuffer of ${juteMaxBufferBytes}, and was not sent: split the transaction, write less data, or set juteMaxBufferBytes to a server's raised jute.maxbuffer`,
  );
}

/** Checks a `juteMaxBufferBytes` option: the server's jute.maxbuffer, when it was raised. */
export function validateJuteMaxBuffer(value: unknown): number {
  if (value === undefined) return defaultJuteMaxBufferBytes;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1024 || value > 0x7fffffff) {
    throw new InvalidArgumentError(
      `juteMaxBufferBytes must be the server's jute.maxbuffer, a whole number of bytes from 1024 to 2147483647: got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * Refuses, at construction, a node whose create the server would answer by closing the
 * connection: one line that says how large it is, what the server takes, and what to change.
 */
export function checkCreateFits(what: string, path: string, data: Buffer, acl: readonly AclEntry[], juteMaxBufferBytes: number, backend: BackendName): void {
  if (backend === 'node-zookeeper-client' && data.length > nodeZookeeperClientMaxDataBytes) {
    throw new InvalidArgumentError(
      `${what} is ${data.length} bytes, and node-zookeeper-client sends at most ${nodeZookeeperClientMaxDataBytes} bytes of data: publish a reference instead, or use backend 'zookeeper' with a server whose jute.maxbuffer is raised`,
    );
  }
  const bytes = createRequestBytes(path, data, acl);
  if (bytes <= juteMaxBufferBytes) return;
  const room = Math.max(0, data.length - (bytes - juteMaxBufferBytes));
  throw new InvalidArgumentError(
    `${what} is ${data.length} bytes, and creating ${path} with it is a request of ${bytes} bytes, over the server's jute.maxbuffer of ${juteMaxBufferBytes}: publish at most ${room} bytes (a reference instead of the data), or set juteMaxBufferBytes to a server's raised jute.maxbuffer`,
  );
}
