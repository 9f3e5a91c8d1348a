import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ConnectionOptions } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ExampleProcess } from '../../examples/support/processes.js';
import { Permission, type AclEntry, type SaslOption } from '../../src/client/types.js';
import { LeaderElection } from '../../src/election.js';
import type { ZkLeaderError } from '../../src/errors.js';
import { Session, type SessionOptions } from '../../src/session.js';
import type { ZooKeeperHandle } from '../../src/testing/index.js';
import { kazooPython, peersDir } from '../peers/index.js';
import { nextEvent, until } from '../support/events.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { startOwnZooKeeper, underCi } from '../support/zookeeper.js';

// The builtin client's TLS (mTLS, hostname verification, the x509 identity) and SASL
// DIGEST-MD5 against Debian's ZooKeeper 3.8 started by startZooKeeper({ tls, sasl }), and a
// mixed fleet over TLS with a kazoo peer. Each failure must be fast and say what to fix.

const python = kazooPython()?.python;
if (!python && underCi)
  throw new Error('python3-kazoo is not installed: the mixed fleet over TLS needs it (apt-get install python3-kazoo; .ci/run installs it)');

const alice: SaslOption = { username: 'alice', password: 'alice-secret' };
/** A failure is fast when it comes well before the session timeout (and any silent retry loop). */
const fastMs = 5000;
const sessionTimeoutMs = 8000;

const unique = (name: string) => `/builtin-${name}-${randomBytes(4).toString('hex')}`;
const all = (scheme: string, id: string): AclEntry[] => [{ scheme, id, permissions: Permission.all }];

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A builtin session, closed after the test. */
function session(options: Omit<SessionOptions, 'backend'>): Session {
  const created = new Session({ backend: 'builtin', sessionTimeoutMs, ...options });
  created.on('error', () => {});
  cleanups.push(() => created.close());
  return created;
}

/** How `ready()` of a session with these options fails, and how long it took. */
async function readyFailure(options: Omit<SessionOptions, 'backend'>): Promise<{ error: ZkLeaderError; ms: number }> {
  const started = performance.now();
  const error = await session({ connectTimeoutMs: 20_000, ...options })
    .ready()
    .then(
      () => {
        throw new Error('ready() resolved');
      },
      (failure: ZkLeaderError) => failure,
    );
  return { error, ms: performance.now() - started };
}

/** A forwarder whose target can change: a server that stops speaking TLS under a connected client. */
async function switchableForwarder(target: string): Promise<{ connectString: string; dials: number; switchTo(target: string): void; close(): Promise<void> }> {
  let [host, port] = target.split(':') as [string, string];
  const sockets = new Set<Socket>();
  const state = { dials: 0 };
  const server: Server = createServer((client) => {
    state.dials += 1;
    const upstream = connect(Number(port), host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    connectString: `127.0.0.1:${(server.address() as { port: number }).port}`,
    get dials() {
      return state.dials;
    },
    switchTo(next: string) {
      [host, port] = next.split(':') as [string, string];
      for (const socket of sockets) socket.destroy();
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the builtin client over TLS and SASL', () => {
  let need: ZooKeeperHandle;
  let required: ZooKeeperHandle;
  /** The client certificate the servers trust: mTLS. */
  let mtls: ConnectionOptions;

  beforeAll(async () => {
    [need, required] = await Promise.all([
      startOwnZooKeeper({ tls: { clientAuth: 'need' }, sasl: { users: { alice: alice.password, bob: 'bob-secret' } } }),
      startOwnZooKeeper({ sasl: { users: { alice: alice.password }, required: true } }),
    ]);
    const { ca, cert, key } = need.tls!.client;
    mtls = { ca, cert, key };
  });
  afterAll(async () => {
    await Promise.all([need, required].filter(Boolean).map((handle) => handle.close()));
  });

  it('two participants over mTLS elect one leader, and the other takes over when it stops', async () => {
    const path = unique('election');
    const options = { connect: need.tls!.connectString, backend: 'builtin' as const, tls: mtls, sessionTimeoutMs };
    const first = new LeaderElection({ ...options, path, id: 'first' });
    const second = new LeaderElection({ ...options, path, id: 'second' });
    cleanups.push(() => Promise.all([first.stop(), second.stop()]));
    const firstElected = nextEvent(first, 'elected');
    await first.start();
    await firstElected;
    const secondElected = nextEvent(second, 'elected');
    await second.start();
    expect(second.isLeader).toBe(false);
    await first.stop();
    await secondElected;
    expect(first.isLeader).toBe(false);
    expect(second.isLeader).toBe(true);
  });

  it("verifies the server's host name: by IP and by servername localhost it connects, another name fails TLS_FAILED", async () => {
    await session({ connect: need.tls!.connectString, tls: mtls }).ready();
    await session({ connect: need.tls!.connectString, tls: { ...mtls, servername: 'localhost' } }).ready();
    const { error, ms } = await readyFailure({ connect: need.tls!.connectString, tls: { ...mtls, servername: 'zookeeper.example' } });
    expect(error).toMatchObject({
      code: 'TLS_FAILED',
      message: expect.stringMatching(/not made for zookeeper\.example.*ERR_TLS_CERT_ALTNAME_INVALID.*tls\.servername/),
    });
    expect(ms).toBeLessThan(fastMs);
  });

  it('a server certificate from another CA fails ready() at once with TLS_FAILED, naming tls.ca', async () => {
    const { error, ms } = await readyFailure({ connect: need.tls!.connectString, tls: { ...mtls, ca: need.tls!.untrusted.ca } });
    expect(error.code).toBe('TLS_FAILED');
    expect(error.message).toMatch(
      /^TLS to 127\.0\.0\.1:\d+ failed: the server's certificate is not signed by a CA in tls\.ca \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\); pass the CA/,
    );
    expect(ms).toBeLessThan(fastMs);
  });

  it("an election's start() over a wrong CA rejects at once with TLS_FAILED", async () => {
    const election = new LeaderElection({
      connect: need.tls!.connectString,
      path: unique('refused'),
      backend: 'builtin',
      tls: { ...mtls, ca: need.tls!.untrusted.ca },
    });
    cleanups.push(() => election.stop());
    const started = performance.now();
    await expect(election.start()).rejects.toMatchObject({ code: 'TLS_FAILED' });
    expect(performance.now() - started).toBeLessThan(fastMs);
  });

  it('no client certificate on a server with clientAuth need fails ready() at once with TLS_FAILED, naming tls.cert', async () => {
    const { error, ms } = await readyFailure({ connect: need.tls!.connectString, tls: { ca: need.tls!.client.ca } });
    expect(error).toMatchObject({ code: 'TLS_FAILED', message: expect.stringMatching(/requires a client certificate.*pass tls\.cert and tls\.key/) });
    expect(ms).toBeLessThan(fastMs);
  });

  it('a client certificate the server does not trust fails with TLS_FAILED', async () => {
    const { cert, key } = need.tls!.untrusted;
    const { error, ms } = await readyFailure({ connect: need.tls!.connectString, tls: { ca: need.tls!.client.ca, cert, key } });
    expect(error).toMatchObject({ code: 'TLS_FAILED', message: expect.stringMatching(/refused the client certificate/) });
    expect(ms).toBeLessThan(fastMs);
  });

  it('a plaintext client on the secure port fails ready() at once with TLS_FAILED, saying the port speaks TLS', async () => {
    const { error, ms } = await readyFailure({ connect: need.tls!.connectString });
    expect(error).toMatchObject({ code: 'TLS_FAILED', message: expect.stringMatching(/speaks TLS.*pass tls/) });
    expect(ms).toBeLessThan(fastMs);
  });

  it('a TLS client on the plaintext port fails ready() at once with TLS_FAILED, naming secureClientPort', async () => {
    const { error, ms } = await readyFailure({ connect: need.connectString, tls: mtls });
    expect(error).toMatchObject({ code: 'TLS_FAILED', message: expect.stringMatching(/closed the connection during the TLS handshake.*secureClientPort/) });
    expect(ms).toBeLessThan(fastMs);
  });

  it("the client certificate's subject is an x509 identity in ACLs: it reads its node, another identity gets NO_AUTH", async () => {
    const path = unique('x509');
    const owner = session({ connect: need.tls!.connectString, tls: mtls });
    await owner.create(path, Buffer.from('x509'), 'persistent', all('x509', need.tls!.client.subject));
    expect((await owner.getData(path)).data.toString()).toBe('x509');
    // Another identity: alice by SASL, on the plaintext port.
    const other = session({ connect: need.connectString, sasl: alice });
    await expect(other.getData(path)).rejects.toMatchObject({ code: 'NO_AUTH' });
  });

  it('SASL DIGEST-MD5 logs in: its sasl identity reads a node only it may read', async () => {
    const path = unique('sasl');
    const owner = session({ connect: need.connectString, sasl: alice });
    await owner.ready();
    await owner.create(path, Buffer.from('sasl'), 'persistent', all('sasl', 'alice'));
    expect((await owner.getData(path)).data.toString()).toBe('sasl');
    const bob = session({ connect: need.connectString, sasl: { username: 'bob', password: 'bob-secret' } });
    await expect(bob.getData(path)).rejects.toMatchObject({ code: 'NO_AUTH' });
  });

  it('a wrong SASL password fails ready() with AUTH_FAILED, saying to check sasl.username/password', async () => {
    const { error, ms } = await readyFailure({ connect: need.connectString, sasl: { username: 'alice', password: 'not-her-password' } });
    expect(error).toMatchObject({
      code: 'AUTH_FAILED',
      message: expect.stringMatching(/SASL login to 127\.0\.0\.1:\d+ as 'alice' failed.*check sasl\.username\/password/),
    });
    expect(ms).toBeLessThan(fastMs);
  });

  it('a server that requires SASL refuses an anonymous session with AUTH_FAILED that says to pass sasl, and serves one that logs in', async () => {
    const anonymous = session({ connect: required.connectString });
    const failed = nextEvent(anonymous, 'error');
    const refused = await anonymous.getData('/').catch((error: Error) => error);
    expect(refused).toMatchObject({ code: 'AUTH_FAILED', message: expect.stringMatching(/requires a SASL login.*pass sasl/) });
    expect(await failed).toMatchObject({ code: 'AUTH_FAILED' });
    const loggedIn = session({ connect: required.connectString, sasl: alice });
    expect(await loggedIn.exists('/')).not.toBeNull();
  });

  it('SASL over mTLS: both identities are the connection’s', async () => {
    const path = unique('sasl-tls');
    const both = session({ connect: need.tls!.connectString, tls: mtls, sasl: alice });
    await both.create(path, Buffer.from('both'), 'persistent', [
      { scheme: 'sasl', id: 'alice', permissions: Permission.read },
      { scheme: 'x509', id: need.tls!.client.subject, permissions: Permission.all },
    ]);
    expect((await both.getData(path)).data.toString()).toBe('both');
    const saslOnly = session({ connect: need.connectString, sasl: alice });
    expect((await saslOnly.getData(path)).data.toString()).toBe('both');
  });

  it('after a reset of the connection, the same session comes back over TLS with its SASL login made again', async () => {
    const proxy = await TcpProxy.to(need.tls!.connectString);
    cleanups.push(() => proxy.close());
    const path = unique('relogin');
    // The proxy listens on 127.0.0.1, a name in the server certificate: TLS passes through it as bytes.
    const client = session({ connect: proxy.connectString, tls: mtls, sasl: alice });
    await client.ready();
    await client.create(path, Buffer.from('again'), 'persistent', all('sasl', 'alice'));
    const sessionId = client.sessionId;
    const suspended = nextEvent(client, 'suspended');
    const reconnected = nextEvent(client, 'reconnected');
    proxy.resetConnections();
    await suspended;
    await reconnected;
    expect(client.sessionId).toBe(sessionId);
    // Only a connection with alice's sasl id may read it: the login was made again.
    expect((await client.getData(path)).data.toString()).toBe('again');
  });

  it('TLS failing after a session was had: it keeps trying with backoff, reports TLS_FAILED once, and the session returns', async () => {
    const forwarder = await switchableForwarder(need.tls!.connectString);
    cleanups.push(() => forwarder.close());
    const client = session({ connect: forwarder.connectString, tls: mtls, sessionTimeoutMs: 30_000 });
    await client.ready();
    const sessionId = client.sessionId;
    const errors: ZkLeaderError[] = [];
    client.on('error', (error) => errors.push(error));
    const reported = nextEvent(client, 'error');
    // The plaintext port under the TLS client: every attempt fails its TLS handshake.
    const dialsBefore = forwarder.dials;
    forwarder.switchTo(need.connectString);
    expect(await reported).toMatchObject({ code: 'TLS_FAILED', message: expect.stringMatching(/secureClientPort/) });
    await until(() => forwarder.dials >= dialsBefore + 4, 'four more attempts');
    expect(errors.map((error) => error.code)).toEqual(['TLS_FAILED']);
    expect(client.state).toBe('suspended');
    const reconnected = nextEvent(client, 'reconnected');
    forwarder.switchTo(need.tls!.connectString);
    await reconnected;
    expect(client.sessionId).toBe(sessionId);
  });

  describe.skipIf(!python)('a mixed fleet over TLS', () => {
    it('a kazoo peer and a builtin participant in one election over mTLS: one leader at a time, and the builtin one takes over', async () => {
      const path = unique('mixed');
      const { files } = need.tls!.client;
      const kazoo = new ExampleProcess(
        spawn(
          python!,
          [
            `${peersDir}kazoo_election.py`,
            ...['--connect', need.tls!.connectString, '--path', path, '--id', 'kazoo', '--session-timeout', '4'],
            ...['--tls', '--ca', files.ca, '--cert', files.cert, '--key', files.key],
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        ),
      );
      cleanups.push(() => {
        kazoo.signal('SIGKILL');
      });
      const kazooElected = await kazoo.waitForEvent('elected');
      const ours = new LeaderElection({
        connect: need.tls!.connectString,
        backend: 'builtin',
        tls: mtls,
        sessionTimeoutMs,
        path,
        id: 'builtin',
        recipe: 'kazoo',
      });
      cleanups.push(() => ours.stop());
      const oursElected = nextEvent(ours, 'elected');
      await ours.start();
      expect(ours.isLeader).toBe(false);
      expect((await ours.getLeader())?.id).toBe('kazoo');
      kazoo.signal('SIGTERM');
      const { fencingToken } = await oursElected;
      const electedAt = Date.now();
      const kazooLost = await kazoo.waitForEvent('lost');
      // One leader at a time: kazoo's term ended before ours began, and our token is newer.
      expect(kazooLost.reason).toBe('stopped');
      expect(kazooLost.ts as number).toBeLessThanOrEqual(electedAt);
      expect(fencingToken).toBeGreaterThan(BigInt(kazooElected.fencingToken as string));
    });
  });
});

describe('TLS and SASL options', () => {
  it("tls or sasl with another backend is refused at construction: use backend: 'builtin'", () => {
    for (const backend of ['node-zookeeper-client', 'zookeeper'] as const) {
      expect(() => new Session({ connect: '127.0.0.1:2181', backend, tls: true })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/use backend: 'builtin'/) }),
      );
      expect(() => new LeaderElection({ connect: '127.0.0.1:2181', path: '/e', backend, sasl: alice })).toThrow(/use backend: 'builtin'/);
    }
  });

  it('a key that does not load, a cert without its key, or a mechanism other than DIGEST-MD5 is INVALID_ARGUMENT', () => {
    const builtin = { connect: '127.0.0.1:2181', backend: 'builtin' as const };
    expect(() => new Session({ ...builtin, tls: { key: 'not a key', cert: 'not a cert' } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/do not load.*PEM/) }),
    );
    expect(() => new Session({ ...builtin, tls: { cert: 'x' } })).toThrow(/go together/);
    expect(() => new Session({ ...builtin, sasl: { username: 'a', password: 'b', mechanism: 'GSSAPI' as 'DIGEST-MD5' } })).toThrow(/Kerberos/);
  });
});
