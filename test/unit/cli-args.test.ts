import { describe, expect, it } from 'vitest';
import { parseCli, type CliRequest } from '../../src/cli/args.js';

const noFile = (path: string): string => {
  throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' });
};
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}, readFile = noFile): CliRequest => parseCli(argv, env, '1.2.3', readFile);
const config = (request: CliRequest) => {
  if (request.kind !== 'run') throw new Error(`expected a run, got ${JSON.stringify(request)}`);
  return request.config;
};

describe('the command line', () => {
  it('--version prints the version, with or without a command', () => {
    expect(parse(['--version'])).toEqual({ kind: 'print', text: '1.2.3' });
    expect(parse(['status', '/x', '--version'])).toEqual({ kind: 'print', text: '1.2.3' });
  });

  it('--help after a command describes that command; alone, all of them', () => {
    const status = parse(['status', '--help']);
    expect(status.kind).toBe('print');
    expect((status as { text: string }).text).toMatch(/^usage: zk-leader status <election path>/);
    expect((parse(['list', '--help']) as { text: string }).text).toMatch(/^usage: zk-leader list <root>/);
    expect((parse(['--help']) as { text: string }).text).toMatch(/^usage: zk-leader <command>[\s\S]*watch <path>/);
  });

  it('takes credentials from ZK_AUTH without a warning', () => {
    const read = config(parse(['status', '/x'], { ZK_CONNECT: 'h:2181', ZK_AUTH: 'alice:secret' }));
    expect(read.auth).toBe('alice:secret');
    expect(read.warnings).toEqual([]);
  });

  it('takes credentials from the first line of --auth-file, ahead of ZK_AUTH', () => {
    const files: Record<string, string> = { '/run/secrets/zk': 'bob:hunter2\n' };
    const read = config(
      parse(['status', '/x', '--auth-file', '/run/secrets/zk'], { ZK_CONNECT: 'h:2181', ZK_AUTH: 'alice:secret' }, (path) => files[path] ?? noFile(path)),
    );
    expect(read.auth).toBe('bob:hunter2');
    expect(read.warnings).toEqual([]);
  });

  it('keeps --auth but warns that other users can read it', () => {
    const read = config(parse(['status', '/x', '--connect', 'h:2181', '--auth', 'carol:pw']));
    expect(read.auth).toBe('carol:pw');
    expect(read.warnings).toEqual([expect.stringMatching(/--auth puts the password where other users can read it .*use ZK_AUTH or --auth-file/)]);
  });

  it('refuses bad credentials in one line that says what to do', () => {
    const env = { ZK_CONNECT: 'h:2181' };
    expect(parse(['status', '/x', '--auth-file', '/nope'], env)).toEqual({ kind: 'usage-error', message: 'cannot read --auth-file /nope: ENOENT' });
    expect(parse(['status', '/x', '--auth-file', '/f'], env, () => 'no colon here\n')).toEqual({
      kind: 'usage-error',
      message: "--auth-file /f must hold 'user:password' on its first line",
    });
    expect(parse(['status', '/x', '--auth-file', '/f', '--auth', 'a:b'], env)).toEqual({
      kind: 'usage-error',
      message: 'give --auth-file or --auth, not both',
    });
    expect(parse(['status', '/x'], { ...env, ZK_AUTH: 'nocolon' })).toEqual({ kind: 'usage-error', message: "ZK_AUTH must be 'user:password'" });
  });

  it('refuses a missing command, path or server, and an unknown flag', () => {
    expect(parse([])).toEqual({ kind: 'usage-error', message: 'no command given' });
    expect(parse(['elect', '/x'])).toEqual({ kind: 'usage-error', message: "unknown command 'elect'" });
    expect(parse(['status'])).toMatchObject({ kind: 'usage-error', message: expect.stringContaining('status needs a path') });
    expect(parse(['status', '/x'])).toMatchObject({ kind: 'usage-error', message: expect.stringContaining('set ZK_CONNECT') });
    expect(parse(['status', '/x', '--colour'])).toMatchObject({ kind: 'usage-error', message: expect.stringContaining("Unknown option '--colour'") });
  });

  it('dashboard: --root, any number of --group, port 7070 on 127.0.0.1 unless told', () => {
    const env = { ZK_CONNECT: 'zk:2181' };
    expect(config(parse(['dashboard', '--root', '/services', '--group', '/a', '--group', '/b'], env))).toMatchObject({
      command: 'dashboard',
      target: '/services',
      groups: ['/a', '/b'],
      http: { port: 7070, host: '127.0.0.1' },
    });
    expect(config(parse(['dashboard', '--root', '/', '--port', '0', '--host', '::1'], env)).http).toEqual({ port: 0, host: '::1' });
    const withPassword = parse(['dashboard', '--root', '/', '--host', '10.0.0.5', '--basic-auth-file', '/etc/dash'], env, () => 'ops:pw\n');
    expect(config(withPassword).http).toEqual({ port: 7070, host: '10.0.0.5', basicAuth: 'ops:pw' });
  });

  it('dashboard refuses, in one line, a public address without a password and flags that make no sense', () => {
    const env = { ZK_CONNECT: 'zk:2181' };
    const refused = (argv: string[], readFile = noFile) => {
      const request = parse(argv, env, readFile);
      if (request.kind !== 'usage-error') throw new Error(`expected a refusal, got ${JSON.stringify(request)}`);
      expect(request.message).not.toContain('\n');
      return request.message;
    };
    expect(refused(['dashboard', '--root', '/', '--host', '0.0.0.0'])).toMatch(/^refusing to serve on 0\.0\.0\.0 without a password.*--basic-auth-file/);
    expect(refused(['dashboard'])).toContain('dashboard needs --root');
    expect(refused(['dashboard', '/services'])).toContain('dashboard takes its path as --root');
    expect(refused(['dashboard', '--root', '/', '--port', '99999'])).toContain('--port takes a port number');
    expect(refused(['dashboard', '--root', '/', '--basic-auth-file', '/nope'])).toContain('cannot read --basic-auth-file /nope: ENOENT');
    expect(refused(['dashboard', '--root', '/', '--basic-auth-file', '/f'], () => 'nocolon\n')).toContain("must hold 'user:password'");
    expect(refused(['status', '/x', '--port', '80'])).toBe('--port is for the dashboard command, not status');
    expect(refused(['status', '/x', '--group', '/a', '--group', '/b'])).toBe('status takes one --group: got 2');
  });

  it.each(['3000000000', 'Infinity', '0', '1.5'])('refuses --timeout %s: a whole number of milliseconds Node can time', (timeout) => {
    expect(parse(['status', '/x', '--connect', 'h:2181', '--timeout', timeout])).toEqual({
      kind: 'usage-error',
      message: `--timeout takes a whole number of milliseconds from 1 to 2147483647: got '${timeout}'`,
    });
  });

  it('--tls-ca, --tls-cert and --tls-key read whole PEM files, on the default backend, builtin', () => {
    const files: Record<string, string> = { '/ca.pem': 'CA\nPEM\n', '/c.pem': 'CERT\n', '/c.key': 'KEY\n' };
    const read = (path: string) => files[path] ?? noFile(path);
    const tls = config(parse(['status', '/x', '--connect', 'h:2281', '--tls-ca', '/ca.pem', '--tls-cert', '/c.pem', '--tls-key', '/c.key'], {}, read));
    expect(tls).toMatchObject({ backend: 'builtin', tls: { ca: 'CA\nPEM\n', cert: 'CERT\n', key: 'KEY\n' } });
    expect(config(parse(['status', '/x', '--connect', 'h:2181'])).backend).toBe('builtin');
    expect(config(parse(['status', '/x', '--connect', 'h:2181', '--backend', 'node-zookeeper-client'])).backend).toBe('node-zookeeper-client');
    expect(parse(['status', '/x', '--connect', 'h', '--tls-ca', '/ca.pem', '--backend', 'zookeeper'], {}, read)).toEqual({
      kind: 'usage-error',
      message: "--tls-ca needs --backend builtin (the only backend with TLS): got 'zookeeper'",
    });
    expect(parse(['status', '/x', '--connect', 'h', '--tls-cert', '/c.pem'], {}, read)).toMatchObject({ message: expect.stringContaining('go together') });
    expect(parse(['status', '/x', '--connect', 'h', '--tls-ca', '/nope'], {}, read)).toMatchObject({ message: 'cannot read --tls-ca /nope: ENOENT' });
  });
});
