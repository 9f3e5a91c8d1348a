import { afterEach, describe, expect, it } from 'vitest';
import { LeaderElection } from '../../src/election.js';
import { Membership } from '../../src/membership.js';
import { freePort } from '../../src/testing/ports.js';
import { runCli } from '../support/cli.js';
import { adminSession, backends, removeTree, unresolvableHost, uniquePath, zkConnect } from '../support/zookeeper.js';

// `zk-leader status` and `zk-leader list`: the leader and the queue, as a table and as JSON, and
// the exit codes and one-line errors for what is not there.

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
