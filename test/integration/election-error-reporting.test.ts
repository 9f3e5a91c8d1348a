import { describe, expect, it } from 'vitest';
import { LeaderElection } from '../../src/election.js';
import type { Logger } from '../../src/logger.js';
import { electionFixture, leading } from '../support/election.js';
import { nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { backends, uniquePath, zkConnect } from '../support/zookeeper.js';

// How an election reports what goes wrong: listeners that throw (LISTENER_FAILED), errors
// nobody listens to (a process warning), and its logger.

describe.each(backends)('error reporting on %s', (backend) => {
  const { admin, defer, proxiedSession } = testResources(backend);
  const participant = electionFixture(backend);

  it('a suspended listener that throws neither keeps the term alive nor starves another election on the session', async () => {
    const { cut, shared } = await proxiedSession();
    participant.expectErrors('LISTENER_FAILED');
    const first = participant(uniquePath('throwing-1'), { session: shared });
    const second = participant(uniquePath('throwing-2'), { session: shared });
    const terms = [nextEvent(first, 'elected'), nextEvent(second, 'elected')] as const;
    await first.start();
    await second.start();
    const [{ signal: firstSignal }] = await Promise.all(terms);
    const errors: string[] = [];
    first.on('error', (error) => errors.push(error.code));
    first.on('suspended', () => {
      throw new Error('a bug in user code');
    });
    const secondHears = nextEvent(second, 'suspended', 5000);

    cut.resetConnections();
    await secondHears;
    expect(firstSignal.aborted, 'the throwing listener did not keep the term alive').toBe(true);
    expect(first.isLeader).toBe(false);
    expect(errors).toContain('LISTENER_FAILED');
    await nextEvent(first, 'elected');
  });

  it('an elected listener that throws is reported and leaves the participant leading', async () => {
    participant.expectErrors('LISTENER_FAILED');
    const alice = participant(uniquePath('throwing-elected'));
    const errors: string[] = [];
    alice.on('error', (error) => errors.push(error.code));
    alice.once('elected', () => {
      throw new Error('a bug in user code');
    });
    const term = nextEvent(alice, 'elected');
    await alice.start();
    await term;
    expect(alice.isLeader).toBe(true);
    expect(errors).toEqual(['LISTENER_FAILED']);
  });

  it('an error nobody listens to becomes a process warning, once per code, and no crash', async () => {
    const path = uniquePath('unheard-error');
    const operator = await admin();
    await operator.ensurePath(path);
    await operator.create(`${path}/lock-0000000000`, Buffer.from('another program'), 'persistent');
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }) => warnings.push(warning.code ?? '');
    process.on('warning', onWarning);
    defer(() => process.off('warning', onWarning));
    const alice = new LeaderElection({ path, connect: zkConnect(), backend });
    defer(() => alice.stop());
    await alice.start();
    await until(() => warnings.includes('ZK_LEADER_FOREIGN_CANDIDATE'), 'the warning');
    expect(alice.isLeader).toBe(false);
  });

  it('logs through the logger it is given', async () => {
    const lines: string[] = [];
    const logger: Logger = {
      debug: (_, message) => lines.push(`debug ${message}`),
      info: (_, message) => lines.push(`info ${message}`),
      warn: (_, message) => lines.push(`warn ${message}`),
      error: (_, message) => lines.push(`error ${message}`),
    };
    const alice = participant(uniquePath('logger'), { logger });
    await leading(alice);
    await alice.stop();
    expect(lines).toContain('info zk-leader: elected');
    expect(lines).toContain('info zk-leader: leadership lost');
  });
});
