import { randomBytes } from 'node:crypto';
import { inject, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import type { AclEntry, BackendName } from '../../src/client/types.js';
import { isZooKeeperError } from '../../src/errors.js';
import { Session } from '../../src/session.js';
import { fourLetterWord, startZooKeeper, type StartZooKeeperOptions, type ZooKeeperHandle } from '../../src/testing/index.js';
import { connectClient } from './events.js';

export const backends: BackendName[] = ['node-zookeeper-client', 'zookeeper', 'builtin'];

/** The shared test server's connect string. */
export const zkConnect = (): string => inject('zkConnect');

/** A znode path no other test uses. */
export function uniquePath(name: string): string {
  return `/zk-leader-test/${name}-${randomBytes(4).toString('hex')}`;
}

/** Deletes `path` and everything below it (leftovers of a failed test included). */
export async function removeTree(session: Session, path: string): Promise<void> {
  let children: string[];
  try {
    children = await session.getChildren(path);
  } catch (error) {
    if (isZooKeeperError(error, 'NO_NODE')) return;
    throw error;
  }
  for (const child of children) await removeTree(session, `${path}/${child}`);
  try {
    await session.remove(path);
  } catch (error) {
    if (!isZooKeeperError(error, 'NO_NODE')) throw error;
  }
}

/** An admin session for inspecting and cleaning up, closed by the caller. */
export async function adminSession(connect = zkConnect()): Promise<Session> {
  const session = new Session({ connect, sessionTimeoutMs: 10_000 });
  await session.ready();
  return session;
}

/**
 * Servers a test can kill and restart. With ZK_CONNECT nothing here is ours to kill: such
 * tests are skipped with that reason, except under CI where they must run and so fail.
 */
export const underCi = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';
export const controllable = !process.env.ZK_CONNECT || underCi;
export const itWithOwnServers = controllable ? it : it.skip;
if (!controllable) console.warn('[zk-leader tests] ZK_CONNECT is set: tests that kill or restart servers are skipped (they need servers this process starts)');

/** Servers of this test's own, from the run's provider: never `ZK_CONNECT`'s (external) ones. */
export async function startOwnZooKeeper(options: StartZooKeeperOptions): Promise<ZooKeeperHandle> {
  const { ZK_CONNECT: _ignored, ...env } = process.env;
  if (env.ZK_PROVIDER === 'external') delete env.ZK_PROVIDER;
  return startZooKeeper({ ...options, env });
}

/**
 * An operator's `setAcl` from outside (a zk-leader Session has no public setAcl: recipes never
 * change an ACL after creating a node): one raw client, closed again.
 */
export async function operatorSetAcl(path: string, acl: readonly AclEntry[], connect = zkConnect()): Promise<void> {
  const client = createClient('node-zookeeper-client', { connectString: connect, sessionTimeoutMs: 10_000 });
  try {
    await connectClient(client);
    await client.setAcl(path, acl);
  } finally {
    await client.close();
  }
}

/**
 * A host name that never resolves, and whose lookup sends nothing over the network: a DNS
 * label has at most 63 characters, so the resolver library cannot even build the query for
 * this one (and `.invalid` is reserved, RFC 6761). Tests reach no address beyond loopback.
 */
export const unresolvableHost = `${'x'.repeat(64)}.invalid`;

/**
 * The sessions the server holds a data or exists watch on `path` for (the `wchp` four-letter
 * word): parallel tests share the server, so only our path is looked at.
 */
export async function sessionsWatching(path: string): Promise<string[]> {
  const [host, port] = zkConnect().split(',')[0]!.split(':') as [string, string];
  const lines = ((await fourLetterWord(host, Number(port), 'wchp')) ?? '').split('\n');
  const at = lines.indexOf(path);
  if (at === -1) return [];
  const sessions: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (!line.startsWith('\t')) break;
    sessions.push(line.trim().replace(/^0x/, '').padStart(16, '0'));
  }
  return sessions;
}
