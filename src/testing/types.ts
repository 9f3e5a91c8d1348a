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
  /**
   * The port TLS clients connect to, when started with `tls`; undefined otherwise. Equal to
   * `clientPort` when `tls.plaintextPort` is false (then it is the only port).
   */
  readonly secureClientPort?: number;
  /** `host:secureClientPort` of this server alone, when started with `tls`. */
  readonly secureConnectString?: string;
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
  /** What a TLS client needs (secure connect string, CA, client certificate), when started with `tls`. */
  readonly tls?: ZooKeeperTls;
  /** The SASL users and whether SASL is required, when started with `sasl`. */
  readonly sasl?: ZooKeeperSasl;
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
   * Serve TLS on a `secureClientPort` of every server (ZooKeeper's Netty connection factory,
   * PEM key and trust stores). A CA, a server certificate for 127.0.0.1 and localhost and a
   * client certificate are made with `openssl` at start time in the servers' temp folder; the
   * handle's `tls` has them. Local-process provider only for now. Default: no TLS.
   */
  tls?: ZooKeeperTlsOptions;
  /**
   * Accept SASL DIGEST-MD5 logins (a JAAS `Server` section with `DigestLoginModule`, and the
   * `SASLAuthenticationProvider` so that `sasl:<user>` works in ACLs). Local-process provider
   * only for now. Default: no SASL.
   */
  sasl?: ZooKeeperSaslOptions;
  /**
   * Environment to read `ZK_PROVIDER`, `ZK_CONNECT`, `ZK_IMAGE`, `DOCKER_HOST` and
   * `ZOOKEEPER_HOME` from. Default `process.env`.
   */
  env?: NodeJS.ProcessEnv;
}

/** How the servers serve TLS; see {@link StartZooKeeperOptions.tls}. */
export interface ZooKeeperTlsOptions {
  /**
   * Whether the server asks for a client certificate (ZooKeeper's `ssl.clientAuth`): `need`
   * refuses a client without one signed by the CA, `want` asks and also accepts a client
   * without one, `none` does not ask. With `need` or `want` a client certificate's subject
   * becomes the connection's `x509` identity, usable in ACLs. Default `need` (ZooKeeper's own
   * default).
   */
  clientAuth?: 'need' | 'want' | 'none';
  /**
   * Whether the plain `clientPort` stays open beside the secure one. Default true. When false,
   * TLS is the only way in: the servers' `clientPort` and the handle's `connectString` are the
   * secure ones, and the harness asks `srvr` over TLS with the client certificate.
   */
  plaintextPort?: boolean;
}

/** SASL DIGEST-MD5 logins; see {@link StartZooKeeperOptions.sasl}. */
export interface ZooKeeperSaslOptions {
  /**
   * User names and their passwords, e.g. `{ alice: 'alice-secret' }`. A name is letters,
   * digits, `.`, `_` or `-`; a password has no `"`, backslash or line break (the JAAS file quotes it).
   */
  users: Readonly<Record<string, string>>;
  /**
   * Whether a connection must log in with SASL before anything else: ZooKeeper's
   * `enforce.auth.enabled=true` with `enforce.auth.schemes=sasl` (3.7+). A request from a
   * connection without a SASL identity then fails with `AUTH_FAILED` (err -124) and the server
   * closes the connection. Four-letter words still answer. Default false.
   */
  required?: boolean;
}

/** The SASL set-up of a handle started with `sasl`. */
export interface ZooKeeperSasl {
  /** The mechanism the servers accept: always `DIGEST-MD5`. */
  readonly mechanism: 'DIGEST-MD5';
  /** The users and passwords the servers accept, as given. */
  readonly users: Readonly<Record<string, string>>;
  /** Whether every connection must log in with SASL first. */
  readonly required: boolean;
}

/**
 * A CA and a client certificate and key it signed, as PEM text (shaped for `node:tls`:
 * `tls.connect({ ca, cert, key, ... })`) and as files (for clients that take paths: kazoo,
 * the Java client).
 */
export interface TlsCredentials {
  /** The CA certificate, PEM. */
  readonly ca: string;
  /** The client certificate, PEM. */
  readonly cert: string;
  /** The client certificate's private key, PEM (PKCS#8, unencrypted). */
  readonly key: string;
  /** The same three as files on disk (removed by `close()`). */
  readonly files: {
    /** Path of the CA certificate. */
    readonly ca: string;
    /** Path of the client certificate. */
    readonly cert: string;
    /** Path of the client certificate's private key. */
    readonly key: string;
  };
  /**
   * The client certificate's subject as ZooKeeper's x509 provider names the connection
   * (RFC 2253), e.g. `CN=zk-leader-client,O=zk-leader`: the id of an `x509` ACL entry.
   */
  readonly subject: string;
}

/** What a TLS client of a handle started with `tls` needs. */
export interface ZooKeeperTls {
  /** The secure connect string of every server, e.g. "127.0.0.1:20181,127.0.0.1:20182". */
  readonly connectString: string;
  /** The servers' `ssl.clientAuth`. */
  readonly clientAuth: 'need' | 'want' | 'none';
  /** Whether the plain `clientPort` is open too. */
  readonly plaintextPort: boolean;
  /**
   * The names the server certificate is valid for (its subject alternative names): verify
   * the host against either, e.g. `servername: 'localhost'` in `node:tls`.
   */
  readonly serverNames: readonly ['127.0.0.1', 'localhost'];
  /** The CA the servers trust and that signed their certificate, with a client certificate it signed. */
  readonly client: TlsCredentials;
  /**
   * A second, unrelated CA, with a client certificate it signed: the servers do not trust
   * it, and it did not sign their certificate. For "wrong CA" tests on both sides.
   */
  readonly untrusted: TlsCredentials;
  /** The file holding the servers' certificate and key (their PEM key store). */
  readonly serverKeyStoreFile: string;
}
