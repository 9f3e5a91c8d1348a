/** Where the ZooKeeper came from: `ZK_CONNECT`, a Docker container, or a local Java process. */
export type ZooKeeperKind = 'external' | 'docker' | 'local-process';

/** The values of `ZK_PROVIDER`, which forces where `startZooKeeper()` gets its ZooKeeper. */
export type ZooKeeperProvider = 'docker' | 'local' | 'external';

/** One ZooKeeper server whose life a test controls. */
export interface ZooKeeperServer {
  /** The server's `myid` (1 for a standalone server). */
  readonly id: number;
  /** The address it listens on (127.0.0.1 for servers this process started). */
  readonly host: string;
  /** The port clients connect to. */
  readonly clientPort: number;
  /** `host:port` of this server alone. */
  readonly connectString: string;
  /** Whether the server process is up (paused counts as up). */
  readonly running: boolean;
  /** Graceful stop (SIGTERM), resolves when the process has exited. */
  stop(): Promise<void>;
  /** Crash (SIGKILL), resolves when the process has exited. */
  kill(): Promise<void>;
  /** Freeze the process (SIGSTOP): sockets stay open, nothing answers. */
  pause(): Promise<void>;
  /** Unfreeze a paused process (SIGCONT). */
  resume(): Promise<void>;
  /** Start the server again with the same data; resolves once it serves requests. */
  restart(): Promise<void>;
}

/** A running ZooKeeper (standalone or ensemble) for tests, demos and benchmarks. */
export interface ZooKeeperHandle extends AsyncDisposable {
  /** Where it came from: `external` (`ZK_CONNECT`), `docker` or `local-process`. */
  readonly kind: ZooKeeperKind;
  /** The server version as reported by `srvr`, e.g. "3.8.0". */
  readonly version: string;
  /** The connect string of every server, e.g. "127.0.0.1:2181,127.0.0.1:2182". */
  readonly connectString: string;
  /** Negotiable session timeouts; tests use the minimum to make expiry fast. */
  readonly minSessionTimeoutMs: number;
  /** Per-server control; empty for `external`, where this process owns no server. */
  readonly servers: readonly ZooKeeperServer[];
  /** A one-line description for logs: kind, version, address. */
  describe(): string;
  /** Stops every server this handle started and removes their data. */
  close(): Promise<void>;
}

/** Options of `startZooKeeper()`; all optional. */
export interface StartZooKeeperOptions {
  /** 1 for a standalone server, 3 for an ensemble on 127.0.0.1. Default 1. */
  servers?: 1 | 3;
  /** ZooKeeper's tick; session expiry is checked once a tick. Default 200 ms. */
  tickTimeMs?: number;
  /** How long to wait for the servers to serve. Default 60 s (120 s for containers). */
  startTimeoutMs?: number;
  /**
   * Whether the server fsyncs its transaction log before answering a write (ZooKeeper's
   * `forceSync`). Default true, as in production; false takes the disk out of every write.
   */
  forceSync?: boolean;
  /** The longest session timeout the server grants; a client that asks for more gets this. Default 120 000 ms. */
  maxSessionTimeoutMs?: number;
  /**
   * Environment to read `ZK_PROVIDER`, `ZK_CONNECT`, `ZK_IMAGE`, `DOCKER_HOST` and
   * `ZOOKEEPER_HOME` from. Default `process.env`.
   */
  env?: NodeJS.ProcessEnv;
}
