import { describe, expect, it } from 'vitest';
import { digestAcl } from '../../src/acl.js';
import { createClient } from '../../src/client/index.js';
import { type BackendName, type ClientOptions, type ZkClient } from '../../src/client/types.js';
import { LeaderElection } from '../../src/election.js';
import { Session } from '../../src/session.js';
import { electionFixture } from '../support/election.js';
import { nextEvent } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { adminSession, backends, removeTree, uniquePath, zkConnect } from '../support/zookeeper.js';

// Credentials (auth) and ACLs: who may read, join or delete, and what a refused credential
// reports.

describe.each(backends)('credentials and ACLs on %s', (backend) => {
  const { defer, session } = testResources(backend);
  const participant = electionFixture(backend);
  const owner = 'owner:s3cret';

  // Session takes digest credentials only, and ZooKeeper's digest provider accepts any
  // 'user:password' at connect (a wrong password shows as NO_AUTH on protected nodes, below).
  // What a stock server does refuse is a scheme it has no provider for: the client sends the
  // credential under such a scheme here, to reach the real refusal through both backends.
  // (The server answers the connect before it reads the credentials, so on both backends
  // ready() has resolved by the time the refusal comes.)
  it('a session whose credentials the server refuses reports AUTH_FAILED and closes', async () => {
    const unknownScheme = (backendName: BackendName, options: ClientOptions): ZkClient => {
      const client = createClient(backendName, options);
      const addAuthInfo = client.addAuthInfo.bind(client);
      client.addAuthInfo = (auth) => addAuthInfo({ ...auth, scheme: 'no-such-scheme' as 'digest' });
      return client;
    };
    const refused = new Session({ connect: zkConnect(), backend, auth: { scheme: 'digest', credential: owner }, runtime: { createClient: unknownScheme } });
    defer(() => refused.close());
    const reported = nextEvent(refused, 'error');
    const closed = nextEvent(refused, 'closed');
    expect(await reported).toMatchObject({ code: 'AUTH_FAILED', message: expect.stringContaining('check the auth option') });
    await closed;
    expect(refused.state).toBe('closed');
  });

  it('with auth and a digest ACL, only holders of the credential can read, join or delete', async () => {
    const path = uniquePath('acl');
    const auth = { scheme: 'digest' as const, credential: owner };
    // Runs last: the elections are stopped by then.
    defer(async () => {
      const cleaner = new Session({ connect: zkConnect(), auth });
      await removeTree(cleaner, path);
      await cleaner.close();
    });
    const leader = new LeaderElection({ path, connect: zkConnect(), backend, id: 'leader', auth, acl: digestAcl(owner) });
    defer(() => leader.stop());
    const term = nextEvent(leader, 'elected');
    await leader.start();
    await term;
    const leaderNode = `${path}/${leader.nodeName}`;

    for (const credential of [undefined, 'owner:wrong', 'intruder:s3cret']) {
      const outsider = new Session({ connect: zkConnect(), backend, ...(credential ? { auth: { scheme: 'digest' as const, credential } } : {}) });
      defer(() => outsider.close());
      await outsider.ready();
      await expect(outsider.getData(leaderNode)).rejects.toMatchObject({ code: 'NO_AUTH' });
      await expect(outsider.remove(leaderNode)).rejects.toMatchObject({ code: 'NO_AUTH' });
      await expect(outsider.getChildren(path)).rejects.toMatchObject({ code: 'NO_AUTH' });
      const joiner = new LeaderElection({ path, session: outsider, id: 'outsider' });
      joiner.on('error', () => {});
      await expect(joiner.start()).rejects.toMatchObject({ code: 'NO_AUTH', message: expect.stringContaining('pass the matching `auth` credential') });
    }
    expect(leader.isLeader).toBe(true);

    const member = new LeaderElection({ path, connect: zkConnect(), backend, id: 'member', auth, acl: digestAcl(owner) });
    defer(() => member.stop());
    await member.start();
    expect((await member.participants()).map((participant) => participant.id)).toEqual(['leader', 'member']);
  });

  it('refuses to join a path protected by an ACL it holds no credential for (NO_AUTH)', async () => {
    const path = uniquePath('noauth');
    const owner = { scheme: 'digest' as const, credential: 'owner:s3cret' };
    const guarded = new Session({ connect: zkConnect(), auth: owner, backend });
    defer(() => guarded.close());
    await guarded.ensurePath(path, digestAcl(owner.credential));

    const intruder = participant(path, { id: 'intruder' });
    await expect(intruder.start()).rejects.toMatchObject({ code: 'NO_AUTH', message: expect.stringContaining('auth') });

    const member = participant(path, { id: 'member', auth: owner, acl: digestAcl(owner.credential) });
    await member.start();
    expect((await member.participants()).map((p) => p.id)).toEqual(['member']);
    const admin = await adminSession();
    await expect(admin.remove(`${path}/${member.nodeName}`)).rejects.toMatchObject({ code: 'NO_AUTH' });
    await admin.close();
    await member.stop();
    await removeTree(guarded, path);
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
});
