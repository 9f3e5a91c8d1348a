import { ZkLeaderError } from '../errors.js';
import { validateMs } from '../options.js';
import { dockerIsReachable, startDockerZooKeeper } from './docker.js';
import { fourLetterWord, serverVersion } from './four-letter.js';
import { findZooKeeperInstallation } from './jars.js';
import { startLocalZooKeeper } from './local-process.js';
import type { StartZooKeeperOptions, ZooKeeperHandle } from './types.js';

export type { StartZooKeeperOptions, ZooKeeperHandle, ZooKeeperKind, ZooKeeperServer } from './types.js';
export { fourLetterWord } from './four-letter.js';

/** No ZooKeeper could be found or started. */
export class ZooKeeperNotFoundError extends ZkLeaderError {
  constructor() {
    super(
      'ZOOKEEPER_NOT_FOUND',
      [
        'no ZooKeeper server available. Get one in any of three ways:',
        '  1. point ZK_CONNECT at a running server or ensemble (ZK_CONNECT=127.0.0.1:2181);',
        '  2. run a Docker engine (the official zookeeper image is started with testcontainers);',
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

/**
 * A real ZooKeeper for tests, demos and benchmarks, found in this order: `ZK_CONNECT` (an
 * existing server or ensemble, no lifecycle control), a reachable Docker engine
 * (testcontainers), ZooKeeper's jars on this machine (child Java processes). Close the handle
 * (or `await using` it) to stop what was started.
 * @throws INVALID_ARGUMENT for a millisecond option that is not above 0 and at most 2^31 - 1;
 * ZOOKEEPER_NOT_FOUND when none of the three is there.
 */
export async function startZooKeeper(options: StartZooKeeperOptions = {}): Promise<ZooKeeperHandle> {
  for (const option of ['tickTimeMs', 'startTimeoutMs', 'maxSessionTimeoutMs'] as const) validateMs(options[option], option, 1, 'positive');
  const env = options.env ?? process.env;
  if (env.ZK_CONNECT) return useExternalZooKeeper(env.ZK_CONNECT);
  if (await dockerIsReachable(env)) return startDockerZooKeeper(options);
  const installation = findZooKeeperInstallation(env);
  if (installation) return startLocalZooKeeper(installation, options);
  throw new ZooKeeperNotFoundError();
}
export { expireSession } from './expire.js';
