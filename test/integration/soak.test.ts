import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { LeaderElection } from '../../src/election.js';
import { Session } from '../../src/session.js';
import { nextEvent } from '../support/events.js';
import { adminSession, backends, removeTree, uniquePath, zkConnect } from '../support/zookeeper.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  for (let round = 0; round < 3; round++) gc();
  return process.memoryUsage().heapUsed;
}

const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe.each(backends)('resource hygiene on %s', (backend) => {
  const root = uniquePath('soak');
  afterAll(async () => {
    const admin = await adminSession();
    await removeTree(admin, root);
    await admin.close();
  });

  it('1,000 join/resign/stop cycles on one session leave heap, listeners and timers flat', async () => {
    const session = new Session({ connect: zkConnect(), backend });
    await session.ready();
    const path = `${root}/${backend}`;
    const listeners = () => session.eventNames().reduce((sum, name) => sum + session.listenerCount(name), 0);
    const cycle = async () => {
      const election = new LeaderElection({ path, session });
      const first = nextEvent(election, 'elected');
      await election.start();
      await first;
      const second = nextEvent(election, 'elected');
      await election.resign();
      await second;
      await election.stop();
    };
    for (let index = 0; index < 100; index++) await cycle(); // warm up: JIT, pools, caches
    const heapBefore = heapAfterGc();
    const listenersBefore = listeners();
    const timersBefore = timers();
    for (let index = 0; index < 1000; index++) await cycle();
    const heapAfter = heapAfterGc();
    console.log(`soak ${backend}: heap ${(heapBefore / 1e6).toFixed(1)} MB -> ${(heapAfter / 1e6).toFixed(1)} MB after 1,000 cycles`);
    expect(heapAfter).toBeLessThan(heapBefore * 1.1);
    expect(listeners()).toBe(listenersBefore);
    expect(timers()).toBeLessThanOrEqual(timersBefore);
    expect(await session.getChildren(path)).toEqual([]);
    await session.close();
  }, 180_000);
});
