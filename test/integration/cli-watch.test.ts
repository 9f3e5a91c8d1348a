import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ExampleProcess } from '../../examples/support/processes.js';
import { Permission } from '../../src/client/types.js';
import type { LeaderElection } from '../../src/election.js';
import { Membership } from '../../src/membership.js';
import { LeaderObserver, type ObservedElection } from '../../src/observer.js';
import { cli, runCli } from '../support/cli.js';
import { electionFixture } from '../support/election.js';
import { nextEvent, until } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { backends, operatorSetAcl, sessionsWatching, uniquePath, zkConnect } from '../support/zookeeper.js';

// `zk-leader watch`: its lines (text and --json), exit codes and behaviour on errors are a
// contract for scripts (CHANGELOG). The participants use the CLI's default backend.

/** A text line of `watch`: an ISO timestamp, then the words. */
const stamped = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (.*)$/;

/** The words of every line `watching` printed, each checked for its timestamp. */
function words(watching: ExampleProcess): string[] {
  return watching.lines.map((line) => {
    const match = stamped.exec(line);
    expect(match, `a timestamped line: ${line}`).not.toBeNull();
    return match![2]!;
  });
}

/** Resolves once `watching` printed a line of exactly `text` (after its timestamp). */
function printed(watching: ExampleProcess, text: string): Promise<string> {
  return watching.waitForLine((line) => stamped.exec(line)?.[2] === text);
}

/** The `election` events a `watch --json` printed. */
function elections(watching: ExampleProcess): Record<string, unknown>[] {
  return watching.events().filter((event) => event.event === 'election');
}

/** ZooKeeper opcodes the proxy records: getData, getChildren, getChildren2. */
const opcodes = { getData: 4, getChildren: 8, getChildren2: 12 };

describe('zk-leader watch', () => {
  const { admin, defer, proxy } = testResources('node-zookeeper-client');
  const participant = electionFixture('node-zookeeper-client');

  /** `zk-leader watch <args>`, killed after the test if it still runs. */
  function watch(args: string[]): ExampleProcess {
    const child = spawn(process.execPath, [cli, 'watch', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ZK_CONNECT: '' } });
    const watching = new ExampleProcess(child);
    defer(async () => {
      watching.signal('SIGKILL');
      await watching.exited;
    });
    return watching;
  }

  /** Starts `election` and resolves with its fencing token once it leads. */
  async function leads(election: LeaderElection): Promise<bigint> {
    const elected = nextEvent(election, 'elected');
    await election.start();
    return (await elected).fencingToken;
  }

  /** Starts `election` and resolves once it follows. */
  async function follows(election: LeaderElection): Promise<void> {
    const following = nextEvent(election, 'follower');
    await election.start();
    await following;
  }

  it('prints one timestamped line per change of the queue: a join, the leader leaving, the last one leaving', async () => {
    const path = uniquePath('cli-watch-changes');
    const [alice, bob] = [participant(path, { id: 'alice' }), participant(path, { id: 'bob' })];
    const aliceToken = await leads(alice);
    const watching = watch([path, '--connect', zkConnect()]);
    await printed(watching, `leader alice (token ${aliceToken}); queue: alice`);

    const bobLeads = nextEvent(bob, 'elected');
    await follows(bob);
    await printed(watching, `leader alice (token ${aliceToken}); queue: alice, bob`);
    await alice.stop();
    const bobToken = (await bobLeads).fencingToken;
    await printed(watching, `leader bob (token ${bobToken}); queue: bob`);
    await bob.stop();
    await printed(watching, `no leader on ${path}`);

    watching.signal('SIGINT');
    expect(await watching.exited).toEqual({ code: 0, signal: null });
    expect(words(watching)).toEqual([
      `leader alice (token ${aliceToken}); queue: alice`,
      `leader alice (token ${aliceToken}); queue: alice, bob`,
      `leader bob (token ${bobToken}); queue: bob`,
      `no leader on ${path}`,
    ]);
    expect(watching.stderr).toEqual([]);
  });

  it('--json prints one election event per change, its leader as status shows it, and no line for a leader that proclaims new data', async () => {
    const path = uniquePath('cli-watch-json');
    const [alice, bob, carol] = [participant(path, { id: 'alice', data: { port: 1 } }), participant(path, { id: 'bob' }), participant(path, { id: 'carol' })];
    await leads(alice);
    await follows(bob);
    const status = await runCli(['status', path, '--connect', zkConnect(), '--json']);
    expect(status.code, status.stderr).toBe(0);
    const { leader } = JSON.parse(status.stdout) as { leader: Record<string, unknown> };
    const watching = watch([path, '--connect', zkConnect(), '--json']);
    const first = await watching.waitForEvent('election');
    expect(Object.keys(first)).toEqual(['ts', 'event', 'path', 'leader', 'queue']);
    expect(first).toEqual({ ts: expect.any(Number), event: 'election', path, leader, queue: ['alice', 'bob'] });

    // New data of the same leader is no change of the queue: the next line is carol's join.
    await alice.proclaim({ port: 2 });
    await follows(carol);
    const joined = await watching.waitForEvent('election', (fields) => (fields.queue as string[]).length === 3);
    expect(joined).toMatchObject({ leader: { id: 'alice', data: { port: 2 } }, queue: ['alice', 'bob', 'carol'] });

    watching.signal('SIGTERM');
    expect(await watching.exited).toEqual({ code: 0, signal: null });
    expect(elections(watching)).toEqual([first, joined]);
    expect(watching.stderr).toEqual([]);
  });

  it('of a path that does not exist yet prints nothing until an election appears there, then follows it', async () => {
    const path = uniquePath('cli-watch-missing');
    const alice = participant(path, { id: 'alice' });
    const watching = watch([path, '--connect', zkConnect()]);
    // The watch waits for the path with an exists watch, which the server lists.
    await until(async () => (await sessionsWatching(path)).length > 0, 'the watch waiting for the path');
    const token = await leads(alice);
    await printed(watching, `leader alice (token ${token}); queue: alice`);
    await alice.stop();
    await printed(watching, `no leader on ${path}`);
    watching.signal('SIGINT');
    expect(await watching.exited).toEqual({ code: 0, signal: null });
    expect(words(watching)).toEqual([`leader alice (token ${token}); queue: alice`, `no leader on ${path}`]);
    expect(watching.stderr).toEqual([]);
  });

  it('of a path that is not an election prints nothing for it (status refuses it), then follows a candidate that joins', async () => {
    const path = uniquePath('cli-watch-not-an-election');
    const alice = participant(path, { id: 'alice' });
    const outside = await admin();
    await outside.ensurePath(`${path}/config`);
    await outside.ensurePath(`${path}/data`);
    const status = await runCli(['status', path, '--connect', zkConnect()]);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain('is not an election');

    const cut = await proxy();
    const watching = watch([path, '--connect', cut.connectString]);
    // The reading asks for the path's own data (a single-node leader record) once it has the
    // listing: from then on, what it prints for the listing comes before any later change.
    await until(() => cut.requestOpcodes.includes(opcodes.getData), 'the watch reading the path');
    const token = await leads(alice);
    await printed(watching, `leader alice (token ${token}); queue: alice`);
    watching.signal('SIGINT');
    expect(await watching.exited).toEqual({ code: 0, signal: null });
    expect(words(watching)).toEqual([`leader alice (token ${token}); queue: alice`]);
    expect(watching.stderr).toEqual([]);
  });

  it('follows a single-node election whose lockName is not lock, without being told the name, through a handover', async () => {
    const path = uniquePath('cli-watch-lockname');
    const [alice, bob] = [
      participant(path, { id: 'alice', recipe: 'single-node', lockName: 'mutex' }),
      participant(path, { id: 'bob', recipe: 'single-node', lockName: 'mutex' }),
    ];
    const aliceToken = await leads(alice);
    // The name comes from the leader record the holder writes: wait for it to be there.
    const outside = await admin();
    await until(async () => (await outside.getData(path)).data.length > 0, 'the leader record');
    await follows(bob);
    const watching = watch([path, '--connect', zkConnect(), '--json']);
    const first = await watching.waitForEvent('election');
    expect(first).toMatchObject({ path, leader: { id: 'alice', recipe: 'single-node', node: 'mutex', fencingToken: String(aliceToken) }, queue: ['alice'] });

    const bobLeads = nextEvent(bob, 'elected');
    await alice.stop();
    const bobToken = (await bobLeads).fencingToken;
    const handedOver = await watching.waitForEvent('election', (fields) => (fields.leader as { id?: string } | null)?.id === 'bob');
    expect(handedOver).toMatchObject({ leader: { node: 'mutex', fencingToken: String(bobToken) }, queue: ['bob'] });
    watching.signal('SIGINT');
    expect(await watching.exited).toEqual({ code: 0, signal: null });
    // Between the two holders the node may be seen gone for a moment: "no leader" then.
    const leaders = elections(watching).map((event) => (event.leader as { id: string } | null)?.id ?? null);
    expect(leaders.filter((id) => id !== null)).toEqual(['alice', 'bob']);
    expect(leaders.at(-1)).toBe('bob');
    expect(watching.stderr).toEqual([]);
  });

  it('--group prints the members first, then the election, then a line per change of either', async () => {
    const path = uniquePath('cli-watch-group');
    const group = uniquePath('cli-watch-group-members');
    const alice = participant(path, { id: 'alice' });
    const token = await leads(alice);
    const member = new Membership({ connect: zkConnect() });
    defer(() => member.stop());
    await member.join(group, { id: 'm1', status: 'ok' });
    defer(async () => (await admin()).remove(group).catch(() => {}));
    const watching = watch([path, '--group', group, '--connect', zkConnect()]);
    await printed(watching, `leader alice (token ${token}); queue: alice`);
    await member.setStatus('warning');
    await printed(watching, 'members: m1=warning');
    watching.signal('SIGINT');
    expect(await watching.exited).toEqual({ code: 0, signal: null });
    expect(words(watching)).toEqual(['members: m1=ok', `leader alice (token ${token}); queue: alice`, 'members: m1=warning']);
    expect(watching.stderr).toEqual([]);
  });

  it('says on stderr when the connection cuts its read, and prints the change once the connection is back', async () => {
    const path = uniquePath('cli-watch-connection-loss');
    const [alice, bob] = [participant(path, { id: 'alice' }), participant(path, { id: 'bob' })];
    await leads(alice);
    const cut = await proxy();
    const watching = watch([path, '--connect', cut.connectString, '--json']);
    const first = await watching.waitForEvent('election');

    // The notification of bob's join passes; the reply to the read it prompts is held, and the
    // connection closes under it.
    const sent = cut.requestOpcodes.length;
    cut.holdReplies(1);
    await follows(bob);
    const reads = () => cut.requestOpcodes.slice(sent).filter((opcode) => opcode === opcodes.getChildren || opcode === opcodes.getChildren2);
    await until(() => reads().length > 0, 'the watch reading the queue');
    cut.resetConnections();
    cut.heal();
    await until(() => watching.stderr.length > 0, 'the watch reporting the lost read');
    const joined = await watching.waitForEvent('election', (fields) => (fields.queue as string[]).length === 2);
    expect(joined).toMatchObject({ leader: { id: 'alice' }, queue: ['alice', 'bob'] });
    watching.signal('SIGINT');
    expect(await watching.exited).toEqual({ code: 0, signal: null });
    expect(elections(watching)).toEqual([first, joined]);
    // One line; the builtin backend (the CLI's default) says first how the connection went.
    expect(watching.stderr).toEqual([
      expect.stringMatching(
        new RegExp(
          `^zk-leader: getChildren ${path} failed with CONNECTION_LOSS: (.+; )?the connection dropped before the reply came: it is retried once the session reconnects; retrying when the connection is back$`,
        ),
      ),
    ]);
  });

  it('carries on in a new session when its session expires, and prints what changed meanwhile', async () => {
    const path = uniquePath('cli-watch-expiry');
    const [alice, bob] = [participant(path, { id: 'alice' }), participant(path, { id: 'bob' })];
    await leads(alice);
    const bobLeads = nextEvent(bob, 'elected');
    await follows(bob);
    const cut = await proxy();
    const watching = watch([path, '--connect', cut.connectString, '--json']);
    const first = await watching.waitForEvent('election', (fields) => (fields.queue as string[]).length === 2);
    // The watch holds a data watch on the leader's node: its session is the one not a participant's.
    const leaderNode = `${path}/${(first.leader as { node: string }).node}`;
    const own = [alice.session.sessionId, bob.session.sessionId];
    const watchSessions = async () => (await sessionsWatching(leaderNode)).filter((session) => !own.includes(session));
    expect(await watchSessions()).toHaveLength(1);

    // Cut off silently until the server expires its session; alice leaves meanwhile.
    cut.blackhole();
    await until(async () => (await watchSessions()).length === 0, 'the server expiring the watch session', 30_000);
    await alice.stop();
    const bobToken = (await bobLeads).fencingToken;
    cut.heal();
    const after = await watching.waitForEvent('election', (fields) => (fields.leader as { id?: string } | null)?.id === 'bob');
    expect(after).toMatchObject({ leader: { id: 'bob', fencingToken: String(bobToken) }, queue: ['bob'] });
    watching.signal('SIGINT');
    expect(await watching.exited).toEqual({ code: 0, signal: null });
    expect(elections(watching)).toEqual([first, after]);
    expect(watching.stderr).toEqual([]);
  });

  it('says on stderr when the server refuses its read (NO_AUTH), and reads again once the connection is back', async () => {
    const path = uniquePath('cli-watch-no-auth');
    const alice = participant(path, { id: 'alice' });
    const outside = await admin();
    await outside.ensurePath(path);
    await operatorSetAcl(path, [{ scheme: 'world', id: 'anyone', permissions: Permission.all & ~Permission.read }]);
    const cut = await proxy();
    const watching = watch([path, '--connect', cut.connectString]);
    await until(() => watching.stderr.length > 0, 'the watch reporting the refusal');
    const refusal = `zk-leader: getChildren ${path} failed with NO_AUTH: the node is protected by an ACL: pass the matching \`auth\` credential; retrying when the connection is back`;
    expect(watching.stderr).toEqual([refusal]);

    // The operator lets it read; nothing tells the watch, until its connection comes back.
    await operatorSetAcl(path, [{ scheme: 'world', id: 'anyone', permissions: Permission.all }]);
    const token = await leads(alice);
    cut.resetConnections();
    await printed(watching, `leader alice (token ${token}); queue: alice`);
    watching.signal('SIGINT');
    expect(await watching.exited).toEqual({ code: 0, signal: null });
    expect(words(watching)).toEqual([`leader alice (token ${token}); queue: alice`]);
    expect(watching.stderr).toEqual([refusal]);
  });

  it('refuses a path or --group that is no absolute znode path with exit 2 and one line', async () => {
    const path = await runCli(['watch', 'services/scheduler', '--connect', zkConnect()]);
    expect(path).toEqual({ code: 2, stdout: '', stderr: "zk-leader: path must start with '/': got 'services/scheduler'\n" });
    const group = await runCli(['watch', uniquePath('cli-watch-usage'), '--group', 'members', '--connect', zkConnect()]);
    expect(group).toEqual({ code: 2, stdout: '', stderr: "zk-leader: --group must start with '/': got 'members'\n" });
  });
});

// What `watch` needs of LeaderObserver: the whole queue, the kind of election, the path
// missing, and a word when a read was cut off (none of it an error).
describe.each(backends)('LeaderObserver for watchers on %s', (backend) => {
  const { admin, defer, proxiedSession, session } = testResources(backend);
  const participant = electionFixture(backend);

  /** An observer on `path` (shared session unless given), stopped after the test, with what it emits. */
  function observe(path: string, options: { participants?: 'leader' | 'all'; lockName?: string; on?: ReturnType<typeof session> } = {}) {
    const { on = session(), ...rest } = options;
    const observer = new LeaderObserver({ session: on, path, ...rest });
    defer(() => observer.stop());
    const seen = { elections: [] as ObservedElection[], leaders: [] as (string | null)[], errors: [] as string[], interruptions: [] as string[] };
    observer.on('election', (election) => seen.elections.push(election));
    observer.on('leader', (leader) => seen.leaders.push(leader?.id ?? null));
    observer.on('error', (error) => seen.errors.push(error.code));
    observer.on('interrupted', (error) => seen.interruptions.push(error.code));
    return { observer, seen };
  }
  const ids = (election: ObservedElection | null | undefined) => election?.participants.map((participant) => participant.id);

  async function leads(election: LeaderElection): Promise<bigint> {
    const elected = nextEvent(election, 'elected');
    await election.start();
    return (await elected).fencingToken;
  }

  it("with participants: 'all' emits election with the whole queue on every join and leave, and leader only when the leader changes", async () => {
    const path = uniquePath('observer-all');
    const [alice, bob] = [participant(path, { id: 'alice' }), participant(path, { id: 'bob' })];
    await leads(alice);
    const shared = session();
    const all = observe(path, { participants: 'all', on: shared });
    const leaderOnly = observe(path, { on: shared });
    await Promise.all([all.observer.start(), leaderOnly.observer.start()]);
    expect(all.observer.election).toMatchObject({ kind: 'queue', leader: { id: 'alice' }, foreign: [], lockName: null });
    expect(ids(all.observer.election)).toEqual(['alice']);

    const joined = nextEvent(all.observer, 'election');
    await bob.start();
    expect(ids(await joined)).toEqual(['alice', 'bob']);
    const handedOver = nextEvent(all.observer, 'election');
    const leaderOnlySeesBob = nextEvent(leaderOnly.observer, 'election');
    await alice.stop();
    expect(await handedOver).toMatchObject({ kind: 'queue', leader: { id: 'bob' } });
    expect(ids(await leaderOnlySeesBob)).toEqual(['bob']);

    expect(all.seen.elections.map(ids)).toEqual([['alice'], ['alice', 'bob'], ['bob']]);
    expect(all.seen.leaders).toEqual(['alice', 'bob']);
    // The default reads the leader alone: bob's join was no change to it.
    expect(leaderOnly.seen.elections.map(ids)).toEqual([['alice'], ['bob']]);
    expect(all.observer.election).toBe(all.seen.elections.at(-1));
  });

  it("emits election with kind 'missing' while the path does not exist, then the election once it appears", async () => {
    const path = uniquePath('observer-missing');
    const alice = participant(path, { id: 'alice' });
    const { observer, seen } = observe(path);
    await observer.start();
    expect(observer.election).toEqual({ kind: 'missing', participants: [], leader: null, foreign: [], lockName: null });
    expect(seen.leaders).toEqual([]);
    const appeared = new Promise<ObservedElection>((resolve) => observer.on('election', (election) => election.kind === 'queue' && resolve(election)));
    const token = await leads(alice);
    expect(await appeared).toMatchObject({ kind: 'queue', leader: { id: 'alice', fencingToken: token } });
    // The path is created before the candidate's node: it may be seen empty in between.
    expect(seen.elections.map((election) => election.kind).filter((kind) => kind !== 'empty')).toEqual(['missing', 'queue']);
    expect(seen.leaders).toEqual(['alice']);
  });

  it("tells a path of other nodes (not-an-election, with its foreign nodes) from a single-node election, and names the latter's lockName", async () => {
    const other = uniquePath('observer-foreign');
    const outside = await admin();
    await outside.ensurePath(other);
    defer(() => outside.remove(`${other}/task-0000000000`).then(() => outside.remove(other)));
    await outside.create(`${other}/task-`, Buffer.from('x'), 'persistent-sequential');
    const foreign = observe(other);
    await foreign.observer.start();
    expect(foreign.observer.election).toEqual({ kind: 'not-an-election', participants: [], leader: null, foreign: ['task-0000000000'], lockName: null });

    const path = uniquePath('observer-lockname');
    const alice = participant(path, { id: 'alice', recipe: 'single-node', lockName: 'mutex' });
    await leads(alice);
    const { observer } = observe(path, { lockName: 'mutex' });
    await observer.start();
    expect(observer.election).toMatchObject({ kind: 'single-node', lockName: 'mutex', leader: { id: 'alice', node: 'mutex' }, foreign: [] });
  });

  it('emits interrupted, not error, when the connection cuts a read, and reads again once it is back', async () => {
    const path = uniquePath('observer-interrupted');
    const [alice, bob] = [participant(path, { id: 'alice' }), participant(path, { id: 'bob' })];
    await leads(alice);
    const { cut, shared } = await proxiedSession();
    const { observer, seen } = observe(path, { participants: 'all', on: shared });
    await observer.start();
    // The notification of bob's join passes; the reply to the read it prompts is held, and
    // the connection closes under it.
    const sent = cut.requestOpcodes.length;
    cut.holdReplies(1);
    await bob.start();
    await until(
      () => cut.requestOpcodes.slice(sent).some((opcode) => opcode === opcodes.getChildren || opcode === opcodes.getChildren2),
      'the read of the queue',
    );
    const interrupted = nextEvent(observer, 'interrupted');
    const joined = nextEvent(observer, 'election');
    cut.resetConnections();
    cut.heal();
    expect(await interrupted).toMatchObject({ code: 'CONNECTION_LOSS' });
    expect(ids(await joined)).toEqual(['alice', 'bob']);
    expect(seen.interruptions).toEqual(['CONNECTION_LOSS']);
    expect(seen.errors).toEqual([]);
  });

  it('after a refused read (NO_AUTH) emits error, and reads again once the connection is back', async () => {
    const path = uniquePath('observer-no-auth');
    const alice = participant(path, { id: 'alice' });
    const outside = await admin();
    await outside.ensurePath(path);
    await operatorSetAcl(path, [{ scheme: 'world', id: 'anyone', permissions: Permission.all & ~Permission.read }]);
    const { cut, shared } = await proxiedSession();
    const { observer, seen } = observe(path, { on: shared });
    const refused = nextEvent(observer, 'error');
    await observer.start();
    expect(await refused).toMatchObject({ code: 'NO_AUTH' });
    // The operator lets it read; nothing tells the observer, until its connection comes back.
    await operatorSetAcl(path, [{ scheme: 'world', id: 'anyone', permissions: Permission.all }]);
    await leads(alice);
    const seesAlice = nextEvent(observer, 'leader');
    cut.resetConnections();
    expect(await seesAlice).toMatchObject({ id: 'alice' });
    expect(seen.errors).toEqual(['NO_AUTH']);
    expect(seen.interruptions).toEqual([]);
  });

  it("refuses participants other than 'leader' or 'all'", () => {
    expect(() => new LeaderObserver({ connect: zkConnect(), path: '/jobs', participants: 'everyone' as 'all' })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: `participants must be 'leader' or 'all': got "everyone"` }),
    );
  });
});
