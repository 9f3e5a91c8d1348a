import { describe, expect, it } from 'vitest';
import { LeaderObserver } from '../../src/observer.js';
import { testResources } from '../support/resources.js';
import { backends, uniquePath } from '../support/zookeeper.js';

// Arguments the library refuses up front, in one line that says what to pass instead.

describe.each(backends)('arguments refused on %s', (backend) => {
  const { session } = testResources(backend);

  it('waitForLeader refuses a timeoutMs Node cannot time, instead of giving up after 1 ms', async () => {
    const observer = new LeaderObserver({ path: uniquePath('wait-too-long'), session: session() });
    for (const timeoutMs of [2 ** 31, Infinity]) {
      await expect(observer.waitForLeader({ timeoutMs })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: `timeoutMs must be a number of milliseconds >= 0 and <= 2147483647 (Node's longest timer, about 24.8 days): got ${timeoutMs}`,
      });
    }
    await observer.close();
  });

  it('ensurePath refuses a relative path instead of creating nodes somewhere else', async () => {
    const relative = uniquePath('relative-ensure').slice(1);
    const admin = session();
    await admin.ready();
    await expect(admin.ensurePath(relative)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining("must start with '/'") });
    // Where the unchecked path used to land: under its own name minus the first character.
    expect(await admin.exists(`/${relative.slice(1)}`)).toBeNull();
  });
});
