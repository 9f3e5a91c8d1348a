#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ZkLeaderError } from '../errors.js';
import { Session } from '../session.js';
import { parseCli } from './args.js';
import { listElections, serveDashboard, statusOf, watchElection } from './commands.js';

// dist/cli/main.js and src/cli/main.ts both sit two levels below the package root.
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const request = parseCli(process.argv.slice(2), process.env, version, (path) => readFileSync(path, 'utf8'));
if (request.kind === 'print') {
  console.log(request.text);
  process.exit(0);
}
if (request.kind === 'usage-error') {
  // One line that says what to do: never a stack trace.
  process.stderr.write(`zk-leader: ${request.message}\n(run 'zk-leader --help' for usage)\n`);
  process.exit(2);
}
const { command, target, connect, timeoutMs, backend, auth, tls, group, groups, http, json, warnings } = request.config;
for (const warning of warnings) process.stderr.write(`${warning}\n`);

let session: Session | undefined;
try {
  session = new Session({
    connect,
    connectTimeoutMs: timeoutMs,
    backend,
    ...(auth ? { auth: { scheme: 'digest' as const, credential: auth } } : {}),
    ...(tls ? { tls } : {}),
  });
  await session.ready();
  const options = { session, json, ...(group ? { group } : {}) };
  const code =
    command === 'status'
      ? await statusOf(target, options)
      : command === 'list'
        ? await listElections(target, options)
        : command === 'dashboard'
          ? await serveDashboard(target, { ...options, groups, http: http! })
          : await watchElection(target, options);
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
