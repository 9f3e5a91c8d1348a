import { parseArgs } from 'node:util';
import type { BackendName } from '../client/types.js';

/** What a command line asks for, once read and checked. */
export interface CliConfig {
  command: 'status' | 'watch' | 'list';
  target: string;
  connect: string;
  timeoutMs: number;
  backend: BackendName;
  /** Digest credentials `user:password`, from --auth-file, --auth or ZK_AUTH. */
  auth?: string;
  group?: string;
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
  --backend <name>      node-zookeeper-client (default) or zookeeper (the native client)
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
  list: `usage: zk-leader list <root> [options]

Finds every election under <root> (any depth) and prints each with its leader and the number
of participants. Exits 1 when it finds none.

${commonOptions}

${exitCodes}`,
};

const commands = Object.keys(commandUsage) as CliConfig['command'][];
const backends: BackendName[] = ['node-zookeeper-client', 'zookeeper'];

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
        backend: { type: 'string', default: 'node-zookeeper-client' },
        group: { type: 'string' },
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
  if (!command) return refuse('no command given');
  if (!commands.includes(command as CliConfig['command'])) return refuse(`unknown command '${command}'`);
  if (!target) return refuse(`${command} needs a path, e.g. 'zk-leader ${command} /services/scheduler'`);
  if (extra.length > 0) return refuse(`${command} takes one path: got also '${extra.join("' '")}'`);
  const connect = values.connect || env.ZK_CONNECT;
  if (!connect) return refuse('no ZooKeeper given: pass --connect host:port or set ZK_CONNECT');
  const timeoutMs = values.timeout === undefined ? 5000 : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) return refuse(`--timeout takes a whole number of milliseconds: got '${values.timeout}'`);
  const backend = values.backend as BackendName;
  if (!backends.includes(backend)) return refuse(`--backend takes ${backends.join(' or ')}: got '${values.backend}'`);

  const warnings: string[] = [];
  let auth: string | undefined;
  if (values['auth-file'] !== undefined && values.auth !== undefined) return refuse('give --auth-file or --auth, not both');
  if (values['auth-file'] !== undefined) {
    const path = values['auth-file'];
    try {
      auth = readFile(path).split(/\r?\n/)[0]!.trim();
    } catch (error) {
      return refuse(`cannot read --auth-file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
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
      target,
      connect,
      timeoutMs,
      backend,
      json: values.json,
      warnings,
      ...(auth !== undefined ? { auth } : {}),
      ...(values.group !== undefined ? { group: values.group } : {}),
    },
  };
}
