import { parseArgs } from 'node:util';
import type { BackendName } from '../client/types.js';
import { defaultBackend } from '../client/index.js';
import { refusalToServe } from '../dashboard/address.js';
import { maxTimerMs } from '../options.js';

/** What a command line asks for, once read and checked. */
export interface CliConfig {
  command: 'status' | 'watch' | 'list' | 'dashboard';
  target: string;
  connect: string;
  timeoutMs: number;
  backend: BackendName;
  /** Digest credentials `user:password`, from --auth-file, --auth or ZK_AUTH. */
  auth?: string;
  /** TLS to the servers' secureClientPort: PEM text read from --tls-ca, --tls-cert, --tls-key. */
  tls?: { ca?: string; cert?: string; key?: string };
  group?: string;
  /** dashboard: every --group given. */
  groups: string[];
  /** dashboard: where to serve. */
  http?: { port: number; host: string; basicAuth?: string };
  json: boolean;
  /** Lines for stderr before running (a password given on the command line). */
  warnings: string[];
}

/** The outcome of reading a command line: run, print something and exit 0, or exit 2. */
export type CliRequest = { kind: 'run'; config: CliConfig } | { kind: 'print'; text: string } | { kind: 'usage-error'; message: string };

const commonOptions = `options:
  --connect <hosts>     ZooKeeper connect string (default: $ZK_CONNECT)
  --auth-file <path>    digest credentials 'user:password' read from a file (or set $ZK_AUTH)
  --auth <user:pw>      the same on the command line: visible to other users in ps, avoid it
  --backend <name>      builtin (default: zk-leader's own), node-zookeeper-client or zookeeper (the native client)
  --tls-ca <path>       TLS to the servers' secureClientPort, trusting this CA (PEM); builtin backend only
  --tls-cert <path>     with --tls-key: a client certificate (PEM) for servers that require one (mTLS)
  --tls-key <path>      the client certificate's private key (PEM)
  --timeout <ms>        how long to wait for a connection (default 5000)
  --json                machine-readable output
  --help                this text
  --version             the zk-leader version`;

const exitCodes = 'exit codes: 0 ok, 1 no leader (or nothing found), 2 usage or connection error';

/** The overall usage text (`zk-leader --help`). */
export const usage = `usage: zk-leader <command> [options]

commands:
  status <path>   the leader and the queue of an election (and a group's members with --group)
  watch <path>    the same, live: one line per change, until Ctrl+C
  list <root>     every election under <root> with its leader
  dashboard       a live page of every election under --root (and groups), in the browser

${commonOptions}
  --group <path>        also show the members of this group (status, watch)

'zk-leader <command> --help' describes one command.
${exitCodes}`;

const commandUsage: Record<CliConfig['command'], string> = {
  status: `usage: zk-leader status <election path> [--group <path>] [options]

Prints the leader (id, fencing token, session, how long it has led) and the queue behind it,
and with --group the members of that group with their status and health. Exits 1 when the
election has no leader.

${commonOptions}
  --group <path>        also show the members of this group

${exitCodes}`,
  watch: `usage: zk-leader watch <election path> [--group <path>] [options]

Prints the election (and with --group the group) once, then one line per change, driven by
ZooKeeper watches, until Ctrl+C.

${commonOptions}
  --group <path>        also follow the members of this group

${exitCodes}`,
  dashboard: `usage: zk-leader dashboard --root <path> [--group <path>...] [--port 7070] [--host 127.0.0.1] [options]

Serves one page that shows every election under --root (leader, token, term, queue), each
--group's members with their health, and a timeline of changes, pushed to the browser as
ZooKeeper's watches fire. Read-only; one ZooKeeper session serves every open page. Binds to
127.0.0.1 unless --host says otherwise; any other address needs --basic-auth-file. Runs
until Ctrl+C; through a ZooKeeper outage the page says "disconnected" and it recovers.

${commonOptions}
  --root <path>         the elections to show: every one under this path
  --group <path>        also show this group's members (repeat for more groups)
  --port <n>            HTTP port (default 7070)
  --host <address>      address to bind (default 127.0.0.1)
  --basic-auth-file <path>
                        'user:password' on its first line: the page asks for it

${exitCodes}`,
  list: `usage: zk-leader list <root> [options]

Finds every election under <root> (any depth) and prints each with its leader and the number
of participants. Exits 1 when it finds none.

${commonOptions}

${exitCodes}`,
};

const commands = Object.keys(commandUsage) as CliConfig['command'][];
const backends: BackendName[] = ['node-zookeeper-client', 'zookeeper', 'builtin'];

/**
 * Reads a command line. Pure apart from `readFile` (for --auth-file), so every refusal is a
 * one-line message the caller prints before exiting 2.
 */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv, version: string, readFile: (path: string) => string): CliRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        connect: { type: 'string' },
        auth: { type: 'string' },
        'auth-file': { type: 'string' },
        backend: { type: 'string' },
        'tls-ca': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        group: { type: 'string', multiple: true },
        root: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'basic-auth-file': { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
        version: { type: 'boolean', default: false },
      },
      allowPositionals: true,
    });
  } catch (error) {
    return { kind: 'usage-error', message: (error as Error).message };
  }
  const { values, positionals } = parsed;
  if (values.version) return { kind: 'print', text: version };
  const [command, target, ...extra] = positionals;
  if (values.help) {
    if (command && commands.includes(command as CliConfig['command'])) return { kind: 'print', text: commandUsage[command as CliConfig['command']] };
    return { kind: 'print', text: usage };
  }
  const refuse = (message: string): CliRequest => ({ kind: 'usage-error', message });
  /** The first line (or all) of the file `flag` names, or the refusal that says why not. */
  const credentialsFile = (flag: string, path: string, firstLine = true): string | CliRequest => {
    try {
      const text = readFile(path);
      return firstLine ? text.split(/\r?\n/)[0]!.trim() : text;
    } catch (error) {
      return refuse(`cannot read ${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  if (!command) return refuse('no command given');
  if (!commands.includes(command as CliConfig['command'])) return refuse(`unknown command '${command}'`);
  const groups = values.group ?? [];
  let http: CliConfig['http'];
  let root = target;
  if (command === 'dashboard') {
    if (target) return refuse(`dashboard takes its path as --root: got '${[target, ...extra].join("' '")}'`);
    if (!values.root) return refuse("dashboard needs --root, e.g. 'zk-leader dashboard --root /services'");
    root = values.root;
    const port = values.port === undefined ? 7070 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) return refuse(`--port takes a port number (0-65535): got '${values.port}'`);
    const host = values.host ?? '127.0.0.1';
    let basicAuth: string | undefined;
    if (values['basic-auth-file'] !== undefined) {
      const path = values['basic-auth-file'];
      const read = credentialsFile('--basic-auth-file', path);
      if (typeof read !== 'string') return read;
      basicAuth = read;
      if (!/^[^:]+:.+$/.test(basicAuth)) return refuse(`--basic-auth-file ${path} must hold 'user:password' on its first line`);
    }
    const refusal = refusalToServe(host, basicAuth !== undefined);
    if (refusal) return refuse(refusal);
    http = { port, host, ...(basicAuth !== undefined ? { basicAuth } : {}) };
  } else {
    for (const name of ['root', 'port', 'host', 'basic-auth-file'] as const) {
      if (values[name] !== undefined) return refuse(`--${name} is for the dashboard command, not ${command}`);
    }
    if (!target) return refuse(`${command} needs a path, e.g. 'zk-leader ${command} /services/scheduler'`);
    if (extra.length > 0) return refuse(`${command} takes one path: got also '${extra.join("' '")}'`);
    if (groups.length > 1) return refuse(`${command} takes one --group: got ${groups.length}`);
  }
  const connect = values.connect || env.ZK_CONNECT;
  if (!connect) return refuse('no ZooKeeper given: pass --connect host:port or set ZK_CONNECT');
  const timeoutMs = values.timeout === undefined ? 5000 : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > maxTimerMs) {
    return refuse(`--timeout takes a whole number of milliseconds from 1 to ${maxTimerMs}: got '${values.timeout}'`);
  }
  const tlsFlags = (['tls-ca', 'tls-cert', 'tls-key'] as const).filter((flag) => values[flag] !== undefined);
  const backend = (values.backend ?? defaultBackend) as BackendName;
  if (!backends.includes(backend)) return refuse(`--backend takes ${backends.join(' or ')}: got '${values.backend}'`);
  let tls: CliConfig['tls'];
  if (tlsFlags.length > 0) {
    if (backend !== 'builtin') return refuse(`--${tlsFlags[0]} needs --backend builtin (the only backend with TLS): got '${backend}'`);
    if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) return refuse('--tls-cert and --tls-key go together: give both or neither');
    tls = {};
    for (const flag of tlsFlags) {
      const read = credentialsFile(`--${flag}`, values[flag]!, false);
      if (typeof read !== 'string') return read;
      tls[flag === 'tls-ca' ? 'ca' : flag === 'tls-cert' ? 'cert' : 'key'] = read;
    }
  }

  const warnings: string[] = [];
  let auth: string | undefined;
  if (values['auth-file'] !== undefined && values.auth !== undefined) return refuse('give --auth-file or --auth, not both');
  if (values['auth-file'] !== undefined) {
    const path = values['auth-file'];
    const read = credentialsFile('--auth-file', path);
    if (typeof read !== 'string') return read;
    auth = read;
    if (!auth.includes(':')) return refuse(`--auth-file ${path} must hold 'user:password' on its first line`);
  } else if (values.auth !== undefined) {
    if (!values.auth.includes(':')) return refuse("--auth takes 'user:password'");
    auth = values.auth;
    warnings.push('zk-leader: warning: --auth puts the password where other users can read it (ps, shell history): use ZK_AUTH or --auth-file');
  } else if (env.ZK_AUTH) {
    if (!env.ZK_AUTH.includes(':')) return refuse("ZK_AUTH must be 'user:password'");
    auth = env.ZK_AUTH;
  }
  return {
    kind: 'run',
    config: {
      command: command as CliConfig['command'],
      target: root!,
      groups,
      ...(http ? { http } : {}),
      connect,
      timeoutMs,
      backend,
      json: values.json,
      warnings,
      ...(auth !== undefined ? { auth } : {}),
      ...(tls !== undefined ? { tls } : {}),
      ...(groups.length === 1 && command !== 'dashboard' ? { group: groups[0]! } : {}),
    },
  };
}
