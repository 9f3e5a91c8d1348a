import { afterEach, describe, expect, it } from 'vitest';
import { LeaderElection } from '../../src/election.js';
import { Membership, type Member } from '../../src/membership.js';
import { LeaderObserver, type ObservedLeader } from '../../src/observer.js';
import { Session } from '../../src/session.js';
import { expireSession } from '../../src/testing/index.js';
import { freePort } from '../../src/testing/ports.js';
import { runCli } from '../support/cli.js';
import { nextEvent } from '../support/events.js';
import { adminSession, backends, removeTree, unresolvableHost, uniquePath, zkConnect } from '../support/zookeeper.js';

describe.each(backends)('cluster view on %s', (backend) => {
  const closers: (() => Promise<void>)[] = [];
  const paths: string[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    const admin = await adminSession();
    for (const path of paths.splice(0)) await removeTree(admin, path);
    await admin.close();
  });
  function session(): Session {
    const created = new Session({ connect: zkConnect(), backend, sessionTimeoutMs: 4000 });
    closers.push(() => created.close());
    return created;
  }
  function membership(options: { reportEveryMs?: number } = {}): Membership {
    const created = new Membership({ session: session(), ...options });
    closers.push(() => created.close());
    return created;
  }

  it('members join, update and leave, and a watcher sees each event in order', async () => {
    const path = uniquePath('group');
    paths.push(path);
    const watcher = membership();
    const seen: string[] = [];
    for (const event of ['joined', 'updated', 'left'] as const) watcher.on(event, (member: Member) => seen.push(`${event}:${member.id}:${member.status}`));
    await watcher.watch(path);

    const alpha = membership();
    const beta = membership();
    let lists = 0;
    watcher.on('members', () => lists++);
    const alphaSeen = nextEvent(watcher, 'joined');
    await alpha.join(path, { id: 'alpha', data: { port: 1 } });
    await alphaSeen;
    const betaSeen = nextEvent(watcher, 'joined');
    await beta.join(path, { id: 'beta', status: 'ok' });
    await betaSeen;
    const updated = nextEvent(watcher, 'updated');
    await alpha.setStatus('warning', { disk: '91%' });
    expect((await updated).details).toEqual({ disk: '91%' });
    const left = nextEvent(watcher, 'left');
    await beta.leave();
    await left;

    expect(seen).toEqual(['joined:alpha:starting', 'joined:beta:ok', 'updated:alpha:warning', 'left:beta:ok']);
    expect(lists).toBe(4);
    expect((await watcher.members()).map((member) => `${member.id}:${member.status}`)).toEqual(['alpha:warning']);
  });

  it('a joined or left listener reads the new state: health() already counts the member, or no longer does', async () => {
    const path = uniquePath('state-first');
    paths.push(path);
    const watcher = membership();
    await watcher.watch(path);
    const counts: string[] = [];
    watcher.on('joined', (member) => counts.push(`joined:${member.id}:${watcher.health().members}`));
    watcher.on('left', (member) => counts.push(`left:${member.id}:${watcher.health().members}`));
    const alpha = membership();
    let ownNodeInPlace: boolean | null = null;
    alpha.on('joined', (member) => {
      if (member.id === 'alpha') ownNodeInPlace = alpha.health().joined;
    });
    const joined = nextEvent(watcher, 'joined');
    const alphaSeesItself = nextEvent(alpha, 'joined');
    await alpha.join(path, { id: 'alpha' });
    await Promise.all([joined, alphaSeesItself]);
    const left = nextEvent(watcher, 'left');
    await alpha.leave();
    await left;
    expect(counts).toEqual(['joined:alpha:1', 'left:alpha:0']);
    expect(ownNodeInPlace).toBe(true);
  });

  it('a member publishes its health and re-joins after its session expires', async () => {
    const path = uniquePath('health');
    paths.push(path);
    const member = membership({ reportEveryMs: 100 });
    await member.join(path, { id: 'healthy', status: 'ok' });
    const [me] = await member.members();
    expect(me?.health).toMatchObject({ pid: process.pid, heapUsedBytes: expect.any(Number), uptimeSeconds: expect.any(Number), load: expect.any(Number) });

    const rejoined = nextEvent(member.session, 'connected');
    await expireSession(zkConnect(), member.session.credentials()!);
    await rejoined;
    await expect.poll(async () => (await member.members()).map((m) => m.sessionId), { timeout: 10_000 }).toEqual([member.session.sessionId]);
  });

  it('an observer tracks three successive leaders without taking part', async () => {
    const path = uniquePath('observed');
    paths.push(path);
    const observer = new LeaderObserver({ session: session(), path });
    closers.push(() => observer.close());
    await observer.start();
    expect(observer.leader).toBeNull();
    const leaders: (ObservedLeader | null)[] = [];
    observer.on('leader', (leader) => leaders.push(leader));

    const elections = ['one', 'two', 'three'].map((id) => new LeaderElection({ path, session: session(), id }));
    for (const election of elections) {
      closers.push(() => election.stop());
      await election.start();
    }
    await expect(observer.waitForLeader({ timeoutMs: 10_000 })).resolves.toMatchObject({ id: 'one' });
    for (const [index, election] of elections.entries()) {
      const next = nextEvent(observer, 'leader');
      await election.stop();
      const leader = await next;
      expect(leader?.id ?? null).toBe(['two', 'three', null][index]);
    }
    expect(leaders.map((leader) => leader?.id ?? null)).toEqual(['one', 'two', 'three', null]);
    expect((await observer.session.getChildren(path)).length).toBe(0);
  });

  it('waitForLeader gives up after timeoutMs with WAIT_TIMEOUT', async () => {
    const observer = new LeaderObserver({ session: session(), path: uniquePath('nobody') });
    closers.push(() => observer.close());
    await expect(observer.waitForLeader({ timeoutMs: 200 })).rejects.toMatchObject({ code: 'WAIT_TIMEOUT' });
  });
});

describe.each(backends)('the zk-leader command line on %s', (backend) => {
  const cli = (args: string[]) => runCli([...args, '--backend', backend]);
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it('status prints the leader and the queue, as a table and as JSON', async () => {
    const path = uniquePath('cli-status');
    const group = uniquePath('cli-group');
    const ids = ['alpha', 'beta'];
    const elections = ids.map((id) => new LeaderElection({ path, connect: zkConnect(), backend, id, data: { port: id.length } }));
    const member = new Membership({ connect: zkConnect(), reportEveryMs: 1000 });
    stops.push(async () => {
      await Promise.all(elections.map((election) => election.stop()));
      await member.close();
      const admin = await adminSession();
      await removeTree(admin, path);
      await removeTree(admin, group);
      await admin.close();
    });
    for (const election of elections) await election.start();
    await member.join(group, { id: 'alpha', status: 'ok' });

    const human = await cli(['status', path, '--connect', zkConnect(), '--group', group]);
    expect(human.code).toBe(0);
    const lines = human.stdout.split('\n');
    expect(lines[0]).toBe(`election ${path}: leader alpha (token ${elections[0]!.fencingToken})`);
    expect(lines[2]).toMatch(/^#\s+role\s+id\s+session\s+age\s+token\s+data$/);
    expect(lines[4]).toMatch(
      new RegExp(`^0\\s+leader\\s+alpha\\s+${elections[0]!.session.sessionId}\\s+\\S+\\s+${elections[0]!.fencingToken}\\s+\\{"port":5\\}$`),
    );
    expect(lines[5]).toMatch(/^1\s+standby\s+beta\s/);
    expect(human.stdout).toContain('group: 1 member');
    expect(human.stdout).toMatch(new RegExp(`alpha\\s+ok\\s+${process.pid}\\s`));

    const json = await cli(['status', path, '--connect', zkConnect(), '--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { leader: { id: string; fencingToken: string }; participants: { id: string }[] };
    expect(parsed.leader).toMatchObject({ id: 'alpha', fencingToken: elections[0]!.fencingToken!.toString() });
    expect(parsed.participants.map((participant) => participant.id)).toEqual(ids);

    const listed = await cli(['list', path.slice(0, path.lastIndexOf('/')), '--connect', zkConnect(), '--json']);
    expect(JSON.parse(listed.stdout)).toContainEqual(expect.objectContaining({ path, participants: 2, leader: expect.objectContaining({ id: 'alpha' }) }));
  });

  it('exits 1 with no leader, 2 for a path that is not an election, 2 when no server answers', async () => {
    const missing = await cli(['status', uniquePath('nothing-here'), '--connect', zkConnect()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no election at .*: the node does not exist/);

    const notElection = await cli(['status', '/zookeeper', '--connect', zkConnect()]);
    expect(notElection.code).toBe(2);
    expect(notElection.stderr).toBe("zk-leader: /zookeeper is not an election: its 2 children ('config', 'quota') are not zk-leader candidates\n");

    const port = await freePort();
    const unreachable = await cli(['status', '/x', '--connect', `127.0.0.1:${port}`, '--timeout', '300']);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toContain(`could not connect to ZooKeeper at 127.0.0.1:${port} within 300 ms`);
    expect(unreachable.stderr).not.toMatch(/\bat .*\.js:\d+/);

    const usage = await cli(['status']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('status needs a path');
  });

  it('exits 2 with one line, not a stack trace, for a port above 65535', async () => {
    const result = await cli(['status', '/x', '--connect', '127.0.0.1:99999']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("zk-leader: connect has a bad port '99999' in '127.0.0.1:99999': a port is a whole number from 1 to 65535\n");
  });

  it('exits 2 saying the name does not resolve, for a host that does not', async () => {
    const server = `${unresolvableHost}:2181`;
    const result = await cli(['status', '/x', '--connect', server, '--timeout', '300']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(`^zk-leader: could not connect to ZooKeeper at ${server} within 300 ms \\(${server}: name does not resolve\\): .*\n$`),
    );
  });

  it('status shows data written by another program as raw text', async () => {
    const path = uniquePath('cli-foreign');
    const admin = await adminSession();
    stops.push(async () => {
      await removeTree(admin, path);
      await admin.close();
    });
    await admin.ensurePath(path);
    await admin.create(`${path}/${'f'.repeat(32)}-n_`, Buffer.from('not json {'), 'persistent-sequential');
    const result = await cli(['status', path, '--connect', zkConnect(), '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).leader).toMatchObject({ data: 'not json {' });
  });
});
