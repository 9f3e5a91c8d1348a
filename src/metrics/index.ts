import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import { InvalidArgumentError, ZkLeaderError } from '../errors.js';
import { electionChannel, requestChannel, sessionChannel, type ElectionMessage, type RequestMessage, type SessionMessage } from '../instrument.js';

/**
 * Prometheus metrics for every Session, LeaderElection and LeaderObserver in this process,
 * registered with a prom-client registry you pass. The library reports through Node's
 * diagnostics channels, so nothing is measured (and nothing costs) until this is called.
 *
 * @example
 * import { Registry } from 'prom-client';
 * import { registerMetrics } from 'zk-leader/metrics';
 * const registry = new Registry();
 * registerMetrics({ registry });
 * // GET /metrics: res.end(await registry.metrics())
 */
export interface MetricsOptions {
  /** The prom-client registry to register with: your own `new Registry()` or prom-client's `register`. */
  registry: PromClient.Registry;
  /** Prefix of every metric name. Default `zk_leader_`. */
  prefix?: string;
}

/** What `registerMetrics` returns. */
export interface ZkLeaderMetrics {
  /** Stops measuring and removes these metrics from the registry. */
  close(): void;
}

type Prom = typeof PromClient;

function loadPromClient(): Prom {
  try {
    return createRequire(import.meta.url)('prom-client') as Prom;
  } catch {
    throw new ZkLeaderError('BACKEND_NOT_INSTALLED', "zk-leader/metrics needs prom-client: run 'npm install prom-client'");
  }
}

const sessionStates = ['connecting', 'connected', 'suspended', 'closed'] as const;
const secondsBuckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const requestBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Registers zk-leader's metrics with `options.registry` and starts measuring:
 *
 * - `zk_leader_is_leader{path}`: participants of this process leading that election now;
 * - `zk_leader_elected_total{path}`, `zk_leader_terms_ended_total{path,reason}`;
 * - `zk_leader_time_to_leadership_seconds{path}`: from `start()` (or the end of its last
 *   term) until a participant led; `zk_leader_term_duration_seconds{path}`;
 * - `zk_leader_leaderless_seconds{path}`: how long observers and `trackLeader` followers saw
 *   no leader before the next one;
 * - `zk_leader_sessions{state}`, `zk_leader_session_suspensions_total{reason}`,
 *   `zk_leader_session_expiries_total{reason}`;
 * - `zk_leader_requests_total{operation,outcome}`, `zk_leader_request_duration_seconds{operation}`.
 *
 * @throws INVALID_ARGUMENT without a registry; BACKEND_NOT_INSTALLED without prom-client.
 */
export function registerMetrics(options: MetricsOptions): ZkLeaderMetrics {
  if (!options?.registry || typeof options.registry.registerMetric !== 'function') {
    throw new InvalidArgumentError('registerMetrics needs { registry }: a prom-client Registry, e.g. new Registry()');
  }
  const prom = loadPromClient();
  const { registry } = options;
  const prefix = options.prefix ?? 'zk_leader_';
  const registers = [registry];
  const sessions = new Map<object, (typeof sessionStates)[number]>();
  const leaderlessSince = new WeakMap<object, number>();

  const metrics = {
    isLeader: new prom.Gauge({ name: `${prefix}is_leader`, help: 'Participants of this process leading the election now', labelNames: ['path'], registers }),
    elected: new prom.Counter({ name: `${prefix}elected_total`, help: 'Terms won by participants of this process', labelNames: ['path'], registers }),
    termsEnded: new prom.Counter({
      name: `${prefix}terms_ended_total`,
      help: 'Terms of this process that ended, by reason',
      labelNames: ['path', 'reason'],
      registers,
    }),
    timeToLeadership: new prom.Histogram({
      name: `${prefix}time_to_leadership_seconds`,
      help: 'From start() or the end of the last term until leading',
      labelNames: ['path'],
      buckets: secondsBuckets,
      registers,
    }),
    termDuration: new prom.Histogram({
      name: `${prefix}term_duration_seconds`,
      help: 'How long terms of this process lasted',
      labelNames: ['path'],
      buckets: secondsBuckets,
      registers,
    }),
    leaderless: new prom.Histogram({
      name: `${prefix}leaderless_seconds`,
      help: 'How long an observer or a trackLeader follower saw no leader before the next one',
      labelNames: ['path'],
      buckets: secondsBuckets,
      registers,
    }),
    sessions: new prom.Gauge({
      name: `${prefix}sessions`,
      help: 'Sessions of this process by state',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = Object.fromEntries(sessionStates.map((state) => [state, 0]));
        for (const state of sessions.values()) counts[state]! += 1;
        for (const state of sessionStates) this.set({ state }, counts[state]!);
      },
    }),
    suspensions: new prom.Counter({
      name: `${prefix}session_suspensions_total`,
      help: 'Connections dropped or gone silent, by reason',
      labelNames: ['reason'],
      registers,
    }),
    expiries: new prom.Counter({
      name: `${prefix}session_expiries_total`,
      help: 'Sessions lost, by reason (server, local-timeout)',
      labelNames: ['reason'],
      registers,
    }),
    requests: new prom.Counter({
      name: `${prefix}requests_total`,
      help: 'ZooKeeper requests by operation and outcome (ok or the error code)',
      labelNames: ['operation', 'outcome'],
      registers,
    }),
    requestDuration: new prom.Histogram({
      name: `${prefix}request_duration_seconds`,
      help: 'ZooKeeper request latency by operation',
      labelNames: ['operation'],
      buckets: requestBuckets,
      registers,
    }),
  };

  const onRequest = (message: unknown) => {
    const { operation, durationMs, outcome } = message as RequestMessage;
    metrics.requests.inc({ operation, outcome });
    metrics.requestDuration.observe({ operation }, durationMs / 1000);
  };
  const onSession = (message: unknown) => {
    const { session, state, event, reason } = message as SessionMessage;
    if (state === 'closed') sessions.delete(session);
    else sessions.set(session, state);
    if (event === 'suspended') metrics.suspensions.inc({ reason: reason ?? 'unknown' });
    if (event === 'expired') metrics.expiries.inc({ reason: reason ?? 'unknown' });
  };
  const onElection = (message: unknown) => {
    const event = message as ElectionMessage;
    const { path } = event;
    switch (event.event) {
      case 'elected':
        metrics.isLeader.inc({ path });
        metrics.elected.inc({ path });
        metrics.timeToLeadership.observe({ path }, event.waitedMs / 1000);
        return;
      case 'lost':
        metrics.isLeader.dec({ path });
        metrics.termsEnded.inc({ path, reason: event.reason });
        metrics.termDuration.observe({ path }, event.heldMs / 1000);
        return;
      case 'leader': {
        const since = leaderlessSince.get(event.observer);
        if (!event.present) {
          if (since === undefined) leaderlessSince.set(event.observer, performance.now());
        } else if (since !== undefined) {
          leaderlessSince.delete(event.observer);
          metrics.leaderless.observe({ path }, (performance.now() - since) / 1000);
        }
        return;
      }
    }
  };
  subscribe(requestChannel.name, onRequest);
  subscribe(sessionChannel.name, onSession);
  subscribe(electionChannel.name, onElection);

  let closed = false;
  return {
    close() {
      if (closed) return;
      closed = true;
      unsubscribe(requestChannel.name, onRequest);
      unsubscribe(sessionChannel.name, onSession);
      unsubscribe(electionChannel.name, onElection);
      for (const metric of Object.values(metrics)) registry.removeSingleMetric((metric as unknown as { name: string }).name);
    },
  };
}
