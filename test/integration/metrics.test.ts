import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerMetrics } from '../../src/metrics/index.js';
import { LeaderObserver } from '../../src/observer.js';
import { expireSession } from '../../src/testing/index.js';
import { electionFixture } from '../support/election.js';
import { nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { backends, uniquePath, zkConnect } from '../support/zookeeper.js';

/** The value of one sample of a scraped metric, or 0 when it has none. */
async function sample(registry: Registry, name: string, labels: Record<string, string> = {}, suffix = ''): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  const values = (metric?.values ?? []) as { metricName?: string; labels: Record<string, string | number>; value: number }[];
  const found = values.find(
    (value) =>
      (suffix === '' || value.metricName === `${name}${suffix}`) && Object.entries(labels).every(([key, expected]) => String(value.labels[key]) === expected),
  );
  return found?.value ?? 0;
}

describe.each(backends)('zk-leader/metrics on %s', (backend) => {
  const { defer, proxy, session } = testResources(backend);
  const participant = electionFixture(backend);

  function metrics() {
    const registry = new Registry();
    const registered = registerMetrics({ registry });
    defer(() => registered.close());
    return { registry, registered };
  }

  it('counts terms, their ends and durations, leaderless time and requests, per election path', async () => {
    const { registry } = metrics();
    const path = uniquePath('metrics');
    const observing = session();
    const observer = new LeaderObserver({ session: observing, path });
    defer(() => observer.close());

    const alice = participant(path, { id: 'alice' });
    const bob = participant(path, { id: 'bob' });
    const aliceElected = nextEvent(alice, 'elected');
    await alice.start();
    await aliceElected;
    await bob.start();
    await observer.start();
    const bobElected = nextEvent(bob, 'elected');
    await alice.stop();
    await bobElected;
    expect(await sample(registry, 'zk_leader_is_leader', { path })).toBe(1);
    expect(await sample(registry, 'zk_leader_elected_total', { path })).toBe(2);
    expect(await sample(registry, 'zk_leader_terms_ended_total', { path, reason: 'stopped' })).toBe(1);
    expect(await sample(registry, 'zk_leader_time_to_leadership_seconds', { path }, '_count')).toBe(2);
    expect(await sample(registry, 'zk_leader_term_duration_seconds', { path }, '_count')).toBe(1);

    // The observer sees nobody lead between bob's stop and carol's start.
    const nobody = new Promise((resolve) => observer.on('leader', (leader) => leader === null && resolve(null)));
    await bob.stop();
    await nobody;
    const carol = participant(path, { id: 'carol' });
    // The observer sees carol's node at the head before carol has confirmed it and announced.
    const carolElected = nextEvent(carol, 'elected');
    await carol.start();
    await carolElected;
    await until(() => observer.leader?.id === 'carol', 'the observer sees carol');
    expect(await sample(registry, 'zk_leader_leaderless_seconds', { path }, '_count')).toBe(1);
    expect(await sample(registry, 'zk_leader_leaderless_seconds', { path }, '_sum')).toBeGreaterThan(0);
    expect(await sample(registry, 'zk_leader_is_leader', { path })).toBe(1);

    expect(await sample(registry, 'zk_leader_requests_total', { operation: 'create', outcome: 'ok' })).toBeGreaterThanOrEqual(3);
    expect(await sample(registry, 'zk_leader_request_duration_seconds', { operation: 'getChildren' }, '_count')).toBeGreaterThan(0);
    expect(await sample(registry, 'zk_leader_sessions', { state: 'connected' })).toBeGreaterThanOrEqual(2);
    const text = await registry.metrics();
    expect(text).toContain(`zk_leader_is_leader{path="${path}"} 1`);
  });

  it('counts suspensions and expiries by reason, and close() takes the metrics away again', async () => {
    const { registry, registered } = metrics();
    const cut = await proxy();
    const behind = session({ connect: cut.connectString, sessionTimeoutMs: 8000 });
    await behind.ready();
    const reconnected = nextEvent(behind, 'reconnected');
    cut.resetConnections();
    await reconnected;
    expect(await sample(registry, 'zk_leader_session_suspensions_total', { reason: 'disconnected' })).toBe(1);

    const expired = nextEvent(behind, 'expired');
    await expireSession(zkConnect(), behind.credentials()!);
    await expired;
    expect(await sample(registry, 'zk_leader_session_expiries_total', { reason: 'server' })).toBe(1);

    registered.close();
    expect(await registry.metrics()).not.toContain('zk_leader_');
  });

  it('refuses to start without a registry, in one line', () => {
    expect(() => registerMetrics({} as never)).toThrow('registerMetrics needs { registry }: a prom-client Registry, e.g. new Registry()');
  });
});
