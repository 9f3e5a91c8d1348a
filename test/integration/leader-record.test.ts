import { afterEach, describe, expect, it } from 'vitest';
import { parseLeaderRecord, publishLeaderRecord } from '../../src/leader-record.js';
import { Session } from '../../src/session.js';
import { adminSession, backends, removeTree, uniquePath, zkConnect } from '../support/zookeeper.js';

describe.each(backends)('the leader record on %s', (backend) => {
  const sessions: Session[] = [];
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((session) => session.close()));
  });

  it('never goes back to an older leader: a late write from a previous leader is dropped', async () => {
    const path = uniquePath('leader-record');
    const session = new Session({ connect: zkConnect(), backend });
    sessions.push(session);
    await session.ready();
    await session.ensurePath(path);
    const scope = session.scope!;
    expect(await publishLeaderRecord(scope, path, { node: 'b', id: 'b', token: 20n, since: 2 })).toBe(true);
    // The previous leader's write, held up and arriving late.
    expect(await publishLeaderRecord(scope, path, { node: 'a', id: 'a', token: 10n, since: 1 })).toBe(false);
    expect(parseLeaderRecord((await session.getData(path)).data)).toEqual({ node: 'b', token: 20n });
    expect(await publishLeaderRecord(scope, path, { node: 'c', id: 'c', token: 30n, since: 3 })).toBe(true);
    expect(parseLeaderRecord((await session.getData(path)).data)).toEqual({ node: 'c', token: 30n });
    const admin = await adminSession();
    await removeTree(admin, path);
    await admin.close();
  });
});
