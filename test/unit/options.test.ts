import { describe, expect, it } from 'vitest';
import { digestAcl } from '../../src/acl.js';
import { decodePayload, encodePayload } from '../../src/candidate.js';
import { Permission, openAcl } from '../../src/client/types.js';
import { LeaderElection } from '../../src/election.js';
import { Membership } from '../../src/membership.js';
import { LeaderObserver } from '../../src/observer.js';
import { Session } from '../../src/session.js';
import { EnsembleMonitor } from '../../src/dashboard/ensemble.js';
import { startDashboard } from '../../src/dashboard/server.js';
import { ClusterView } from '../../src/dashboard/view.js';
import { expireSession, startZooKeeper } from '../../src/testing/index.js';

const connect = '127.0.0.1:2181';

describe('LeaderElection options', () => {
  it.each([
    [{ path: 'jobs/leader', connect }, "path must start with '/'"],
    [{ path: '/jobs/leader/', connect }, "must not end with '/'"],
    [{ path: '/jobs', connect, id: 'a/b' }, "id must not contain '/'"],
    [{ path: '/jobs', connect, id: '' }, 'id must be a non-empty string'],
    [{ path: '/jobs' }, 'needs connect'],
    [{ path: '/jobs', connect: '' }, 'connect must be a ZooKeeper connect string'],
    [{ path: '/jobs', connect: 'host:port:x' }, 'malformed server'],
    [{ path: '/jobs', connect, onSuspend: 'sometimes' }, "onSuspend must be 'release' or 'hold'"],
    [{ path: '/jobs', connect, takeoverDelayMs: -1 }, 'takeoverDelayMs must be a number of milliseconds >= 0 and <= 2147483647'],
    [{ path: '/jobs', connect, sessionTimeoutMs: 0 }, 'sessionTimeoutMs must be a number of milliseconds > 0 and <= 2147483647'],
    [{ path: '/jobs', connect, backend: 'curator' }, "backend must be one of 'node-zookeeper-client', 'zookeeper', 'builtin'"],
    [{ path: '/jobs', connect, auth: { scheme: 'digest', credential: 'nopassword' } }, "credential: 'user:password'"],
  ])('rejects %j at construction', (options, message) => {
    expect(() => new LeaderElection(options as never)).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(message) }),
    );
  });

  it('rejects data that JSON cannot carry', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => new LeaderElection({ path: '/jobs', connect, data: cyclic })).toThrow(/data must be JSON-serializable/);
    expect(() => new LeaderElection({ path: '/jobs', connect, data: 10n })).toThrow(/data must be JSON-serializable/);
  });

  it('rejects data larger than a znode holds', () => {
    const data = 'x'.repeat(1024 * 1024);
    expect(() => new LeaderElection({ path: '/jobs', connect, data })).toThrow(/over the server's jute.maxbuffer of 1048575: publish at most \d+ bytes/);
    // node-zookeeper-client caps the data itself, below the server's limit.
    expect(() => new LeaderElection({ path: '/jobs', connect, data, backend: 'node-zookeeper-client' })).toThrow(/sends at most 1048576 bytes/);
  });

  it('rejects connect and session together', () => {
    const session = Object.create(Session.prototype) as Session;
    // @ts-expect-error -- the type refuses both; plain JavaScript callers get the error at run time
    expect(() => new LeaderElection({ path: '/jobs', connect, session })).toThrow(/either connect or session/);
  });

  it('gives Membership and LeaderObserver the same session checks as LeaderElection', () => {
    const session = Object.create(Session.prototype) as Session;
    const both = { connect, session } as unknown as { session: Session };
    expect(() => new Membership(both)).toThrow(/either connect or session/);
    expect(() => new LeaderObserver({ path: '/jobs', ...both })).toThrow(/either connect or session/);
    const impostor = { session: { close() {} } } as unknown as { session: Session };
    expect(() => new Membership(impostor)).toThrow(/session must be a zk-leader Session/);
    expect(() => new LeaderObserver({ path: '/jobs', ...impostor })).toThrow(/session must be a zk-leader Session/);
  });

  it.each([
    ['sessionTimeoutMs', 30_000],
    ['connectTimeoutMs', 5_000],
    ['backend', 'builtin'],
    ['auth', { scheme: 'digest', credential: 'app:s3cret' }],
    ['juteMaxBufferBytes', 4 * 1024 * 1024],
    ['tls', { ca: 'ca.pem' }],
    ['sasl', { mechanism: 'DIGEST-MD5', username: 'app', password: 's3cret' }],
  ])('refuses %s beside a shared session, in LeaderElection, Membership and LeaderObserver alike', (name, value) => {
    const session = Object.create(Session.prototype) as Session;
    const options = { session, [name]: value } as unknown as { session: Session };
    const refusal = expect.objectContaining({
      code: 'INVALID_ARGUMENT',
      message: `${name} is for an own session: pass it to the shared Session instead (new Session({ connect, ${name} }))`,
    });
    expect(() => new LeaderElection({ path: '/jobs', ...options })).toThrowError(refusal);
    expect(() => new Membership(options)).toThrowError(refusal);
    expect(() => new LeaderObserver({ path: '/jobs', ...options })).toThrowError(refusal);
  });

  it('takes a logger beside a shared session (the component logs itself), and retry for an election (it retries its own steps)', () => {
    const session = new Session({ connect });
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    expect(() => new LeaderElection({ path: '/jobs', session, logger, retry: { maxMs: 1_000 } })).not.toThrow();
    expect(() => new Membership({ session, logger })).not.toThrow();
    expect(() => new LeaderObserver({ path: '/jobs', session, logger })).not.toThrow();
  });

  it('connects nothing until start(), and stop() before start() is a no-op', async () => {
    const election = new LeaderElection({ path: '/jobs', connect });
    expect(() => election.session).toThrow(/before start/);
    await election.stop();
    await expect(election.start()).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });
});

describe('the backend', () => {
  it("is zk-leader's own client unless a session names another", async () => {
    const sessions = [new Session({ connect }), new Session({ connect, backend: 'node-zookeeper-client' })];
    expect(sessions.map((session) => session.backend)).toEqual(['builtin', 'node-zookeeper-client']);
    await Promise.all(sessions.map((session) => session.close()));
  });
});

describe('option names', () => {
  it('refuses a misspelled option, naming the one it was probably meant to be', () => {
    const misspelled = { path: '/jobs', connect, sesionTimeoutMs: 3000 } as unknown as { path: string; connect: string };
    expect(() => new LeaderElection(misspelled)).toThrow("LeaderElection has no option 'sesionTimeoutMs': did you mean 'sessionTimeoutMs'?");
    expect(() => new Session({ connect, backnd: 'builtin' } as unknown as { connect: string })).toThrow(
      "Session has no option 'backnd': did you mean 'backend'?",
    );
    expect(() => new LeaderObserver({ path: '/jobs', connect, pth: '/x' } as unknown as { path: string; connect: string })).toThrow(/did you mean 'path'\?/);
    expect(() => new Membership({ connect, reportEveryMS: 5000 } as unknown as { connect: string })).toThrow(/did you mean 'reportEveryMs'\?/);
  });

  it('lists the options when an unknown one resembles none of them', () => {
    const strange = { path: '/jobs', connect, colour: 'blue' } as unknown as { path: string; connect: string };
    expect(() => new LeaderElection(strange)).toThrow(/has no option 'colour'; its options are path, connect, session, id/);
  });

  it('makes connect or session required by the type, not only at run time', () => {
    // @ts-expect-error -- neither connect nor session: a compile error for TypeScript callers
    expect(() => new LeaderElection({ path: '/jobs' })).toThrow(/needs connect/);
  });
});

describe('millisecond options', () => {
  const tooLong = 2 ** 31;
  const range = (atLeast: string) => `must be a number of milliseconds ${atLeast} and <= 2147483647 (Node's longest timer, about 24.8 days)`;
  // Node runs a timer of 2^31 ms or more, or of Infinity or NaN, after 1 ms.
  it.each([
    ['takeoverDelayMs', 'Infinity', Infinity, `takeoverDelayMs ${range('>= 0')}: got Infinity`],
    ['takeoverDelayMs', '2147483648', tooLong, `takeoverDelayMs ${range('>= 0')}: got 2147483648`],
    ['takeoverDelayMs', 'NaN', Number.NaN, `takeoverDelayMs ${range('>= 0')}: got NaN`],
    ['connectTimeoutMs', '3e9', 3e9, `connectTimeoutMs ${range('> 0')}: got 3000000000`],
    ['sessionTimeoutMs', 'Infinity', Infinity, `sessionTimeoutMs ${range('> 0')}: got Infinity`],
    ['sessionTimeoutMs', '"10000"', '10000', `sessionTimeoutMs ${range('> 0')}: got "10000"`],
    ['retry', '{ initialMs: 2^31 }', { initialMs: tooLong }, `retry.initialMs ${range('>= 0')}: got 2147483648`],
    ['retry', '{ maxMs: Infinity }', { maxMs: Infinity }, `retry.maxMs ${range('>= 0')}: got Infinity`],
  ])('LeaderElection refuses %s: %s, which Node cannot time', (option, _shown, value, message) => {
    expect(() => new LeaderElection({ path: '/jobs', connect, [option]: value })).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT', message }));
  });

  it.each([
    ['connectTimeoutMs', '3e9', 3e9, 'connectTimeoutMs'],
    ['sessionTimeoutMs', '2^31', tooLong, 'sessionTimeoutMs'],
    ['retry', '{ maxMs: 2^31 }', { maxMs: tooLong }, 'retry.maxMs'],
  ])('Session refuses %s: %s in the same words', (option, _shown, value, name) => {
    expect(() => new Session({ connect, [option]: value })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(`${name} ${range(name === 'retry.maxMs' ? '>= 0' : '> 0')}`) }),
    );
  });

  it.each([Infinity, tooLong, Number.NaN, -1])('Membership refuses reportEveryMs: %s in the same words', (reportEveryMs) => {
    const session = Object.create(Session.prototype) as Session;
    expect(() => new Membership({ session, reportEveryMs })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: `reportEveryMs ${range('>= 0')}: got ${reportEveryMs}` }),
    );
  });

  it.each([
    ['staleAfterMs', 0, '> 0'],
    ['staleAfterMs', Infinity, '> 0'],
    ['settleMs', -1, '>= 0'],
    ['settleMs', tooLong, '>= 0'],
  ])("the dashboard's ClusterView refuses %s: %s in the same words", (option, value, atLeast) => {
    const session = Object.create(Session.prototype) as Session;
    expect(() => new ClusterView({ session, root: '/', [option]: value })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: `${option} ${range(atLeast)}: got ${value}` }),
    );
  });

  it.each([
    ['pollMs', 0],
    ['answerTimeoutMs', Number.NaN],
  ])("the dashboard's EnsembleMonitor refuses %s: %s in the same words", (option, value) => {
    expect(() => new EnsembleMonitor({ servers: [], [option]: value })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: `${option} ${range('> 0')}: got ${value}` }),
    );
  });

  it('startDashboard refuses ensemblePollMs in the same words', async () => {
    const session = Object.create(Session.prototype) as Session;
    await expect(startDashboard({ session, root: '/', ensemblePollMs: -1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: `ensemblePollMs ${range('>= 0')}: got -1`,
    });
  });

  it('zk-leader/testing refuses them in the same words', async () => {
    // ZK_CONNECT: nothing is started, whatever the options say.
    const env = { ZK_CONNECT: '127.0.0.1:1' };
    for (const option of ['tickTimeMs', 'startTimeoutMs', 'maxSessionTimeoutMs']) {
      await expect(startZooKeeper({ env, [option]: Infinity })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: `${option} ${range('> 0')}: got Infinity`,
      });
    }
    const credentials = { id: '0'.repeat(16), password: Buffer.alloc(16) };
    await expect(expireSession('127.0.0.1:1', credentials, tooLong)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: `timeoutMs ${range('> 0')}: got 2147483648`,
    });
  });

  it('takes the longest delay Node can time, and 0 where 0 means none', () => {
    expect(
      () => new LeaderElection({ path: '/jobs', connect, takeoverDelayMs: 2 ** 31 - 1, connectTimeoutMs: 2 ** 31 - 1, retry: { initialMs: 0, maxMs: 0 } }),
    ).not.toThrow();
  });
});

describe('acl', () => {
  const what = "acl must be a non-empty list of { scheme, id, permissions } entries, such as digestAcl('user:password') or openAcl";
  it.each([
    ['a string', 'world:anyone:cdrwa', `${what}: got "world:anyone:cdrwa"`],
    ['an empty list', [], `${what}: got []`],
    ['an entry that is not an object', ['world:anyone'], 'acl[0] must be { scheme, id, permissions }: got "world:anyone"'],
    ['an entry without a scheme', [{ id: 'anyone', permissions: 31 }], "acl[0].scheme must be a non-empty string such as 'world' or 'digest': got undefined"],
    ['an entry without an id', [{ scheme: 'world', permissions: 31 }], "acl[0].id must be a string such as 'anyone' or 'user:base64sha1': got undefined"],
    [
      'a digest entry with the password itself',
      [{ scheme: 'digest', id: 'user:secret', permissions: 31 }],
      "acl[0].id of a digest entry is 'user:' and the base64 SHA-1 of 'user:password', not the password: use digestAcl('user:password')",
    ],
    ['permissions of 0', [{ scheme: 'world', id: 'anyone', permissions: 0 }], 'acl[0].permissions must be a whole number from 1 to 31'],
    ['permissions of 32', [{ scheme: 'world', id: 'anyone', permissions: 32 }], 'acl[0].permissions must be a whole number from 1 to 31'],
    ['permissions as letters', [...openAcl, { scheme: 'world', id: 'anyone', permissions: 'cdrwa' }], 'acl[1].permissions must be a whole number from 1 to 31'],
  ])('LeaderElection and Membership refuse %s, saying what to pass', (_what, acl, message) => {
    const session = Object.create(Session.prototype) as Session;
    for (const make of [() => new LeaderElection({ path: '/jobs', connect, acl: acl as never }), () => new Membership({ session, acl: acl as never })]) {
      expect(make).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(message) }));
    }
  });

  it('takes openAcl, digestAcl and entries of its own', () => {
    for (const acl of [openAcl, digestAcl('user:secret'), [{ scheme: 'ip', id: '127.0.0.1', permissions: Permission.read | Permission.write }]]) {
      expect(() => new LeaderElection({ path: '/jobs', connect, acl })).not.toThrow();
    }
  });

  it('digestAcl refuses a credential without a password, and permissions out of range', () => {
    expect(() => digestAcl('nopassword')).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining("digestAcl needs 'user:password'") }),
    );
    expect(() => digestAcl('user:secret', 64)).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('permissions must be a whole number from 1 to 31') }),
    );
  });
});

describe('releaseOnSignals', () => {
  it.each([
    ['SIGTERM', 'releaseOnSignals must be true, false or a list of signal names such as [\'SIGTERM\']: got "SIGTERM"'],
    [['SIGKILL'], 'releaseOnSignals cannot include SIGKILL: no process can handle it'],
    [['SIGSTOP'], 'releaseOnSignals cannot include SIGSTOP: no process can handle it'],
    [['SIGSEGV'], 'releaseOnSignals cannot include SIGSEGV'],
    [['SIGTERM', 'TERM'], "releaseOnSignals has 'TERM', which is not a signal name here (such as 'SIGTERM')"],
    [[15], 'releaseOnSignals has 15, which is not a signal name here'],
    [{ SIGTERM: true }, 'releaseOnSignals must be true, false or a list of signal names'],
  ])('refuses %j at construction, before anything runs', (releaseOnSignals, message) => {
    expect(() => new LeaderElection({ path: '/jobs', connect, releaseOnSignals: releaseOnSignals as never })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(message) }),
    );
  });

  it('takes true, false, an empty list and the signals a process can handle', () => {
    const accepted: (boolean | NodeJS.Signals[])[] = [true, false, [], ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR2']];
    for (const releaseOnSignals of accepted) expect(() => new LeaderElection({ path: '/jobs', connect, releaseOnSignals })).not.toThrow();
  });
});

describe('connect strings', () => {
  it.each([
    ['127.0.0.1:99999', "bad port '99999'"],
    ['127.0.0.1:65536', "bad port '65536'"],
    ['127.0.0.1:0', "bad port '0'"],
    ['127.0.0.1:21x81', "bad port '21x81'"],
    ['127.0.0.1:', "bad port ''"],
    ['127.0.0.1:2181,,127.0.0.2:2181', 'an empty server'],
    [',127.0.0.1:2181', 'an empty server'],
    [':2181', "no host before ':2181'"],
    ['/app', 'no server'],
    ['zk one:2181', "malformed host 'zk one'"],
    ['127.0.0.1:2181/app/', 'the chroot'],
    ['127.0.0.1:2181/app//x', 'the chroot'],
  ])('refuses %j in one line that says why', (connect, why) => {
    const refusal = (() => {
      try {
        new LeaderElection({ path: '/jobs', connect });
      } catch (error) {
        return error as Error & { code: string };
      }
      throw new Error('accepted');
    })();
    expect(refusal).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(why) });
    expect(refusal.message).toContain(`'${connect}'`);
    expect(refusal.message).not.toContain('\n');
  });

  it('gives every server a port (2181 unless said) and drops the blanks around commas', async () => {
    const session = new Session({ connect: ' 127.0.0.1 , 127.0.0.2:2182/app', connectTimeoutMs: 100 });
    expect(session.connectString).toBe('127.0.0.1:2181,127.0.0.2:2182/app');
    await session.close();
  });
});

describe('candidate payloads', () => {
  it('round-trip id and data', () => {
    expect(decodePayload(encodePayload({ id: 'a', data: { port: 80 } }), 'node')).toEqual({ id: 'a', data: { port: 80 } });
  });

  it('read data written by other programs as raw text under the node name', () => {
    expect(decodePayload(Buffer.from('10.0.0.1'), 'n_1')).toEqual({ id: 'n_1', data: '10.0.0.1' });
    expect(decodePayload(Buffer.alloc(0), 'n_1')).toEqual({ id: 'n_1', data: null });
  });
});
