import { ZkLeaderError } from '../errors.js';

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
