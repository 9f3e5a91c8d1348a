#!/usr/bin/env node
import { parseArgs } from 'node:util';
import type { BackendName } from '../client/types.js';
import { ZkLeaderError } from '../errors.js';
import { Session } from '../session.js';
import { listElections, statusOf, watchElection } from './commands.js';

const usage = `usage: zk-leader <command> [options]

commands:
  status <path>   the leader and the queue of an election (and a group's members with --group)
  watch <path>    the same, live: one line per change, until Ctrl+C
  list <root>     every election under <root> with its leader

options:
  --connect <hosts>   ZooKeeper connect string (default: $ZK_CONNECT)
  --auth <user:pw>    digest credentials
  --backend <name>    node-zookeeper-client (default) or zookeeper (the native client)
  --group <path>      also show the members of this group (status, watch)
  --timeout <ms>      how long to wait for a connection (default 5000)
  --json              machine-readable output
  --help

exit codes: 0 ok, 1 no leader (or nothing found), 2 usage or connection error`;

/** Exit 2 with one line that says what to do: never a stack trace. */
function usageError(message: string): never {
  process.stderr.write(`zk-leader: ${message}\n(run 'zk-leader --help' for usage)\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      connect: { type: 'string' },
      auth: { type: 'string' },
      backend: { type: 'string', default: 'node-zookeeper-client' },
      group: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
} catch (error) {
  usageError((error as Error).message);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const [command, target] = positionals;
if (!command) usageError('no command given');
if (!['status', 'watch', 'list'].includes(command)) usageError(`unknown command '${command}'`);
if (!target) usageError(`${command} needs a path, e.g. 'zk-leader ${command} /services/scheduler'`);
const connect = values.connect ?? process.env.ZK_CONNECT;
if (!connect) usageError('no ZooKeeper given: pass --connect host:port or set ZK_CONNECT');
const timeoutMs = values.timeout === undefined ? 5000 : Number(values.timeout);
if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) usageError(`--timeout takes a whole number of milliseconds: got '${values.timeout}'`);
if (values.auth !== undefined && !values.auth.includes(':')) usageError("--auth takes 'user:password'");
const backends: BackendName[] = ['node-zookeeper-client', 'zookeeper'];
const backend = values.backend as BackendName;
if (!backends.includes(backend)) usageError(`--backend takes ${backends.join(' or ')}: got '${values.backend}'`);

let session: Session | undefined;
try {
  session = new Session({
    connect,
    connectTimeoutMs: timeoutMs,
    backend,
    ...(values.auth ? { auth: { scheme: 'digest' as const, credential: values.auth } } : {}),
  });
  await session.ready();
  const options = { session, json: values.json, ...(values.group ? { group: values.group } : {}) };
  const code =
    command === 'status' ? await statusOf(target, options) : command === 'list' ? await listElections(target, options) : await watchElection(target, options);
  await session.close();
  process.exit(code);
} catch (error) {
  await session?.close().catch(() => {});
  if (error instanceof ZkLeaderError) {
    process.stderr.write(`zk-leader: ${error.message}\n`);
    process.exit(error.code === 'NO_LEADER' ? 1 : 2);
  }
  process.stderr.write(`zk-leader: unexpected failure: ${(error as Error)?.message ?? error}\n`);
  process.exit(2);
}
