import { afterEach } from 'vitest';
import type { BackendName } from '../../src/client/types.js';
import { Session, type SessionOptions } from '../../src/session.js';
import { TcpProxy } from './tcp-proxy.js';
import { adminSession, zkConnect } from './zookeeper.js';

/**
 * Proxies, sessions and other things a test opens, closed after it in reverse order. Call it
 * before `electionFixture`, so that its cleanup runs after the participants were stopped.
 */
export function testResources(backend: BackendName) {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse())
      await Promise.resolve()
        .then(cleanup)
        .catch(() => {});
  });
  // Arrow functions: tests destructure them (`const { proxy, session } = testResources(...)`).
  const resources = {
    /** Runs `cleanup` after the test (last registered, first run). */
    defer: (cleanup: () => unknown): void => {
      cleanups.push(cleanup);
    },
    /** A TCP proxy to the test server, for partitions and held replies. */
    proxy: async (): Promise<TcpProxy> => {
      const created = await TcpProxy.to(zkConnect());
      cleanups.push(() => created.close());
      return created;
    },
    /** A session on the default backend, for looking and acting from outside. */
    admin: async (): Promise<Session> => {
      const session = await adminSession();
      cleanups.push(() => session.close());
      return session;
    },
    /** A session on the test's backend (timeout 4 s unless given). */
    session: (options: Partial<SessionOptions> = {}): Session => {
      const created = new Session({ connect: zkConnect(), backend, sessionTimeoutMs: 4000, ...options });
      cleanups.push(() => created.close());
      return created;
    },
    /** A connected session behind its own proxy (timeout 8 s unless given), for cutting or holding its traffic. */
    proxiedSession: async (options: Partial<SessionOptions> = {}): Promise<{ cut: TcpProxy; shared: Session }> => {
      const cut = await resources.proxy();
      const shared = resources.session({ connect: cut.connectString, sessionTimeoutMs: 8000, ...options });
      await shared.ready();
      return { cut, shared };
    },
    /**
     * A session behind a proxy that has just gone silent (no RST): resolves once the session
     * is suspended. Heal the proxy before the test ends (README: the native backend).
     */
    silencedSession: async (options: Partial<SessionOptions> = {}): Promise<{ cut: TcpProxy; silenced: Session }> => {
      const cut = await resources.proxy();
      const silenced = resources.session({ connect: cut.connectString, sessionTimeoutMs: 8000, ...options });
      await silenced.ready();
      const suspended = new Promise((resolve) => silenced.once('suspended', resolve));
      cut.blackhole();
      cut.resetConnections();
      await suspended;
      return { cut, silenced };
    },
  };
  return resources;
}
