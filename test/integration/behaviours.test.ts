import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { digestAcl } from '../../src/acl.js';
import { LeaderElection } from '../../src/election.js';
import type { Logger } from '../../src/logger.js';
import { Session } from '../../src/session.js';
import { expireSession } from '../../src/testing/index.js';
import { electionFixture } from '../support/election.js';
import { testResources } from '../support/resources.js';
import { EventLog, nextEvent, sleep, until } from '../support/events.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { adminSession, backends, itWithOwnServers, removeTree, startOwnZooKeeper, uniquePath, zkConnect } from '../support/zookeeper.js';

// Behaviours the README promises that no other test exercised; each on both backends.

describe.each(backends)('documented behaviours on %s', (backend) => {
  const { defer, proxy, admin, session, silencedSession } = testResources(backend);
  const participant = electionFixture(backend);
  async function leading(election: LeaderElection) {
    const term = nextEvent(election, 'elected');
    await election.start();
    return term;
  }
  async function following(election: LeaderElection) {
    const follows = nextEvent(election, 'follower');
    await election.start();
    return follows;
  }

  it("onSuspend 'hold': a server-side expiry ends the term with reason expired, and nothing before it does", async () => {
    const log = new EventLog();
    const alice = participant(uniquePath('hold-expiry'), { onSuspend: 'hold', sessionTimeoutMs: 4000 });
    const { signal } = await leading(alice);
    log.record('alice', alice, ['lost', 'expired']);
    const lost = nextEvent(alice, 'lost');
    await expireSession(zkConnect(), alice.session.credentials()!);
    expect(await lost).toEqual({ reason: 'expired' });
    expect(signal.aborted).toBe(true);
    // The server may drop the connection first (a suspension, which 'hold' rides out: the
    // reconnect is tested on its own in failures.test.ts) or answer a heartbeat
    // SESSION_EXPIRED on a connection it has not closed yet (no suspension at all, seen under
    // load on the native backend): either way the term ends at the expiry and not before.
    expect(log.names()).toEqual(['alice:lost', 'alice:expired']);
  });

  it("onSuspend 'hold' under a silent partition leads on while suspended, then ends at the local expiry", async () => {
    const cut = await proxy();
    const alice = participant(uniquePath('hold-partition'), { onSuspend: 'hold', connect: cut.connectString, sessionTimeoutMs: 3000 });
    await leading(alice);
    const suspended = nextEvent(alice, 'suspended');
    const lost = nextEvent(alice, 'lost');
    cut.blackhole();
    await suspended;
    expect(alice.isLeader, 'hold: still leading while suspended').toBe(true);
    expect(await lost).toEqual({ reason: 'expired' });
    cut.heal();
  });

  it('a suspension during takeoverDelayMs cancels the pending term, which is won again after the reconnect', async () => {
    const cut = await proxy();
    const log = new EventLog();
    const alice = participant(uniquePath('delay-suspended'), { connect: cut.connectString, takeoverDelayMs: 1000, sessionTimeoutMs: 8000 });
    log.record('alice', alice, ['elected', 'lost', 'suspended', 'reconnected']);
    await alice.start();
    const reconnected = nextEvent(alice, 'reconnected');
    cut.resetConnections();
    await reconnected;
    const reconnectedAt = performance.now();
    await nextEvent(alice, 'elected');
    expect(performance.now() - reconnectedAt).toBeGreaterThanOrEqual(990);
    expect(log.names()).toEqual(['alice:suspended', 'alice:reconnected', 'alice:elected']);
  });

  it('an expiry during takeoverDelayMs cancels the pending term', async () => {
    const log = new EventLog();
    const alice = participant(uniquePath('delay-expired'), { takeoverDelayMs: 1500 });
    log.record('alice', alice, ['elected', 'lost', 'expired']);
    await alice.start();
    const expired = nextEvent(alice, 'expired');
    await expireSession(zkConnect(), alice.session.credentials()!);
    await expired;
    await nextEvent(alice, 'elected');
    expect(log.names()).toEqual(['alice:expired', 'alice:elected']);
  });

  it('stop() during takeoverDelayMs: no elected, no lost', async () => {
    const log = new EventLog();
    const alice = participant(uniquePath('delay-stopped'), { takeoverDelayMs: 500 });
    log.record('alice', alice, ['elected', 'lost', 'stopped']);
    await alice.start();
    await alice.stop();
    await sleep(700);
    expect(log.names()).toEqual(['alice:stopped']);
  });

  it('trackLeader followers keep hearing of new leaders after a reconnect and after an expiry', async () => {
    const path = uniquePath('track-recover');
    const cut = await proxy();
    const [a, b] = ['a', 'b'].map((id) => participant(path, { id }));
    const c = participant(path, { id: 'c', trackLeader: true, connect: cut.connectString, sessionTimeoutMs: 6000 });
    await leading(a!);
    await following(b!);
    const seesA = nextEvent(c, 'leader');
    await c.start();
    expect((await seesA)?.id).toBe('a');

    const reconnected = nextEvent(c, 'reconnected');
    cut.resetConnections();
    await reconnected;
    const seesB = nextEvent(c, 'leader');
    await a!.stop();
    expect((await seesB)?.id).toBe('b');

    const d = participant(path, { id: 'd' });
    await following(d);
    const expired = nextEvent(c, 'expired');
    const rejoined = nextEvent(c, 'follower');
    await expireSession(cut.connectString, c.session.credentials()!);
    await expired;
    await rejoined;
    const seesNext = nextEvent(c, 'leader');
    await b!.stop();
    // c re-joined behind d after its expiry: d leads next, and c (on its new session) hears it.
    expect((await seesNext)?.id).toBe('d');
  });

  it("trackLeader emits null when the recorded leader's node is gone", async () => {
    const path = uniquePath('track-null');
    const a = participant(path, { id: 'a' });
    const c = participant(path, { id: 'c', trackLeader: true });
    await leading(a);
    const seesA = nextEvent(c, 'leader');
    await c.start();
    await seesA;
    const operator = await admin();
    const seesNobody = nextEvent(c, 'leader');
    // A record naming a node that does not exist, with a token above any so far.
    await operator.setData(path, Buffer.from(JSON.stringify({ node: 'gone-n_9999999999', id: 'x', token: '999999999999', since: 0 })));
    expect(await seesNobody).toBeNull();
  });

  it('a middle participant leaving makes the next one watch the leader, at position 1', async () => {
    const path = uniquePath('middle');
    const [a, b, c] = ['a', 'b', 'c'].map((id) => participant(path, { id }));
    await leading(a!);
    await following(b!);
    expect((await following(c!)).position).toBe(2);
    const moves = nextEvent(c!, 'follower');
    await b!.stop();
    expect(await moves).toMatchObject({ position: 1, leader: { id: 'a' } });
    const takesOver = nextEvent(c!, 'elected');
    await a!.stop();
    await takesOver;
  });

  it('a path under an ephemeral node fails start() with NO_CHILDREN_FOR_EPHEMERALS', async () => {
    const parent = uniquePath('ephemeral-parent');
    const operator = await admin();
    await operator.ensurePath(parent);
    await operator.create(`${parent}/e`, Buffer.alloc(0), 'ephemeral');
    const alice = participant(`${parent}/e/election`);
    await expect(alice.start()).rejects.toMatchObject({ code: 'NO_CHILDREN_FOR_EPHEMERALS' });
    defer(() => removeTree(operator, parent));
  });

  it('runWhileLeader: work that returns after its term ended does not resign the next term', async () => {
    const path = uniquePath('work-after-abort');
    const alice = participant(path, { id: 'alice' });
    const operator = await admin();
    const tokens: bigint[] = [];
    const ended = (signal: AbortSignal) =>
      new Promise((resolve) => (signal.aborted ? resolve(undefined) : signal.addEventListener('abort', resolve, { once: true })));
    const running = alice.runWhileLeader(async (signal, { fencingToken }) => {
      tokens.push(fencingToken);
      if (tokens.length === 1) await operator.remove(`${path}/${alice.nodeName}`);
      await ended(signal);
    });
    await until(() => tokens.length === 2, 'a second term');
    expect(tokens[1]).toBeGreaterThan(tokens[0]!);
    expect(alice.isLeader).toBe(true);
    await alice.stop();
    await running;
  });

  it('waitForLeadership rejects with the signal’s reason on abort, and with INVALID_STATE on stop', async () => {
    const path = uniquePath('wait-leadership');
    const a = participant(path, { id: 'a' });
    const b = participant(path, { id: 'b' });
    await leading(a);
    await following(b);
    const controller = new AbortController();
    const waiting = b.waitForLeadership(controller.signal);
    controller.abort(new Error('no longer interested'));
    await expect(waiting).rejects.toThrow('no longer interested');
    const untilStop = b.waitForLeadership();
    await b.stop();
    await expect(untilStop).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });

  it('prefix names the node, and it still orders by sequence', async () => {
    const path = uniquePath('prefix');
    const a = participant(path, { id: 'a', prefix: 'svc.a_' });
    const b = participant(path, { id: 'b', prefix: '0' });
    await leading(a);
    await following(b);
    expect(a.nodeName).toMatch(/^svc\.a_[0-9a-f]{32}-n_\d{10}$/);
    expect((await b.participants()).map((p) => p.id)).toEqual(['a', 'b']);
  });

  it('await using stops the election at the end of the block', async () => {
    const path = uniquePath('dispose');
    let inside: LeaderElection | undefined;
    {
      await using alice = new LeaderElection({ path, connect: zkConnect(), backend });
      inside = alice;
      await leading(alice);
    }
    const operator = await admin();
    expect(await operator.getChildren(path)).toEqual([]);
    expect(inside.isLeader).toBe(false);
    defer(() => removeTree(operator, path));
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

  it('a session reports local-timeout when it stays unreachable, and keeps trying with CONNECT_TIMEOUT errors until it is back', async () => {
    const cut = await proxy();
    const lonely = session({ connect: cut.connectString, sessionTimeoutMs: 2000, connectTimeoutMs: 600 });
    await lonely.ready();
    const errors: string[] = [];
    lonely.on('error', (error) => errors.push(error.code));
    const expired = nextEvent(lonely, 'expired', 10_000);
    cut.blackhole();
    expect((await expired).reason).toBe('local-timeout');
    await until(() => errors.filter((code) => code === 'CONNECT_TIMEOUT').length >= 2, 'two failed connects', 15_000);
    cut.heal();
    const connected = await nextEvent(lonely, 'connected', 15_000);
    expect(connected.generation).toBe(2);
  });

  it('close() while connecting settles ready() with SESSION_CLOSED and leaves nothing running', async () => {
    const cut = await proxy();
    cut.blackhole();
    const never = new Session({ connect: cut.connectString, backend, connectTimeoutMs: 10_000 });
    const ready = never.ready().then(
      () => 'connected',
      (error: { code?: string }) => error.code,
    );
    await sleep(100);
    await never.close();
    expect(await ready).toBe('SESSION_CLOSED');
    expect(never.state).toBe('closed');
  });

  it('whenConnected(signal) rejects with the signal’s reason when aborted', async () => {
    const { cut, silenced } = await silencedSession();
    const controller = new AbortController();
    const outcome = silenced.whenConnected(controller.signal);
    controller.abort(new Error('gave up'));
    await expect(outcome).rejects.toThrow('gave up');
    // No native client may be left connecting to a silent address: see README, native backend.
    cut.heal();
  });

  it('several auth entries give access to nodes protected by each of them', async () => {
    const path = uniquePath('two-credentials');
    const first = { scheme: 'digest' as const, credential: 'first:one' };
    const second = { scheme: 'digest' as const, credential: 'second:two' };
    const creator = session({ auth: [first, second] });
    await creator.ready();
    await creator.ensurePath(path);
    await creator.create(`${path}/a`, Buffer.from('a'), 'persistent', digestAcl(first.credential));
    await creator.create(`${path}/b`, Buffer.from('b'), 'persistent', digestAcl(second.credential));
    const both = session({ auth: [second, first] });
    await both.ready();
    expect((await both.getData(`${path}/a`)).data.toString()).toBe('a');
    expect((await both.getData(`${path}/b`)).data.toString()).toBe('b');
    const onlyFirst = session({ auth: first });
    await onlyFirst.ready();
    await expect(onlyFirst.getData(`${path}/b`)).rejects.toMatchObject({ code: 'NO_AUTH' });
    defer(async () => {
      await creator.remove(`${path}/a`);
      await creator.remove(`${path}/b`);
      await creator.remove(path);
    });
  });

  itWithOwnServers('a server that grants a shorter session timeout than asked: every timer follows the granted one', async () => {
    await using server = await startOwnZooKeeper({ servers: 1, maxSessionTimeoutMs: 2000 });
    const cut = await TcpProxy.to(server.connectString);
    defer(() => cut.close());
    const narrowed = new Session({ connect: cut.connectString, backend, sessionTimeoutMs: 30_000 });
    defer(() => narrowed.close());
    await narrowed.ready();
    expect(narrowed.sessionTimeoutMs).toBe(2000);
    const suspended = nextEvent(narrowed, 'suspended', 5000);
    const expired = nextEvent(narrowed, 'expired', 5000);
    const cutAt = performance.now();
    cut.blackhole();
    await suspended;
    // 2/3 of the granted 2 s, not of the 30 s asked for (plus one check period).
    expect(performance.now() - cutAt).toBeLessThan(2000);
    await expired;
    expect(performance.now() - cutAt).toBeLessThan(3000);
    cut.heal();
  });
});

/**
 * Runs test/fixtures/two-elections.ts (two elections with releaseOnSignals in one process),
 * sends it `signal`, and resolves with the signal it died of, its output and what is left
 * under each election path.
 */
async function signalTwoElections(signal: NodeJS.Signals, listed: NodeJS.Signals[] = []) {
  const path = uniquePath('signals');
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/two-elections.ts', zkConnect(), path, ...listed], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await until(() => output.includes('ready'), 'the child to join both elections', 20_000);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, died) => resolve(died)));
  child.kill(signal);
  const diedOf = await exited;
  const operator = await adminSession();
  try {
    const left = [...(await operator.getChildren(`${path}/a`)), ...(await operator.getChildren(`${path}/b`))];
    return { diedOf, output, left };
  } finally {
    await removeTree(operator, path);
    await operator.close();
  }
}

describe('releaseOnSignals', () => {
  it('stops every election in the process before the signal takes its course', async () => {
    const { diedOf, output, left } = await signalTwoElections('SIGTERM');
    expect(diedOf).toBe('SIGTERM');
    expect(output).toContain('stopped a');
    expect(output).toContain('stopped b');
    expect(left).toEqual([]);
  });

  it('with a list of its own, stops on SIGUSR2, then lets the signal take its course', async () => {
    const { diedOf, output, left } = await signalTwoElections('SIGUSR2', ['SIGUSR2']);
    expect(diedOf).toBe('SIGUSR2');
    expect(output).toContain('stopped a');
    expect(output).toContain('stopped b');
    expect(left).toEqual([]);
  });
});
