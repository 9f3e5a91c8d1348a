/** The codes ZooKeeper answers with that zk-leader tells apart. */
export type ZooKeeperErrorCode =
  | 'NO_NODE'
  | 'NODE_EXISTS'
  | 'NOT_EMPTY'
  | 'BAD_VERSION'
  | 'NO_AUTH'
  | 'AUTH_FAILED'
  | 'INVALID_ACL'
  | 'NO_CHILDREN_FOR_EPHEMERALS'
  | 'CONNECTION_LOSS'
  | 'SESSION_EXPIRED'
  | 'OPERATION_TIMEOUT'
  | 'ZOOKEEPER_ERROR';

/**
 * Every code a zk-leader error carries; stable across versions, match on it. The README lists
 * each with what to do about it.
 */
export type ZkLeaderErrorCode =
  | ZooKeeperErrorCode
  | 'INVALID_ARGUMENT'
  | 'INVALID_STATE'
  | 'CONNECT_TIMEOUT'
  | 'TLS_FAILED'
  | 'CHROOT_NOT_FOUND'
  | 'REQUEST_TOO_LARGE'
  | 'SESSION_CLOSED'
  | 'BACKEND_NOT_INSTALLED'
  | 'ZOOKEEPER_NOT_FOUND'
  | 'LEADERSHIP_LOST'
  | 'LEADER_WORK_FAILED'
  | 'LISTENER_FAILED'
  | 'FOREIGN_CANDIDATE'
  | 'RECIPE_MISMATCH'
  | 'MEMBER_ID_TAKEN'
  | 'WAIT_TIMEOUT'
  | 'NO_LEADER'
  | 'NOT_LEADER'
  | 'UNSUPPORTED'
  | 'USAGE'
  | 'UNEXPECTED';

/** Every error zk-leader throws or emits; `code` is stable across versions, match on it. */
export class ZkLeaderError extends Error {
  /** What went wrong, as a stable code (`INVALID_ARGUMENT`, `CONNECT_TIMEOUT`, `NO_AUTH`, ...). */
  readonly code: ZkLeaderErrorCode;
  constructor(code: ZkLeaderErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option or argument is wrong; the message names it, what was given and what is expected. */
export class InvalidArgumentError extends ZkLeaderError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

/** A method was called in a state where it cannot run (for example `start()` after `stop()`). */
export class InvalidStateError extends ZkLeaderError {
  constructor(message: string) {
    super('INVALID_STATE', message);
  }
}

/**
 * What stood in the way of a connection to one server: its name does not resolve, it refused
 * (nothing listens on that port), it is unreachable (no route), or it timed out (no answer,
 * or no session handshake, in time).
 */
export type ConnectFailure = 'name does not resolve' | 'refused' | 'unreachable' | 'timed out';

/** One server of the connect string and why it gave no session. */
export interface ServerFailure {
  /** `host:port`. */
  server: string;
  /** Why. */
  failure: ConnectFailure;
}

const connectAdvice: Record<ConnectFailure, string> = {
  'name does not resolve': 'check the host names in connect',
  refused: 'check that ZooKeeper runs there and that the port in connect is its client port',
  unreachable: 'check the network route to the servers',
  'timed out': 'check that the servers are up and that nothing drops the traffic (a firewall), or raise connectTimeoutMs',
};

/** No ZooKeeper server answered within the connect timeout; the message says, server by server, why. */
export class ConnectTimeoutError extends ZkLeaderError {
  constructor(
    /** The servers that did not answer. */
    readonly connectString: string,
    /** How long it waited. */
    readonly timeoutMs: number,
    /** Why each server gave no session, as far as could be told (empty when it could not be). */
    readonly failures: readonly ServerFailure[] = [],
  ) {
    const why = failures.length > 0 ? ` (${failures.map(({ server, failure }) => `${server}: ${failure}`).join('; ')})` : '';
    const advice =
      failures.length > 0
        ? [...new Set(failures.map(({ failure }) => connectAdvice[failure]))].join('; ')
        : 'check that the servers run and the address is right, or raise connectTimeoutMs';
    super('CONNECT_TIMEOUT', `could not connect to ZooKeeper at ${connectString} within ${timeoutMs} ms${why}: ${advice}`);
  }
}

/** The session was closed by `close()` or `stop()`; create a new one to go on. */
export class SessionClosedError extends ZkLeaderError {
  constructor(what: string) {
    super('SESSION_CLOSED', `${what}: the ZooKeeper session is closed`);
  }
}

/** The chosen client backend is not installed. */
export class BackendNotInstalledError extends ZkLeaderError {
  constructor(backend: string, packageName: string, cause: unknown) {
    super(
      'BACKEND_NOT_INSTALLED',
      `the '${backend}' backend needs the '${packageName}' package: run 'npm install ${packageName}', or leave backend unset (the default, 'builtin', needs no package)`,
      { cause },
    );
  }
}

/** Why a leadership term ended. */
export type LossReason =
  | 'suspended'
  | 'expired'
  | 'resigned'
  | 'stopped'
  | 'node-deleted'
  /**
   * The leader can no longer check that it leads: a read of its node or a listing of the
   * queue was refused (an operator changed an ACL), so a deletion would go unheard; or, with
   * onSuspend 'hold', a change it was told of (or a reconnect) went unconfirmed for almost a
   * session timeout after its last answer from the server.
   */
  | 'unverifiable'
  | 'session-closed'
  /** Our node still exists, but another candidate sorts ahead of it. */
  | 'superseded';

/** The reason a leadership signal aborts with. */
export class LeadershipLostError extends ZkLeaderError {
  constructor(
    /** Why the term ended. */
    readonly reason: LossReason,
  ) {
    super('LEADERSHIP_LOST', `leadership ended: ${reason}`);
  }
}

const advice: Partial<Record<ZooKeeperErrorCode, string>> = {
  NO_AUTH: 'the node is protected by an ACL: pass the matching `auth` credential',
  AUTH_FAILED: 'the server refused the credential: check the `auth` and `sasl` options',
  INVALID_ACL: 'the `acl` option is not valid for this server',
  NO_CHILDREN_FOR_EPHEMERALS: 'the path is (under) an ephemeral node: choose a path whose parents are persistent',
  CONNECTION_LOSS: 'the connection dropped before the reply came: it is retried once the session reconnects',
  SESSION_EXPIRED: 'the session expired: a new session is needed',
};

/** ZooKeeper answered an operation with an error. */
export class ZooKeeperError extends ZkLeaderError {
  /** ZooKeeper's error, by name: `NO_NODE`, `NODE_EXISTS`, `NO_AUTH`, `CONNECTION_LOSS`, ... */
  declare readonly code: ZooKeeperErrorCode;
  constructor(
    code: ZooKeeperErrorCode,
    /** The operation that failed: `create`, `getData`, ... */
    readonly operation: string,
    /** The node it was about, if any. */
    readonly path: string | undefined,
    detail?: string,
    /** For a `multi`: the index of the operation that failed (nothing was applied). */
    readonly failedOp?: number,
  ) {
    const where = path === undefined ? operation : `${operation} ${path}`;
    const tail = [detail, advice[code]].filter(Boolean).join('; ');
    super(code, `${where} failed with ${code}${tail ? `: ${tail}` : ''}`);
  }
}

export function isZooKeeperError(error: unknown, ...codes: ZooKeeperErrorCode[]): error is ZooKeeperError {
  return error instanceof ZooKeeperError && (codes.length === 0 || codes.includes(error.code));
}

/** A request that failed because of the connection or session, not because of what it asked. */
export function isConnectionError(error: unknown): boolean {
  return isZooKeeperError(error, 'CONNECTION_LOSS', 'SESSION_EXPIRED', 'OPERATION_TIMEOUT');
}

/** Any thrown value as a ZkLeaderError: ours as they are, anything else as UNEXPECTED with its cause. */
export function toZkLeaderError(error: unknown, context?: string): ZkLeaderError {
  if (error instanceof ZkLeaderError) return error;
  const message = String((error as Error | null)?.message ?? error);
  return new ZkLeaderError('UNEXPECTED', context ? `${context}: ${message}` : message, { cause: error });
}

/**
 * What `signal` aborted with, passed on unchanged: Node's AbortError unless the caller gave
 * `abort()` a reason of its own. (AbortSignal.reason is typed `any`.)
 */
export function abortReasonOf(signal: AbortSignal): Error {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- the caller's own reason, as it gave it
  return signal.reason;
}
