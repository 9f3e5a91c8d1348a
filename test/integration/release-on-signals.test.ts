import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { until } from '../support/events.js';
import { adminSession, removeTree, uniquePath, zkConnect } from '../support/zookeeper.js';

// releaseOnSignals: a signal stops every election of the process, then takes its course.

/**
 * Runs test/fixtures/two-elections.ts (two elections with releaseOnSignals in one process),
 * sends it `signal`, and resolves with the signal it died of, its output and what is left
 * under each election path.
 */
async function signalTwoElections(signal: NodeJS.Signals, listed: NodeJS.Signals[] = []) {
  const path = uniquePath('signals');
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/two-elections.ts', zkConnect(), path, ...listed], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await until(() => output.includes('ready'), 'the child to join both elections', 20_000);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, died) => resolve(died)));
  child.kill(signal);
  const diedOf = await exited;
  const operator = await adminSession();
  try {
    const left = [...(await operator.getChildren(`${path}/a`)), ...(await operator.getChildren(`${path}/b`))];
    return { diedOf, output, left };
  } finally {
    await removeTree(operator, path);
    await operator.close();
  }
}

describe('releaseOnSignals', () => {
  it('stops every election in the process before the signal takes its course', async () => {
    const { diedOf, output, left } = await signalTwoElections('SIGTERM');
    expect(diedOf).toBe('SIGTERM');
    expect(output).toContain('stopped a');
    expect(output).toContain('stopped b');
    expect(left).toEqual([]);
  });

  it('with a list of its own, stops on SIGUSR2, then lets the signal take its course', async () => {
    const { diedOf, output, left } = await signalTwoElections('SIGUSR2', ['SIGUSR2']);
    expect(diedOf).toBe('SIGUSR2');
    expect(output).toContain('stopped a');
    expect(output).toContain('stopped b');
    expect(left).toEqual([]);
  });
});
