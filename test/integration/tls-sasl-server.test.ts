import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZooKeeper, type ZooKeeperHandle } from '../../src/testing/index.js';
import { kazooPython, peersDir } from '../peers/index.js';
import { startOwnZooKeeper, underCi } from '../support/zookeeper.js';

// The servers issue 24's TLS and SASL client is tested against: startZooKeeper({ tls, sasl })
// on Debian's ZooKeeper 3.8, driven by Debian's kazoo (which speaks TLS and SASL DIGEST-MD5)
// and by node:tls.

const run = promisify(execFile);
const python = kazooPython()?.python;
if (!python && underCi) {
  throw new Error('python3-kazoo is not installed: the TLS and SASL server tests need it (apt-get install python3-kazoo; .ci/run installs it)');
}

interface KazooResult {
  ok: boolean;
  stage: 'connect' | 'create' | 'get';
  error?: string;
  message?: string;
  data?: string;
  acl?: [string, string][];
  /** Set when kazoo's connection thread died (an error code it does not know). */
  thread?: boolean;
  warnings: string[];
}

interface KazooOptions {
  connect: string;
  tls?: { ca: string; cert?: string; key?: string };
  sasl?: { user: string; password: string };
  create?: string;
  acl?: string;
  get?: string;
}

/** One kazoo client run (test/peers/kazoo_tls_sasl.py): what it did, or why it failed. */
async function kazoo(options: KazooOptions): Promise<KazooResult> {
  const args = [`${peersDir}kazoo_tls_sasl.py`, '--connect', options.connect];
  if (options.tls) {
    args.push('--tls', '--ca', options.tls.ca);
    if (options.tls.cert && options.tls.key) args.push('--cert', options.tls.cert, '--key', options.tls.key);
  }
  if (options.sasl) args.push('--sasl-user', options.sasl.user, '--sasl-password', options.sasl.password);
  for (const flag of ['create', 'acl', 'get'] as const) if (options[flag]) args.push(`--${flag}`, options[flag]);
  const { stdout } = await run(python!, args, { timeout: 20_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as KazooResult;
}

/** A TLS connection from node:tls: resolves with the socket once verified, or rejects with why not. */
function tlsConnect(connectString: string, options: ConnectionOptions): Promise<TLSSocket> {
  const [host, port] = connectString.split(',')[0]!.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port), ...options }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** `srvr` over a verified TLS connection: the secure port is a ZooKeeper behind TLS. */
function srvrOver(socket: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.once('error', reject);
    socket.end('srvr');
  });
}

const unique = (name: string) => `/${name}-${randomBytes(4).toString('hex')}`;

describe.skipIf(!python)('ZooKeeper with TLS and SASL (startZooKeeper({ tls, sasl }))', () => {
  let need: ZooKeeperHandle;
  let want: ZooKeeperHandle;
  let required: ZooKeeperHandle;
  const alice = { user: 'alice', password: 'alice-secret' };

  beforeAll(async () => {
    [need, want, required] = await Promise.all([
      startOwnZooKeeper({ tls: { clientAuth: 'need' }, sasl: { users: { alice: alice.password } } }),
      startOwnZooKeeper({ tls: { clientAuth: 'want', plaintextPort: false } }),
      startOwnZooKeeper({ sasl: { users: { alice: alice.password }, required: true } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([need, want, required].filter(Boolean).map((handle) => handle.close()));
  });

  const withCert = () => ({ ca: need.tls!.client.files.ca, cert: need.tls!.client.files.cert, key: need.tls!.client.files.key });

  it('a kazoo client with the client certificate creates and reads a node over TLS', async () => {
    const path = unique('mtls');
    const result = await kazoo({ connect: need.tls!.connectString, tls: withCert(), create: path, get: path });
    expect(result).toMatchObject({ ok: true, data: 'tls-sasl' });
  });

  it("the client certificate's subject is the connection's x509 identity, usable in an ACL", async () => {
    const path = unique('x509');
    const created = await kazoo({ connect: need.tls!.connectString, tls: withCert(), create: path, acl: `x509:${need.tls!.client.subject}`, get: path });
    expect(created).toMatchObject({ ok: true, data: 'tls-sasl', acl: [['x509', 'CN=zk-leader-client,O=zk-leader']] });
    // The same node read by a client without that identity (SASL on the plain port) is refused.
    const other = await kazoo({ connect: need.connectString, sasl: alice, get: path });
    expect(other).toMatchObject({ ok: false, stage: 'get', error: 'NoAuthError' });
  });

  it('a client that trusts another CA refuses the server certificate', async () => {
    const result = await kazoo({ connect: need.tls!.connectString, tls: { ca: need.tls!.untrusted.files.ca } });
    expect(result).toMatchObject({ ok: false, stage: 'connect' });
    expect(result.warnings.join('\n')).toMatch(/CERTIFICATE_VERIFY_FAILED/);
  });

  it('with clientAuth need, a client without a certificate is refused', async () => {
    const result = await kazoo({ connect: need.tls!.connectString, tls: { ca: need.tls!.client.files.ca } });
    expect(result).toMatchObject({ ok: false, stage: 'connect' });
    expect(result.warnings.length).toBeGreaterThan(0);
  });

  it('a client certificate signed by an unrelated CA is refused', async () => {
    const { files } = need.tls!.untrusted;
    const result = await kazoo({ connect: need.tls!.connectString, tls: { ca: need.tls!.client.files.ca, cert: files.cert, key: files.key } });
    expect(result).toMatchObject({ ok: false, stage: 'connect' });
  });

  it('a plaintext client on the secure port is refused', async () => {
    const result = await kazoo({ connect: need.tls!.connectString });
    expect(result).toMatchObject({ ok: false, stage: 'connect' });
    expect(result.warnings.join('\n')).toMatch(/Connection dropped/);
  });

  it('node:tls verifies the secure port against the generated CA, by name and by IP address', async () => {
    const { ca, cert, key } = need.tls!.client;
    const byName = await tlsConnect(need.tls!.connectString, { ca, cert, key, servername: 'localhost' });
    expect(byName.authorized).toBe(true);
    expect(await srvrOver(byName)).toMatch(/Zookeeper version: 3\./);
    // No servername: Node checks the host, 127.0.0.1, against the certificate's IP SAN.
    const byAddress = await tlsConnect(need.tls!.connectString, { ca, cert, key });
    expect(byAddress.authorized).toBe(true);
    byAddress.destroy();
    await expect(tlsConnect(need.tls!.connectString, { ca, cert, key, servername: 'zookeeper.example' })).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    await expect(tlsConnect(need.tls!.connectString, { ca: need.tls!.untrusted.ca, cert, key, servername: 'localhost' })).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
  });

  it('with clientAuth want and no plaintext port, a client without a certificate connects over TLS but has no x509 identity', async () => {
    expect(want.connectString).toBe(want.tls!.connectString);
    const { files, subject } = want.tls!.client;
    const path = unique('want');
    const created = await kazoo({ connect: want.connectString, tls: files, create: path, acl: `x509:${subject}`, get: path });
    expect(created).toMatchObject({ ok: true, data: 'tls-sasl' });
    const withoutCert = await kazoo({ connect: want.connectString, tls: { ca: files.ca }, get: path });
    expect(withoutCert).toMatchObject({ ok: false, stage: 'get', error: 'NoAuthError' });
    const roundTrip = await kazoo({ connect: want.connectString, tls: { ca: files.ca }, create: `${path}-open`, get: `${path}-open` });
    expect(roundTrip).toMatchObject({ ok: true, data: 'tls-sasl' });
  });

  it('SASL DIGEST-MD5 with the right password logs in, and the sasl identity works in an ACL', async () => {
    const path = unique('sasl');
    const result = await kazoo({ connect: need.connectString, sasl: alice, create: path, acl: 'sasl:alice', get: path });
    expect(result).toMatchObject({ ok: true, data: 'tls-sasl', acl: [['sasl', 'alice']] });
    const anonymous = await kazoo({ connect: need.tls!.connectString, tls: withCert(), get: path });
    expect(anonymous).toMatchObject({ ok: false, stage: 'get', error: 'NoAuthError' });
  });

  it('SASL with a wrong password is refused', async () => {
    const result = await kazoo({ connect: need.connectString, sasl: { user: 'alice', password: 'not-her-password' } });
    expect(result).toMatchObject({ ok: false, stage: 'connect', error: 'AuthFailedError' });
  });

  it('SASL over TLS works', async () => {
    const path = unique('sasl-tls');
    const result = await kazoo({ connect: need.tls!.connectString, tls: withCert(), sasl: alice, create: path, acl: 'sasl:alice', get: path });
    expect(result).toMatchObject({ ok: true, data: 'tls-sasl' });
  });

  it('with sasl.required, a client that does not log in is refused and one that does is served', async () => {
    expect(required.sasl).toMatchObject({ mechanism: 'DIGEST-MD5', required: true });
    // The server answers err -124 and closes the connection; kazoo 2.8 has no class for -124.
    const anonymous = await kazoo({ connect: required.connectString });
    expect(anonymous).toMatchObject({ ok: false, error: 'RuntimeError', message: 'Invalid error code' });
    const path = unique('required');
    const loggedIn = await kazoo({ connect: required.connectString, sasl: alice, create: path, get: path });
    expect(loggedIn).toMatchObject({ ok: true, data: 'tls-sasl' });
  });
});

describe('startZooKeeper({ tls, sasl }) refuses what it cannot serve', () => {
  it('tls with the Docker provider or ZK_CONNECT fails with INVALID_ARGUMENT, naming ZK_PROVIDER=local', async () => {
    await expect(startZooKeeper({ tls: {}, env: { ZK_PROVIDER: 'docker' } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: /ZK_PROVIDER=local/ });
    await expect(startZooKeeper({ sasl: { users: { alice: 'a' } }, env: { ZK_CONNECT: '127.0.0.1:2181' } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('a SASL password the JAAS file cannot hold fails with INVALID_ARGUMENT before a server starts', async () => {
    await expect(startZooKeeper({ sasl: { users: { alice: 'say "hi"' } }, env: { ZK_PROVIDER: 'local' } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
