import { availableParallelism } from 'node:os';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { shrink } from './shrink.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { features, simulate as simulateCurrent, type Feature, type Invariant, type Library, type SimOptions, type SimResult } from './simulation.js';

/**
 * `npm run test:sim -- [--seeds N] [--from S] [--steps N] [--workers N]`: runs seeds S..S+N-1
 * across worker processes, prints a progress line and a summary (seeds, steps, steps/s,
 * violations by invariant). A failing seed is shrunk and printed with its trace.
 * `npm run test:sim -- --seed N [--keep 1,5,9]` replays one seed exactly, with its trace.
 */

const usage =
  'usage: npm run test:sim -- [--seeds N] [--from S] [--steps N] [--workers N] [--src DIR] [--ignore a,b] [--without wrap,throwing-listeners,single-node,acl,missing-chroot,payload,handshake,lag,lost-reply,recipes] | --seed N [--keep i,j,...] [--steps N] [--src DIR] [--ignore a,b]';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    keep: { type: 'string' },
    seeds: { type: 'string' },
    from: { type: 'string' },
    steps: { type: 'string' },
    workers: { type: 'string' },
    worker: { type: 'boolean' },
    src: { type: 'string' },
    ignore: { type: 'string' },
    without: { type: 'string' },
    help: { type: 'boolean' },
  },
});

function count(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) {
    console.error(`--${name} must be a whole number: got '${value}'\n${usage}`);
    process.exit(2);
  }
  return parsed;
}

const steps = count('steps', values.steps, 2000);

// --src DIR: the library from another checkout's src/; code before the injected Runtime (no
// src/runtime.ts) runs through the legacy shim, see docs/simulation.md.
const library = values.src === undefined ? undefined : ((await import(pathToFileURL(resolve(values.src, 'index.ts')).href)) as Library);
const legacy = values.src !== undefined && !existsSync(resolve(values.src, 'runtime.ts'));
const ignore = values.ignore === undefined ? undefined : new Set(values.ignore.split(',') as Invariant[]);
const without = values.without === undefined ? undefined : new Set(values.without.split(',') as Feature[]);
for (const feature of without ?? []) {
  if (!features.includes(feature)) {
    console.error(`--without takes ${features.join(', ')}: got '${feature}'\n${usage}`);
    process.exit(2);
  }
}
const extra: Partial<SimOptions> = { ...(library ? { library, legacy } : {}), ...(ignore ? { ignore } : {}), ...(without ? { without } : {}) };
const simulate = (options: SimOptions) => simulateCurrent({ ...options, ...extra });
const workerArgs = [
  ...(values.src === undefined ? [] : ['--src', values.src]),
  ...(values.ignore === undefined ? [] : ['--ignore', values.ignore]),
  ...(values.without === undefined ? [] : ['--without', values.without]),
];

function report(result: SimResult, keep: number[] | null): void {
  const flags = workerArgs.length > 0 ? ` ${workerArgs.join(' ')}` : '';
  const violation = result.violation!;
  console.log(`\nseed ${result.seed}: ${violation.invariant} violated at step ${violation.step} (${violation.at} ms virtual): ${violation.message}`);
  if (keep) {
    console.log(
      `shrunk to ${keep.length} planned events: replay with  npm run test:sim -- --seed ${result.seed} --steps ${steps} --keep ${keep.join(',')}${flags}`,
    );
  }
  console.log(`replay in full with  npm run test:sim -- --seed ${result.seed} --steps ${steps}${flags}\n`);
  for (const line of result.trace ?? []) console.log(line);
}

async function replay(seed: number): Promise<void> {
  const keep =
    values.keep === undefined
      ? undefined
      : new Set(
          values.keep
            .split(',')
            .filter(Boolean)
            .map((index) => count('keep', index, 0)),
        );
  const result = await simulate({ seed, steps, traced: true, ...(keep ? { keep } : {}) });
  if (!result.violation) {
    for (const line of result.trace ?? []) console.log(line);
    console.log(`\nseed ${seed}: ${result.steps} steps, ${result.virtualMs} ms virtual, ${result.terms} terms, no violation`);
    return;
  }
  report(result, keep ? [...keep] : null);
  process.exitCode = 1;
}

interface Batch {
  seeds: number;
  steps: number;
  failures: { seed: number; invariant: string }[];
}

/** In a worker: runs the seeds it is sent, reports each batch. */
function work(): void {
  const runBatch = async (message: { from: number; to: number }) => {
    const batch: Batch = { seeds: 0, steps: 0, failures: [] };
    for (let seed = message.from; seed < message.to; seed++) {
      const result = await simulate({ seed, steps });
      batch.seeds += 1;
      batch.steps += result.steps;
      if (result.violation) batch.failures.push({ seed, invariant: result.violation.invariant });
    }
    process.send!(batch);
  };
  process.on('message', (message: { from: number; to: number }) => void runBatch(message));
  process.send!({ ready: true });
}

async function many(from: number, seeds: number): Promise<void> {
  const workers = Math.max(1, count('workers', values.workers, Math.min(availableParallelism(), 8)));
  const started = performance.now();
  let next = from;
  const end = from + seeds;
  const batchSize = Math.max(1, Math.min(200, Math.ceil(seeds / (workers * 8))));
  let done = 0;
  let totalSteps = 0;
  const failures: { seed: number; invariant: string }[] = [];
  let lastPrint = 0;
  const progress = (final = false) => {
    const seconds = (performance.now() - started) / 1000;
    if (!final && seconds - lastPrint < 5) return;
    lastPrint = seconds;
    const rate = Math.round(totalSteps / Math.max(seconds, 0.001));
    process.stderr.write(`sim: ${done}/${seeds} seeds, ${totalSteps} steps, ${rate} steps/s, ${failures.length} violations, ${seconds.toFixed(0)} s\n`);
  };
  await Promise.all(
    Array.from(
      { length: workers },
      () =>
        new Promise<void>((resolve, reject) => {
          const child = fork(fileURLToPath(import.meta.url), ['--worker', '--steps', String(steps), ...workerArgs], { execArgv: ['--import', 'tsx'] });
          const send = () => {
            if (next >= end) {
              child.kill();
              return resolve();
            }
            const to = Math.min(end, next + batchSize);
            child.send({ from: next, to });
            next = to;
          };
          child.on('message', (message: Batch | { ready: true }) => {
            if (!('ready' in message)) {
              done += message.seeds;
              totalSteps += message.steps;
              failures.push(...message.failures);
              progress();
            }
            send();
          });
          child.on('exit', (code) => (code && next < end ? reject(new Error(`a simulation worker exited with ${code}`)) : resolve()));
        }),
    ),
  );
  progress(true);
  const seconds = (performance.now() - started) / 1000;
  const byInvariant: Record<string, number> = {};
  for (const failure of failures) byInvariant[failure.invariant] = (byInvariant[failure.invariant] ?? 0) + 1;
  console.log(
    JSON.stringify({
      seeds,
      from,
      stepsPerSeed: steps,
      steps: totalSteps,
      seconds: Math.round(seconds),
      stepsPerSecond: Math.round(totalSteps / seconds),
      workers,
      violations: failures.length,
      byInvariant,
      failingSeeds: failures
        .slice(0, 20)
        .map((failure) => failure.seed)
        .sort((a, b) => a - b),
    }),
  );
  if (failures.length > 0) {
    const first = failures.sort((a, b) => a.seed - b.seed)[0]!;
    const failing = await simulate({ seed: first.seed, steps });
    const { keep } = await shrink({ seed: first.seed, steps, ...extra }, failing);
    const traced = await simulate({ seed: first.seed, steps, traced: true, keep: new Set(keep) });
    report(traced.violation ? traced : await simulate({ seed: first.seed, steps, traced: true }), traced.violation ? keep : null);
    process.exitCode = 1;
  }
}

if (values.help) console.log(usage);
else if (values.worker) work();
else if (values.seed !== undefined) await replay(count('seed', values.seed, 0));
else await many(count('from', values.from, 0), count('seeds', values.seeds, 1000));
