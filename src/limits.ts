import type { AclEntry, BackendName } from './client/types.js';
import { InvalidArgumentError } from './errors.js';

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
