export { LeaderElection, LeadershipLostError } from './election.js';
export type {
  ElectedEvent,
  ElectionChange,
  FollowerEvent,
  LeaderElectionEvents,
  LeaderElectionInit,
  LostEvent,
  LeaderElectionOptions,
  LossReason,
} from './election.js';
export type { LeaderInfo, Participant } from './candidate.js';
export { Session, SessionScope } from './session.js';
export type { ExpiryReason, SessionEvents, SessionHandlers, SessionOptions, SessionSource, SessionState, SuspendReason } from './session.js';
export {
  BackendNotInstalledError,
  ConnectTimeoutError,
  InvalidArgumentError,
  InvalidStateError,
  SessionClosedError,
  ZkLeaderError,
  ZooKeeperError,
} from './errors.js';
export type { ConnectFailure, ServerFailure, ZkLeaderErrorCode, ZooKeeperErrorCode } from './errors.js';
export { Permission, openAcl } from './client/types.js';
export type {
  AclEntry,
  BackendName,
  CreateMode,
  DigestAuth,
  NodeData,
  NodeStat,
  SaslOption,
  SessionCredentials,
  TlsOption,
  WatchEvent,
  WatchEventType,
  Watcher,
} from './client/types.js';
export { digestAcl } from './acl.js';
export type { Logger } from './logger.js';
export { LeaderObserver } from './observer.js';
export type { LeaderObserverEvents, LeaderObserverOptions, ObservedElection, ObservedLeader } from './observer.js';
export type { ElectionKind } from './election-reader.js';
export { Membership } from './membership.js';
export type { JoinOptions, Member, MemberHealth, MembershipEvents, MembershipOptions } from './membership.js';
export type { ElectionHealth, Health, MembershipHealth, ObserverHealth, SessionHealth } from './health.js';
export type { RetryOptions } from './backoff.js';
export type { RecipeName } from './recipes.js';
export type { TransactionCheck, TransactionCreate, TransactionDelete, TransactionOp, TransactionResult, TransactionSetData } from './transaction.js';
