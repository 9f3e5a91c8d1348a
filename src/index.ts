export { LeaderElection, LeadershipLostError } from './election.js';
export type {
  ElectedEvent,
  LeaderElectionEvents,
  LeaderElectionOptions,
  LeaderInfo,
  LossReason,
  Participant,
} from './election.js';
export { Session } from './session.js';
export type { ExpiryReason, SessionEvents, SessionOptions, SessionState, SuspendReason } from './session.js';
export {
  BackendNotInstalledError,
  ConnectTimeoutError,
  InvalidArgumentError,
  InvalidStateError,
  SessionClosedError,
  ZkLeaderError,
  ZooKeeperError,
} from './errors.js';
export type { ZooKeeperErrorCode } from './errors.js';
export { Permission, openAcl } from './client/types.js';
export type { AclEntry, BackendName, DigestAuth } from './client/types.js';
export { digestAcl } from './acl.js';
export type { Logger } from './logger.js';
