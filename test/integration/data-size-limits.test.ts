import { describe, expect, it } from 'vitest';
import { LeaderElection } from '../../src/election.js';
import { electionFixture } from '../support/election.js';
import { nextEvent } from '../support/events.js';
import { testResources } from '../support/resources.js';
import { backends, uniquePath, zkConnect } from '../support/zookeeper.js';

// The data a participant publishes against the server's jute.maxbuffer: refused at construction
// over it, accepted up to it, and a server that closes the connection over it is not retried
// for ever.

describe.each(backends)('data size limits on %s', (backend) => {
  const { admin } = testResources(backend);
  const participant = electionFixture(backend);

  it("data over what a default server's jute.maxbuffer accepts is refused at construction, in one line that names the limit and the option", () => {
    const make = (bytes: number, juteMaxBufferBytes?: number) =>
      new LeaderElection({
        path: '/services/leader',
        connect: zkConnect(),
        backend,
        data: 'x'.repeat(bytes),
        ...(juteMaxBufferBytes ? { juteMaxBufferBytes } : {}),
      });
    expect(() => make(1_048_500)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/jute\.maxbuffer.*juteMaxBufferBytes/) }),
    );
    expect(() => make(1_048_500)).not.toThrow(/\n/);
    expect(() => make(1_048_500, 2 * 1024 * 1024)).not.toThrow();
    expect(() => make(1_000, 1_000)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    if (backend === 'node-zookeeper-client') {
      expect(() => make(1_048_577, 4 * 1024 * 1024)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('node-zookeeper-client') }),
      );
    }
  });

  it('the largest data the library accepts is what a default server accepts: it leads with it, and one byte more is refused by both', async () => {
    const path = uniquePath('largest-data');
    // Largest accepted by the constructor, found from above.
    let bytes = 1_048_576;
    const accepts = (size: number) => {
      try {
        new LeaderElection({ path, connect: zkConnect(), backend, id: 'big', data: 'x'.repeat(size) });
        return true;
      } catch {
        return false;
      }
    };
    while (!accepts(bytes)) bytes -= 1;
    const big = participant(path, { id: 'big', data: 'x'.repeat(bytes) });
    const leads = nextEvent(big, 'elected');
    await big.start();
    await leads;
    expect(accepts(bytes + 1)).toBe(false);
    // The server itself drops the connection for one byte more on a path of the same length.
    const operator = await admin();
    const sameLength = `${path}/${big.nodeName!.replace(/\d{10}$/, '').replace(/./g, 'y')}`;
    const payload = Buffer.from(JSON.stringify({ id: 'big', data: 'x'.repeat(bytes + 1) }));
    await expect(operator.create(sameLength, payload, 'ephemeral-sequential')).rejects.toMatchObject({ code: 'CONNECTION_LOSS' });
  });

  it('an election whose create the server answers by closing the connection gives up after a few tries with REQUEST_TOO_LARGE', async () => {
    const path = uniquePath('too-large-for-server');
    // The option claims a server with a larger jute.maxbuffer than the test server has.
    // Under node-zookeeper-client's own limit of 1 MiB of data, over a default server's limit.
    const election = participant(path, { id: 'big', data: 'x'.repeat(1_048_540), juteMaxBufferBytes: 4 * 1024 * 1024 });
    await expect(election.start()).rejects.toMatchObject({ code: 'REQUEST_TOO_LARGE', message: expect.stringContaining('jute.maxbuffer') });
    expect(election.session.requestCounts.create ?? 0, 'creates sent').toBeLessThanOrEqual(5);
  });
});
