import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ZooKeeperNotFoundError } from './errors.js';
import type { TlsCredentials, ZooKeeperTlsOptions } from './types.js';

const run = promisify(execFile);

/** The names the server certificate is made for, in its subject alternative names. */
export const serverNames = ['127.0.0.1', 'localhost'] as const;

/** Certificates made for one handle: what the servers load and what a client needs. */
export interface TlsMaterial {
  /** The servers' PEM key store: their private key, then their certificate. */
  serverKeyStoreFile: string;
  /** The servers' PEM trust store: the CA that signed the client certificate. */
  trustStoreFile: string;
  client: TlsCredentials;
  untrusted: TlsCredentials;
}

async function openssl(folder: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: folder });
  } catch (error) {
    const { code, stderr } = error as { code?: string; stderr?: string };
    if (code === 'ENOENT') {
      throw new ZooKeeperNotFoundError('startZooKeeper({ tls }) makes its certificates with openssl, which is not on PATH: apt-get install openssl');
    }
    throw new Error(`openssl ${args[0]} failed in ${folder}: ${stderr?.trim() ?? String(error)}`);
  }
}

/** A P-256 key (fast to make; ZooKeeper's PEM reader and every TLS stack here take it), PKCS#8 PEM. */
const newKey = (folder: string, name: string) => openssl(folder, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);

async function newCa(folder: string, name: string, commonName: string): Promise<void> {
  await newKey(folder, name);
  await openssl(folder, [
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '7',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** A certificate for `name`, signed by the CA `ca`, with the given X.509 v3 extensions. */
async function newLeaf(folder: string, name: string, ca: string, subject: string, extensions: string[]): Promise<void> {
  await newKey(folder, name);
  await openssl(folder, ['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
  writeFileSync(join(folder, `${name}.ext`), ['basicConstraints=CA:FALSE', ...extensions].join('\n') + '\n');
  const serial = `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
  await openssl(folder, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-set_serial',
    serial,
    '-days',
    '7',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  ]);
}

function credentials(folder: string, ca: string, client: string, subject: string): TlsCredentials {
  const files = { ca: join(folder, `${ca}.pem`), cert: join(folder, `${client}.pem`), key: join(folder, `${client}.key`) };
  return { ca: readFileSync(files.ca, 'utf8'), cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8'), files, subject };
}

/**
 * Makes, in `folder`, a CA, a server certificate for 127.0.0.1 and localhost and a client
 * certificate signed by it, and a second, unrelated CA with a client certificate of its own.
 * Seven openssl runs, about 0.2 s.
 */
export async function makeTlsMaterial(folder: string): Promise<TlsMaterial> {
  mkdirSync(folder, { recursive: true });
  await Promise.all([newCa(folder, 'ca', 'zk-leader test CA'), newCa(folder, 'untrusted-ca', 'zk-leader untrusted test CA')]);
  await Promise.all([
    newLeaf(folder, 'server', 'ca', '/CN=localhost', [
      `subjectAltName=${serverNames.map((name) => (name.includes('.') ? `IP:${name}` : `DNS:${name}`)).join(',')}`,
      'extendedKeyUsage=serverAuth',
    ]),
    // RFC 2253 names the last RDN first: /O=zk-leader/CN=zk-leader-client is CN=zk-leader-client,O=zk-leader.
    newLeaf(folder, 'client', 'ca', '/O=zk-leader/CN=zk-leader-client', ['extendedKeyUsage=clientAuth']),
    newLeaf(folder, 'untrusted-client', 'untrusted-ca', '/O=zk-leader/CN=zk-leader-untrusted-client', ['extendedKeyUsage=clientAuth']),
  ]);
  // ZooKeeper's PEM key store is one file: the private key (PKCS#8), then the certificate chain.
  const serverKeyStoreFile = join(folder, 'server-keystore.pem');
  writeFileSync(serverKeyStoreFile, readFileSync(join(folder, 'server.key'), 'utf8') + readFileSync(join(folder, 'server.pem'), 'utf8'));
  return {
    serverKeyStoreFile,
    trustStoreFile: join(folder, 'ca.pem'),
    client: credentials(folder, 'ca', 'client', 'CN=zk-leader-client,O=zk-leader'),
    untrusted: credentials(folder, 'untrusted-ca', 'untrusted-client', 'CN=zk-leader-untrusted-client,O=zk-leader'),
  };
}

/** The zoo.cfg lines that serve TLS on `secureClientPort` with `material`. */
export function tlsZooCfg(host: string, secureClientPort: number, material: TlsMaterial, options: ZooKeeperTlsOptions): string[] {
  return [
    // NIO has no TLS ("SSL isn't supported in NIOServerCnxn"); Netty serves both ports.
    'serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory',
    `secureClientPort=${secureClientPort}`,
    `secureClientPortAddress=${host}`,
    `ssl.keyStore.location=${material.serverKeyStoreFile}`,
    'ssl.keyStore.type=PEM',
    `ssl.trustStore.location=${material.trustStoreFile}`,
    'ssl.trustStore.type=PEM',
    `ssl.clientAuth=${options.clientAuth ?? 'need'}`,
    // Names the x509 scheme outright: a client certificate's subject becomes the connection's x509 id.
    'authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider',
  ];
}
