import { InvalidArgumentError, ZkLeaderError } from '../errors.js';
import { validateMs } from '../options.js';
import { probeDocker, startDockerZooKeeper } from './docker.js';
import { fourLetterWord, serverVersion } from './four-letter.js';
import { installDebianZooKeeper } from './install.js';
import { findZooKeeperInstallation } from './jars.js';
import { startLocalZooKeeper } from './local-process.js';
import type { StartZooKeeperOptions, ZooKeeperHandle, ZooKeeperProvider } from './types.js';

export type { StartZooKeeperOptions, ZooKeeperHandle, ZooKeeperKind, ZooKeeperProvider, ZooKeeperServer } from './types.js';
export { fourLetterWord } from './four-letter.js';

/** No ZooKeeper could be found or started. */
export class ZooKeeperNotFoundError extends ZkLeaderError {
  constructor(message?: string) {
    super(
      'ZOOKEEPER_NOT_FOUND',
      message ??
        [
          'no ZooKeeper server available. Get one in any of three ways:',
          '  1. point ZK_CONNECT at a running server or ensemble (ZK_CONNECT=127.0.0.1:2181);',
          '  2. run a Docker engine (the official zookeeper image is started with testcontainers; `npm run zookeeper:image` readies it);',
          "  3. install ZooKeeper's jars and Java: `apt-get install zookeeper` (Debian/Ubuntu), `brew install zookeeper`, or set ZOOKEEPER_HOME to an unpacked Apache ZooKeeper release.",
        ].join('\n'),
    );
  }
}

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
 * @throws {ZooKeeperNotFoundError} `ZOOKEEPER_NOT_FOUND` when no provider can serve (or the forced one cannot); the message says what to install or set.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` when `ZK_PROVIDER` names no provider, or for a
 * millisecond option that is not above 0 and at most 2^31 - 1.
 */
export async function startZooKeeper(options: StartZooKeeperOptions = {}): Promise<ZooKeeperHandle> {
  for (const option of ['tickTimeMs', 'startTimeoutMs', 'maxSessionTimeoutMs'] as const) validateMs(options[option], option, 1, 'positive');
  const env = options.env ?? process.env;
  const forced = forcedProvider(env);
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
