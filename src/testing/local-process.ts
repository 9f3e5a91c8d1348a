import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { isServing, serverVersion } from './four-letter.js';
import type { ZooKeeperInstallation } from './jars.js';
import { freePort } from './ports.js';
import { reapWithParent } from './reaper.js';
import { saslZooCfg, validateSasl, writeJaasFile } from './sasl.js';
import { makeTlsMaterial, serverNames, tlsZooCfg, type TlsMaterial } from './tls.js';
import type { StartZooKeeperOptions, ZooKeeperHandle, ZooKeeperServer } from './types.js';

/** How long a stopped server may take to exit before it is killed. */
const stopGraceMs = 10_000;

const host = '127.0.0.1';

interface ServerPorts {
  id: number;
  /** The plain port; null when `tls.plaintextPort` is false. */
  clientPort: number | null;
  /** The TLS port; null without `tls`. */
  secureClientPort: number | null;
  quorumPort: number;
  electionPort: number;
}

function zooCfg(
  folder: string,
  self: ServerPorts,
  all: ServerPorts[],
  tickTimeMs: number,
  forceSync: boolean,
  maxSessionTimeoutMs: number,
  extra: string[],
): string {
  const lines = [
    `tickTime=${tickTimeMs}`,
    `minSessionTimeout=${2 * tickTimeMs}`,
    `maxSessionTimeout=${maxSessionTimeoutMs}`,
    `dataDir=${folder}`,
    ...(self.clientPort === null ? [] : [`clientPort=${self.clientPort}`, `clientPortAddress=${host}`]),
    '4lw.commands.whitelist=*',
    'admin.enableServer=false',
    'maxClientCnxns=0',
    // Ensembles in tests restart often; keep leader election and syncing snappy.
    'initLimit=50',
    'syncLimit=25',
    'autopurge.purgeInterval=0',
    `forceSync=${forceSync ? 'yes' : 'no'}`,
  ];
  if (all.length > 1) {
    for (const peer of all) {
      lines.push(`server.${peer.id}=${host}:${peer.quorumPort}:${peer.electionPort}`);
    }
  }
  lines.push(...extra);
  return lines.join('\n') + '\n';
}

/** How a server is reached and what its JVM needs beyond the defaults. */
interface ServerSetup {
  /** Extra JVM flags (`-Djava.security.auth.login.config=...` for SASL). */
  jvmFlags: string[];
  /** TLS options for the harness's own `srvr` probes when the only port is the secure one. */
  probeTls: ConnectionOptions | undefined;
}

const deadline = (ms: number) => Date.now() + ms;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class LocalServer implements ZooKeeperServer {
  readonly host = host;
  private process: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly installation: ZooKeeperInstallation,
    private readonly ports: ServerPorts,
    private readonly folder: string,
    private readonly mainClass: string,
    private readonly startTimeoutMs: number,
    private readonly setup: ServerSetup,
  ) {}

  get id(): number {
    return this.ports.id;
  }
  get clientPort(): number {
    return (this.ports.clientPort ?? this.ports.secureClientPort)!;
  }
  get connectString(): string {
    return `${host}:${this.clientPort}`;
  }
  get secureClientPort(): number | undefined {
    return this.ports.secureClientPort ?? undefined;
  }
  get secureConnectString(): string | undefined {
    return this.ports.secureClientPort === null ? undefined : `${host}:${this.ports.secureClientPort}`;
  }
  /** TLS options for `srvr` on `clientPort`: set when that is the secure port. */
  get probeTls(): ConnectionOptions | undefined {
    return this.setup.probeTls;
  }
  get running(): boolean {
    return this.process !== null;
  }
  get pid(): number | undefined {
    return this.process?.pid;
  }

  launch(): void {
    const log = openSync(join(this.folder, 'server.log'), 'a');
    const child = spawn(
      'java',
      [
        '-Xms64m',
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-Dzookeeper.admin.enableServer=false',
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        ...this.setup.jvmFlags,
        '-cp',
        this.installation.classpath,
        this.mainClass,
        join(this.folder, 'zoo.cfg'),
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    if (child.pid === undefined) throw new Error('could not start java: is a JDK on PATH?');
    reapWithParent(child.pid, dirname(this.folder));
    this.process = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => {
      if (this.process === child) this.process = null;
    });
  }

  async waitUntilServing(timeoutMs = this.startTimeoutMs): Promise<void> {
    const until = deadline(timeoutMs);
    while (Date.now() < until) {
      if (!this.process) throw new Error(`ZooKeeper server ${this.id} exited during start; see ${this.folder}/server.log`);
      if (await isServing(host, this.clientPort, this.probeTls)) return;
      await sleep(100);
    }
    throw new Error(`ZooKeeper server ${this.id} did not serve within ${timeoutMs} ms; see ${this.folder}/server.log`);
  }

  private async signalAndWait(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    if (!child) return;
    child.kill('SIGCONT');
    child.kill(signal);
    if (signal === 'SIGKILL') return this.exited;
    // A JVM's shutdown hooks can take long on a busy machine: a stop must not hang a test.
    let timer: NodeJS.Timeout | undefined;
    const escalate = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, stopGraceMs);
    });
    await Promise.race([this.exited, escalate]);
    clearTimeout(timer);
    await this.exited;
  }

  stop(): Promise<void> {
    return this.signalAndWait('SIGTERM');
  }
  kill(): Promise<void> {
    return this.signalAndWait('SIGKILL');
  }
  pause(): Promise<void> {
    this.process?.kill('SIGSTOP');
    return Promise.resolve();
  }
  resume(): Promise<void> {
    this.process?.kill('SIGCONT');
    return Promise.resolve();
  }
  async restart(): Promise<void> {
    await this.stop();
    this.launch();
    await this.waitUntilServing();
  }
}

const startedServers = new Set<LocalServer>();
process.once('exit', () => {
  for (const server of startedServers) {
    if (server.pid !== undefined) {
      try {
        process.kill(server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

/** Starts ZooKeeper as child Java processes: `ZooKeeperServerMain` or a `QuorumPeerMain` ensemble. */
export async function startLocalZooKeeper(installation: ZooKeeperInstallation, options: StartZooKeeperOptions): Promise<ZooKeeperHandle> {
  const count = options.servers ?? 1;
  const tickTimeMs = options.tickTimeMs ?? 200;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const { tls, sasl } = options;
  if (sasl) validateSasl(sasl);
  const plaintextPort = !tls || (tls.plaintextPort ?? true);
  const root = mkdtempSync(join(tmpdir(), 'zk-leader-zookeeper-'));
  const ports: ServerPorts[] = [];
  for (let id = 1; id <= count; id++) {
    ports.push({
      id,
      clientPort: plaintextPort ? await freePort() : null,
      secureClientPort: tls ? await freePort() : null,
      quorumPort: await freePort(),
      electionPort: await freePort(),
    });
  }
  let material: TlsMaterial | null = null;
  try {
    if (tls) material = await makeTlsMaterial(join(root, 'tls'));
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const saslLines = sasl ? saslZooCfg(sasl) : [];
  const jvmFlags: string[] = [];
  if (sasl) {
    const jaasFile = join(root, 'jaas.conf');
    writeJaasFile(jaasFile, sasl);
    jvmFlags.push(`-Djava.security.auth.login.config=${jaasFile}`);
  }
  const probeTls: ConnectionOptions | undefined =
    material && !plaintextPort ? { ca: material.client.ca, cert: material.client.cert, key: material.client.key, servername: 'localhost' } : undefined;
  const mainClass = count === 1 ? 'org.apache.zookeeper.server.ZooKeeperServerMain' : 'org.apache.zookeeper.server.quorum.QuorumPeerMain';
  const servers = ports.map((serverPorts) => {
    const folder = join(root, `server-${serverPorts.id}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'myid'), `${serverPorts.id}\n`);
    const tlsLines = material && tls ? tlsZooCfg(host, serverPorts.secureClientPort!, material, tls) : [];
    writeFileSync(
      join(folder, 'zoo.cfg'),
      zooCfg(folder, serverPorts, ports, tickTimeMs, options.forceSync ?? true, options.maxSessionTimeoutMs ?? 120_000, [...tlsLines, ...saslLines]),
    );
    return new LocalServer(installation, serverPorts, folder, mainClass, startTimeoutMs, { jvmFlags, probeTls });
  });

  async function close(): Promise<void> {
    await Promise.all(servers.map((server) => server.kill()));
    servers.forEach((server) => startedServers.delete(server));
    rmSync(root, { recursive: true, force: true });
  }

  try {
    for (const server of servers) {
      server.launch();
      startedServers.add(server);
    }
    await Promise.all(servers.map((server) => server.waitUntilServing()));
  } catch (error) {
    await close();
    throw error;
  }
  const first = servers[0]!;
  const version = (await serverVersion(host, first.clientPort, first.probeTls)) ?? 'unknown';
  const connectString = servers.map((server) => server.connectString).join(',');
  const secureConnectString = servers.map((server) => server.secureConnectString).join(',');
  const features = [
    ...(options.forceSync === false ? ['forceSync=no'] : []),
    ...(tls ? [`TLS at ${secureConnectString}, clientAuth=${tls.clientAuth ?? 'need'}${plaintextPort ? '' : ', no plaintext port'}`] : []),
    ...(sasl ? [`SASL DIGEST-MD5${sasl.required ? ' required' : ''}`] : []),
  ];
  return {
    kind: 'local-process',
    version,
    connectString,
    minSessionTimeoutMs: 2 * tickTimeMs,
    servers,
    ...(tls && material
      ? {
          tls: {
            connectString: secureConnectString,
            clientAuth: tls.clientAuth ?? 'need',
            plaintextPort,
            serverNames,
            client: material.client,
            untrusted: material.untrusted,
            serverKeyStoreFile: material.serverKeyStoreFile,
          },
        }
      : {}),
    ...(sasl ? { sasl: { mechanism: 'DIGEST-MD5', users: { ...sasl.users }, required: sasl.required ?? false } } : {}),
    describe: () =>
      `ZooKeeper ${version}, ${count === 1 ? 'standalone' : `${count}-server ensemble`}${features.length > 0 ? ` (${features.join('; ')})` : ''}, local Java process (${installation.source}) at ${connectString}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}
