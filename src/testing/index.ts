import { InvalidArgumentError } from '../errors.js';
import { validateMs } from '../options.js';
import { probeDocker, startDockerZooKeeper } from './docker.js';
import { ZooKeeperNotFoundError } from './errors.js';
import { fourLetterWord, serverVersion } from './four-letter.js';
import { installDebianZooKeeper } from './install.js';
import { findZooKeeperInstallation } from './jars.js';
import { startLocalZooKeeper } from './local-process.js';
import type { StartZooKeeperOptions, ZooKeeperHandle, ZooKeeperProvider } from './types.js';

export type {
  StartZooKeeperOptions,
  TlsCredentials,
  ZooKeeperHandle,
  ZooKeeperKind,
  ZooKeeperProvider,
  ZooKeeperSasl,
  ZooKeeperSaslOptions,
  ZooKeeperServer,
  ZooKeeperTls,
  ZooKeeperTlsOptions,
} from './types.js';
export { fourLetterWord } from './four-letter.js';
export { ZooKeeperNotFoundError } from './errors.js';

async function useExternalZooKeeper(connectString: string): Promise<ZooKeeperHandle> {
  const [host = '127.0.0.1', port = '2181'] = (connectString.split(',')[0] ?? '').split('/')[0]!.split(':');
  const version = (await serverVersion(host, Number(port))) ?? 'unknown';
  const conf = await fourLetterWord(host, Number(port), 'conf');
  const minSessionTimeoutMs = Number(conf?.match(/minSessionTimeout=(\d+)/)?.[1] ?? 4000);
  return {
    kind: 'external',
    version,
    connectString,
    minSessionTimeoutMs,
    servers: [],
    describe: () => `ZooKeeper ${version} from ZK_CONNECT at ${connectString} (not controlled by this process)`,
    close: async () => {},
    [Symbol.asyncDispose]: async () => {},
  };
}

const providers: readonly ZooKeeperProvider[] = ['docker', 'local', 'external'];

function forcedProvider(env: NodeJS.ProcessEnv): ZooKeeperProvider | undefined {
  const value = env.ZK_PROVIDER;
  if (!value) return undefined;
  if (!(providers as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(
      `ZK_PROVIDER=${value} is not a provider: use docker, local or external (ZK_CONNECT), or unset it to let startZooKeeper() choose`,
    );
  }
  return value as ZooKeeperProvider;
}

const said = new Set<string>();
/** Each reason to pass Docker over is worth one line per process, not one per server started. */
function sayOnce(line: string): void {
  if (said.has(line)) return;
  said.add(line);
  console.warn(line);
}

/**
 * A real ZooKeeper for tests, demos and benchmarks. `ZK_PROVIDER` (`docker`, `local` or
 * `external`) forces where it comes from; otherwise the first that works, in this order:
 * `ZK_CONNECT` (an existing server or ensemble, no lifecycle control), a Docker engine
 * (testcontainers; `ZK_IMAGE` or the official `zookeeper:3.8`, else the Debian-based image
 * `npm run zookeeper:image` builds), ZooKeeper's jars on this machine (child Java processes;
 * installed from Debian's packages when missing, as root on Debian/Ubuntu). A Docker engine that
 * is there but cannot serve is reported in one line before the fallback. Close the handle (or
 * `await using` it) to stop and remove what was started.
 *
 * With `tls` or `sasl` the servers are always local processes (the other providers cannot
 * configure them yet): a forced `docker` or `external` provider, or `ZK_CONNECT`, is refused.
 *
 * @example A TLS server that needs a client certificate, and a check that it speaks TLS
 * ```ts
 * await using zookeeper = await startZooKeeper({ tls: { clientAuth: 'need' } });
 * const { ca, cert, key } = zookeeper.tls!.client;
 * const [host, port] = zookeeper.tls!.connectString.split(',')[0]!.split(':');
 * const socket = tls.connect({ host, port: Number(port), ca, cert, key, servername: 'localhost' });
 * ```
 *
 * @throws {ZooKeeperNotFoundError} `ZOOKEEPER_NOT_FOUND` when no provider can serve (or the forced one cannot); the message says what to install or set.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` when `ZK_PROVIDER` names no provider, for a
 * millisecond option that is not above 0 and at most 2^31 - 1, for `tls` or `sasl` with the
 * Docker provider or `ZK_CONNECT`, or for a SASL user name or password the JAAS file cannot hold.
 */
export async function startZooKeeper(options: StartZooKeeperOptions = {}): Promise<ZooKeeperHandle> {
  for (const option of ['tickTimeMs', 'startTimeoutMs', 'maxSessionTimeoutMs'] as const) validateMs(options[option], option, 1, 'positive');
  const env = options.env ?? process.env;
  const forced = forcedProvider(env);
  if (options.tls || options.sasl) {
    // Only the local-process provider writes TLS and SASL into the server's configuration.
    const asked = [options.tls && 'tls', options.sasl && 'sasl'].filter(Boolean).join(' and ');
    if (forced === 'docker' || forced === 'external' || (!forced && env.ZK_CONNECT)) {
      const where =
        forced === 'docker' ? 'ZK_PROVIDER=docker' : `ZK_CONNECT's servers (${forced === 'external' ? 'ZK_PROVIDER=external' : 'ZK_CONNECT is set'})`;
      throw new InvalidArgumentError(
        `${asked} need ZooKeeper as local processes for now, not ${where}: set ZK_PROVIDER=local, or unset ZK_CONNECT and ZK_PROVIDER`,
      );
    }
    const installation = findZooKeeperInstallation(env) ?? (await installDebianZooKeeper(env));
    if (installation) return startLocalZooKeeper(installation, options);
    throw new ZooKeeperNotFoundError();
  }
  if (forced === 'external' || (!forced && env.ZK_CONNECT)) {
    if (!env.ZK_CONNECT) throw new ZooKeeperNotFoundError('ZK_PROVIDER=external needs ZK_CONNECT: set it to the servers to use (ZK_CONNECT=127.0.0.1:2181)');
    return useExternalZooKeeper(env.ZK_CONNECT);
  }
  if (forced !== 'local') {
    const docker = await probeDocker(env);
    if (docker.usable) return startDockerZooKeeper(options, docker.image);
    if (forced === 'docker') throw new ZooKeeperNotFoundError(`ZK_PROVIDER=docker, but ${docker.reason}: ${docker.remedy}, or unset ZK_PROVIDER`);
    if (docker.present) sayOnce(`[zk-leader testing] not using Docker: ${docker.reason}; using ZooKeeper as local processes instead (${docker.remedy})`);
  }
  const installation = findZooKeeperInstallation(env) ?? (await installDebianZooKeeper(env));
  if (installation) return startLocalZooKeeper(installation, options);
  throw new ZooKeeperNotFoundError();
}
export { expireSession } from './expire.js';
