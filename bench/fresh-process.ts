/**
 * Runs one scale or crowd shape in a Node process of its own and returns its result.
 *
 * Why: a heap figure is the heap after the join less the heap before it, and a process that
 * ran other shapes first still holds some of what their closed sessions left (the client
 * libraries' sockets and timers let go of it over the next seconds), which the collector
 * frees in the middle of the next measurement. In the bench's own process the row "10,000
 * elections on one session" read 3.1 KiB for node-zookeeper-client after the native crowd
 * and -2.4 KiB for builtin after that, where a process of its own reads 7.5 and 6.2. A fresh
 * process per shape measures what one shape costs, as a user's service would see it.
 *
 * The child is this file, run with the parent's own Node flags (`--expose-gc --import tsx`);
 * it prints the result as one JSON line on stdout and exits.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../src/client/types.js';
import { fourLetterWord } from '../src/testing/index.js';
import { crowd, type CrowdResult } from './crowd.js';
import { scale, type ScaleResult } from './scale.js';

/** A server whose watch count (`wchs`) is read while every election is settled. */
export interface WatchedServer {
  host: string;
  port: number;
}

const jobs = {
  async scale(
    connect: string,
    backend: BackendName,
    sessions: number,
    elections: number,
    label: string,
    watched?: WatchedServer,
  ): Promise<ScaleResult & { watchesPerElection?: number }> {
    let watches = Number.NaN;
    const result = await scale(connect, backend, sessions, elections, label, async () => {
      if (!watched) return;
      const reply = (await fourLetterWord(watched.host, watched.port, 'wchs')) ?? '';
      watches = Number(/Total watches:\s*(\d+)/.exec(reply)?.[1] ?? Number.NaN);
    });
    return watched ? { ...result, watchesPerElection: watches / (sessions * elections) } : result;
  },
  crowd(connect: string, backend: BackendName, sessions: number, perSession: number, label: string): Promise<CrowdResult> {
    return crowd(connect, backend, sessions, perSession, label);
  },
};
type Jobs = typeof jobs;

// NaN (a shape that did not settle) does not survive JSON on its own.
const encode = (_key: string, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? { nonFinite: String(value) } : value);
const decode = (_key: string, value: unknown) =>
  value !== null && typeof value === 'object' && 'nonFinite' in value ? Number((value as { nonFinite: string }).nonFinite) : value;

/** Runs `jobs[job](...args)` in a fresh Node process; rejects when that process fails. */
export function inFreshProcess<Job extends keyof Jobs>(job: Job, ...args: Parameters<Jobs[Job]>): Promise<Awaited<ReturnType<Jobs[Job]>>> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), job, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const line = output.trim().split('\n').at(-1);
      if (code !== 0 || !line) reject(new Error(`${job} ${JSON.stringify(args)} in a fresh process ended with ${signal ?? `exit code ${code}`}`));
      else resolve(JSON.parse(line, decode) as Awaited<ReturnType<Jobs[Job]>>);
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [job, args] = process.argv.slice(2) as [keyof Jobs, string];
  try {
    const result = await (jobs[job] as (this: Jobs, ...args: unknown[]) => Promise<unknown>).apply(jobs, JSON.parse(args) as unknown[]);
    process.stdout.write(JSON.stringify(result, encode) + '\n', () => process.exit(0));
  } catch (error) {
    process.stderr.write(`bench: ${job} failed: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
